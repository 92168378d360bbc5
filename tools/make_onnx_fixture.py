#!/usr/bin/python3
"""A random BERT classifier directory for the ONNX export tests and bench.

    /usr/bin/python3 tools/make_onnx_fixture.py OUT_DIR [--layers N] [--hidden H]
        [--heads A] [--intermediate I] [--positions P] [--labels C]
        [--vocab VOCAB.txt] [--seed S]

Writes OUT_DIR/model.safetensors (F32, Hugging Face BertModel names under
`bert.` plus the seed MLP head classifier.1 / classifier.4), config.json
(BertConfig keys) and vocab.txt (a copy of --vocab, default the project's
learned log vocabulary models/vocab/logs-8k.txt, so real log lines tokenize
to realistic lengths), ready for `logrisk convert --from-safetensors`.
Defaults are BERT-mini's sizes (L4 H256 A4 I1024 P512, 11 labels).

Weights are N(0, 1/sqrt(H)) (larger than BERT's 0.02, so that the logits
depend strongly on the input and a wrong op shows), biases N(0, 0.02),
LayerNorm gamma 1 + N(0, 0.05) and beta N(0, 0.05), pad row 0 zero; numpy
only, seeded. The safetensors writer is a few lines: an 8-byte
little-endian header length, the JSON header, the tensors back to back.
"""
import argparse
import json
import os
import shutil
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--intermediate", type=int, default=1024)
    ap.add_argument("--positions", type=int, default=512)
    ap.add_argument("--labels", type=int, default=11)
    ap.add_argument("--vocab", default=os.path.join(HERE, "..", "models", "vocab", "logs-8k.txt"))
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    with open(a.vocab, encoding="utf-8") as f:
        vocab_lines = f.read().split("\n")
    while vocab_lines and vocab_lines[-1] == "":
        vocab_lines.pop()
    V, H, I, P, C, K = len(vocab_lines), a.hidden, a.intermediate, a.positions, a.labels, a.hidden // 2
    rng = np.random.default_rng(a.seed)
    std = 1.0 / np.sqrt(H)
    t = {}

    def w(name, *shape, s=std):
        t[name] = rng.normal(0.0, s, size=shape).astype(np.float32)

    def ln(prefix):
        t[prefix + ".weight"] = (1.0 + rng.normal(0.0, 0.05, size=H)).astype(np.float32)
        t[prefix + ".bias"] = rng.normal(0.0, 0.05, size=H).astype(np.float32)

    w("bert.embeddings.word_embeddings.weight", V, H, s=0.5)
    t["bert.embeddings.word_embeddings.weight"][0] = 0.0
    w("bert.embeddings.position_embeddings.weight", P, H, s=0.5)
    w("bert.embeddings.token_type_embeddings.weight", 2, H, s=0.5)
    ln("bert.embeddings.LayerNorm")
    for l in range(a.layers):
        p = f"bert.encoder.layer.{l}."
        for name, (o, i) in (("attention.self.query", (H, H)), ("attention.self.key", (H, H)),
                             ("attention.self.value", (H, H)), ("attention.output.dense", (H, H)),
                             ("intermediate.dense", (I, H)), ("output.dense", (H, I))):
            w(p + name + ".weight", o, i, s=1.0 / np.sqrt(i))
            w(p + name + ".bias", o, s=0.02)
            if name == "attention.output.dense":
                ln(p + "attention.output.LayerNorm")
        ln(p + "output.LayerNorm")
    w("classifier.1.weight", K, H, s=1.0 / np.sqrt(H))
    w("classifier.1.bias", K, s=0.02)
    w("classifier.4.weight", C, K, s=1.0 / np.sqrt(K))
    w("classifier.4.bias", C, s=0.02)

    os.makedirs(a.out, exist_ok=True)
    header, blobs, off = {}, [], 0
    for name, arr in t.items():
        b = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    hj = json.dumps(header, separators=(",", ":")).encode()
    hj += b" " * (-len(hj) % 8)
    with open(os.path.join(a.out, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)
    cfg = {"model_type": "bert", "vocab_size": V, "hidden_size": H, "num_hidden_layers": a.layers,
           "num_attention_heads": a.heads, "intermediate_size": I, "hidden_act": "gelu",
           "max_position_embeddings": P, "type_vocab_size": 2, "layer_norm_eps": 1e-12,
           "num_labels": C}
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    shutil.copyfile(a.vocab, os.path.join(a.out, "vocab.txt"))


if __name__ == "__main__":
    main()
