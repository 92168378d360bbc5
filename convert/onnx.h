/*
 * onnx.h — ONNX export of a logrisk BERT model (`logrisk export`), written
 * with our own protobuf encoder (protobuf.h); the public entry point is
 * lr_export_onnx in logrisk.h. See onnx.c for the graph it builds.
 */
#ifndef LR_CONVERT_ONNX_H
#define LR_CONVERT_ONNX_H

#include <stdint.h>

#include "logrisk.h"

/* The largest file protobuf can parse (its 2 GB message limit, INT_MAX). */
#define LR_ONNX_MAX_BYTES ((uint64_t)2147483647)

/* ONNX field numbers (onnx/onnx.proto), by message. */
enum {
    LR_ONNX_MODEL_IR_VERSION = 1, LR_ONNX_MODEL_PRODUCER_NAME = 2,
    LR_ONNX_MODEL_PRODUCER_VERSION = 3, LR_ONNX_MODEL_DOC_STRING = 6, LR_ONNX_MODEL_GRAPH = 7,
    LR_ONNX_MODEL_OPSET_IMPORT = 8, LR_ONNX_MODEL_METADATA_PROPS = 14,
    LR_ONNX_OPSET_DOMAIN = 1, LR_ONNX_OPSET_VERSION = 2,
    LR_ONNX_ENTRY_KEY = 1, LR_ONNX_ENTRY_VALUE = 2,
    LR_ONNX_GRAPH_NODE = 1, LR_ONNX_GRAPH_NAME = 2, LR_ONNX_GRAPH_INITIALIZER = 5,
    LR_ONNX_GRAPH_INPUT = 11, LR_ONNX_GRAPH_OUTPUT = 12,
    LR_ONNX_NODE_INPUT = 1, LR_ONNX_NODE_OUTPUT = 2, LR_ONNX_NODE_NAME = 3,
    LR_ONNX_NODE_OP_TYPE = 4, LR_ONNX_NODE_ATTRIBUTE = 5,
    LR_ONNX_ATTR_NAME = 1, LR_ONNX_ATTR_F = 2, LR_ONNX_ATTR_I = 3, LR_ONNX_ATTR_INTS = 8,
    LR_ONNX_ATTR_TYPE = 20,
    LR_ONNX_TENSOR_DIMS = 1, LR_ONNX_TENSOR_DATA_TYPE = 2, LR_ONNX_TENSOR_NAME = 8,
    LR_ONNX_TENSOR_RAW_DATA = 9,
    LR_ONNX_VALUE_INFO_NAME = 1, LR_ONNX_VALUE_INFO_TYPE = 2,
    LR_ONNX_TYPE_TENSOR_TYPE = 1, LR_ONNX_TYPE_TENSOR_ELEM_TYPE = 1,
    LR_ONNX_TYPE_TENSOR_SHAPE = 2, LR_ONNX_SHAPE_DIM = 1, LR_ONNX_DIM_VALUE = 1,
    LR_ONNX_DIM_PARAM = 2,
};

/* TensorProto.DataType and AttributeProto.AttributeType values used. */
enum { LR_ONNX_FLOAT = 1, LR_ONNX_INT64 = 7 };
enum { LR_ONNX_ATTR_FLOAT = 1, LR_ONNX_ATTR_INT = 2, LR_ONNX_ATTR_INTS_TYPE = 7 };

#endif /* LR_CONVERT_ONNX_H */
