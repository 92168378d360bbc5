/*
 * quant.h — writing a quantized copy of a model file (`logrisk quantize`,
 * lr_model_quantize in logrisk.h).
 *
 * A quantized .lrm is an ordinary model file (model.c's keys and tensor
 * names) plus the key `model.dtype`; which weights change and how is
 * wtype.h's (the layer below both this module and the loader). Only the
 * encoder's Linear weights change (4H^2 + 2HI per layer: 3.1 M floats in
 * BERT-mini, 74% of the default model's 4.3 M parameters, 28% of BERT-mini
 * with a 30,522-word vocabulary); embeddings, LayerNorms, biases and the
 * head stay f32, where they cost little time and hold the most range.
 * Activations are quantized at run time, per row (qkern.h).
 *
 * This header also brings in model.h and wtype.h for the modules that
 * copy model files (calibrate, the ONNX export, train's export).
 */
#ifndef LR_QUANT_H
#define LR_QUANT_H

#include "logrisk.h"
#include "model.h"
#include "wtype.h"

#endif /* LR_QUANT_H */
