#!/usr/bin/env bash
# make_fuzz_model_seeds.sh LOGRISK — the seed corpus of tests/fuzz/fuzz_model.c:
# a micro BERT classifier (vocab 24, hidden 8, 1 layer, 2 heads, FFN 16,
# 8 positions, MLP head 8->4->3; deterministic weights) written as a Hugging
# Face directory by plain python3 (no torch), converted with `logrisk
# convert`, then quantized to q8 and bf16 with `logrisk quantize`: three
# small valid model files (f32, q8, bf16) the fuzzer mutates.
set -euo pipefail
bin=$1
cd "$(dirname "$0")/.."
out=tests/fuzz/corpus/fuzz_model
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$work" <<'PY'
import json, math, struct, sys
d = sys.argv[1]
V, H, L, A, I, P, C, HH = 24, 8, 1, 2, 16, 8, 3, 4
shapes = [("bert.embeddings.word_embeddings.weight", [V, H]),
          ("bert.embeddings.position_embeddings.weight", [P, H]),
          ("bert.embeddings.token_type_embeddings.weight", [1, H]),
          ("bert.embeddings.LayerNorm.weight", [H]), ("bert.embeddings.LayerNorm.bias", [H])]
for l in range(L):
    p = f"bert.encoder.layer.{l}."
    for n in ("attention.self.query", "attention.self.key", "attention.self.value",
              "attention.output.dense"):
        shapes += [(p + n + ".weight", [H, H]), (p + n + ".bias", [H])]
    shapes += [(p + "attention.output.LayerNorm.weight", [H]), (p + "attention.output.LayerNorm.bias", [H]),
               (p + "intermediate.dense.weight", [I, H]), (p + "intermediate.dense.bias", [I]),
               (p + "output.dense.weight", [H, I]), (p + "output.dense.bias", [H]),
               (p + "output.LayerNorm.weight", [H]), (p + "output.LayerNorm.bias", [H])]
shapes += [("classifier.1.weight", [HH, H]), ("classifier.1.bias", [HH]),
           ("classifier.4.weight", [C, HH]), ("classifier.4.bias", [C])]
header, blobs, off, seed = {}, [], 0, 1
for name, shape in shapes:
    n = math.prod(shape)
    if name.endswith("LayerNorm.weight"):
        vals = [1.0] * n
    else:
        vals = []
        for _ in range(n):  # a fixed LCG: the same bytes on every machine
            seed = (seed * 1103515245 + 12345) % 2**31
            vals.append((seed / 2**31 - 0.5) * 0.4)
    b = struct.pack(f"<{n}f", *vals)
    header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [off, off + len(b)]}
    blobs.append(b)
    off += len(b)
h = json.dumps(header).encode()
h += b" " * ((8 - len(h) % 8) % 8)
with open(f"{d}/model.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
json.dump({"model_type": "bert", "vocab_size": V, "hidden_size": H, "num_hidden_layers": L,
           "num_attention_heads": A, "intermediate_size": I, "max_position_embeddings": P,
           "type_vocab_size": 1, "layer_norm_eps": 1e-12, "num_labels": C,
           "classifier_head": {"hidden": HH}}, open(f"{d}/config.json", "w"))
toks = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "error", "failed", "pod", "node", "disk"]
toks += [chr(c) for c in range(ord("a"), ord("a") + V - len(toks))]
open(f"{d}/vocab.txt", "w").write("\n".join(toks) + "\n")
PY
mkdir -p "$out"
"$bin" convert --from-safetensors "$work" -o "$out/micro-f32.lrm" >/dev/null
"$bin" quantize -m "$out/micro-f32.lrm" -o "$out/micro-q8.lrm" --dtype q8
"$bin" quantize -m "$out/micro-f32.lrm" -o "$out/micro-bf16.lrm" --dtype bf16
ls -l "$out"
