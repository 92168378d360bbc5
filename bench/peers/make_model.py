#!/usr/bin/python3
"""make_model.py — the BERT-mini that every engine of the benchmarks runs.

    /usr/bin/python3 bench/peers/make_model.py OUT_DIR

Writes OUT_DIR/model.safetensors and config.json (tools/ref_bert.py's
BertForLogRisk at BERT-mini size: L4 H256 A4 I1024, 512 positions, vocab
30,522, seeded weights), OUT_DIR/model.onnx (the same model exported by
torch.onnx at opset 14, inputs input_ids and attention_mask [batch, seq]
int64, output logits [batch, 11]) and OUT_DIR/workload.json (the token
lengths of 2,048 log lines: lognormal with median 24 and sigma 0.6, clipped
to [8, 128]). Deterministic: a rerun writes the same weights.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
import ref_bert  # noqa: E402


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_model.py OUT_DIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    cfg = dict(ref_bert.BERT_MINI)
    model = ref_bert.build(cfg, seed=0)
    ref_bert.save_safetensors(os.path.join(out, "model.safetensors"), model.state_dict())
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(ref_bert.hf_config(cfg), f, indent=1)
    ids = torch.ones(2, 16, dtype=torch.int64)
    mask = torch.ones(2, 16, dtype=torch.int64)
    torch.onnx.export(model, (ids, mask), os.path.join(out, "model.onnx"), opset_version=14,
                      input_names=["input_ids", "attention_mask"], output_names=["logits"],
                      dynamic_axes={"input_ids": {0: "batch", 1: "seq"},
                                    "attention_mask": {0: "batch", 1: "seq"},
                                    "logits": {0: "batch"}})
    lengths = ref_bert.log_line_lengths()
    with open(os.path.join(out, "workload.json"), "w") as f:
        json.dump({"description": "token lengths of 2048 log lines: lognormal(median 24, sigma 0.6), "
                                  "rounded, clipped to [8, 128] (tools/ref_bert.py log_line_lengths)",
                   "n": len(lengths), "lengths": lengths}, f)


if __name__ == "__main__":
    main()
