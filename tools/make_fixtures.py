#!/usr/bin/python3
"""Parity fixtures for logrisk's BERT forward pass (run with Debian's python3-torch).

    /usr/bin/python3 tools/make_fixtures.py small [OUT]   # committed: tests/fixtures/model/
    /usr/bin/python3 tools/make_fixtures.py mini OUT      # BERT-mini size, made at test time

Each fixture is a Hugging Face style directory: model.safetensors, config.json,
vocab.txt, fixture.json. fixture.json has "batches", each with padded
"input_ids", "attention_mask", the expected "logits" and "cls_hidden" (final
hidden state of [CLS]), evaluated in float64 from the stored weights (the
exact answer a float32 engine should approach within ~1e-4).

The encoder is the reference model of tools/ref_bert.py (Hugging Face's
BertModel layout, post-LN, erf GELU, additive finfo.min mask). The
heads made here:
  mlp_f16  seed MLP head classifier.1/.4, 5 labels with id2label, tensors
           stored as a mix of F16, BF16 and F32 (logits computed from the
           rounded weights), so the import of every float dtype is checked;
  linear   a single Linear classifier.* on the [CLS] state, 11 labels, plus
           an unused int64 position_ids buffer, with old-style names (no
           'bert.' prefix, LayerNorm.gamma/.beta) as older checkpoints have;
  pooler   HF BertForSequenceClassification: bert.pooler.dense + tanh, then
           classifier.*, 3 labels;
  mini     BERT-mini sizes (L4/H256/A4/I1024/P512) with a 1000-token vocab,
           seed MLP head, batches of lengths 1..128 (and a few up to 512).
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import ref_bert  # noqa: E402  (tools/ref_bert.py, the PyTorch reference model)


class Classifier(nn.Module):
    """ref_bert's encoder with one of three heads; has .cfg and .bert so that
    ref_bert.init_weights initialises it."""

    def __init__(self, cfg, head, n_labels, head_hidden=None):
        super().__init__()
        self.cfg = dict(cfg)
        self.head = head
        H = cfg["hidden_size"]
        self.bert = ref_bert.BertModel(cfg)
        if head == "mlp":
            hh = head_hidden or H // 2
            self.classifier = nn.Sequential(nn.Dropout(0.1), nn.Linear(H, hh), nn.ReLU(),
                                            nn.Dropout(0.1), nn.Linear(hh, n_labels))
        else:
            if head == "pooler":
                self.bert.pooler = nn.Module()
                self.bert.pooler.dense = nn.Linear(H, H)
            self.classifier = nn.Linear(H, n_labels)

    def forward(self, ids, mask):
        x = self.bert(ids, mask)
        cls = x[:, 0]
        h = cls
        if self.head == "pooler":
            h = torch.tanh(self.bert.pooler.dense(cls))
        return self.classifier(h), cls


def hf_config(cfg, n_labels, head, id2label=None):
    c = {
        "architectures": ["BertForSequenceClassification" if head != "mlp" else "BertForLogRisk"],
        "model_type": "bert", "hidden_act": "gelu", "layer_norm_eps": 1e-12,
        "position_embedding_type": "absolute", "torch_dtype": "float32", "pad_token_id": 0,
        "num_labels": n_labels,
    }
    c.update({k: cfg[k] for k in ref_bert.BERT_MINI})
    if id2label:
        c["id2label"] = {str(i): n for i, n in enumerate(id2label)}
        c["label2id"] = {n: i for i, n in enumerate(id2label)}
    return c


def round_dtype(t, dtype):
    if dtype == "F16":
        return t.to(torch.float16).to(torch.float32)
    if dtype == "BF16":
        return t.to(torch.bfloat16).to(torch.float32)
    return t


def save_safetensors(path, tensors):
    """tensors: list of (name, dtype, array). Own writer for F16/BF16/I64
    (ref_bert's writes F32 only). Layout per the safetensors spec."""
    header, blobs, off = {}, [], 0
    for name, dtype, t in tensors:
        if dtype == "F32":
            b = np.ascontiguousarray(t.numpy(), dtype="<f4").tobytes()
        elif dtype == "F16":
            b = np.ascontiguousarray(t.numpy(), dtype="<f2").tobytes()
        elif dtype == "BF16":
            b = t.contiguous().to(torch.bfloat16).view(torch.int16).numpy().astype("<i2").tobytes()
        elif dtype == "I64":
            b = np.ascontiguousarray(t.numpy(), dtype="<i8").tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    header["__metadata__"] = {"format": "pt", "made_by": "logrisk tools/make_fixtures.py"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def make_batches(vocab, max_pos, groups, seed):
    """groups: list of lists of sequence lengths; ids uniform in [0, vocab)
    (id 2 as [CLS] first, 3 as [SEP] last), padded with 0 to the group max."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for lengths in groups:
        L = max(lengths)
        ids = torch.zeros(len(lengths), L, dtype=torch.int64)
        mask = torch.zeros(len(lengths), L, dtype=torch.int64)
        for r, n in enumerate(lengths):
            assert 1 <= n <= max_pos
            row = torch.randint(0, vocab, (n,), generator=g)
            row[0] = 2
            if n > 1:
                row[-1] = 3
            ids[r, :n] = row
            mask[r, :n] = 1
        out.append((ids, mask))
    return out


def old_style(name):
    """Tensor names as older / plain-BertModel checkpoints have them: no
    'bert.' prefix, LayerNorm.gamma / .beta."""
    if name.startswith("bert."):
        name = name[5:]
    return name.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")


def write_fixture(out_dir, name, cfg, head, n_labels, dtypes_cycle, groups, seed,
                  id2label=None, extra_i64=False, old_names=False):
    d = os.path.join(out_dir, name)
    os.makedirs(d, exist_ok=True)
    torch.manual_seed(seed)
    model = Classifier(cfg, head, n_labels)
    ref_bert.init_weights(model, seed)
    model.eval()
    # storage dtypes, and weights rounded to what is stored
    tensors = []
    with torch.no_grad():
        for i, (pname, p) in enumerate(model.named_parameters()):
            dt = dtypes_cycle[i % len(dtypes_cycle)]
            p.copy_(round_dtype(p.detach(), dt))
            tensors.append((old_style(pname) if old_names else pname, dt, p.detach().clone()))
    if extra_i64:
        tensors.insert(3, ("bert.embeddings.position_ids", "I64",
                           torch.arange(cfg["max_position_embeddings"]).unsqueeze(0)))
    save_safetensors(os.path.join(d, "model.safetensors"), tensors)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(hf_config(cfg, n_labels, head, id2label), f, indent=1)
    with open(os.path.join(d, "vocab.txt"), "w") as f:
        specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        for i in range(cfg["vocab_size"]):
            f.write((specials[i] if i < 5 else f"w{i}") + "\n")
    m64 = model.double()
    batches = []
    with torch.no_grad():
        for ids, mask in make_batches(cfg["vocab_size"], cfg["max_position_embeddings"], groups, seed + 1):
            logits, cls = m64(ids, mask)
            batches.append({
                "input_ids": ids.tolist(), "attention_mask": mask.tolist(),
                "logits": logits.tolist(), "cls_hidden": cls.tolist(),
            })
    with open(os.path.join(d, "fixture.json"), "w") as f:
        json.dump({"model": name, "head": head, "n_labels": n_labels,
                   "note": "logits/cls_hidden: float64 evaluation of the stored weights",
                   "batches": batches}, f)
    print(f"{d}: {sum(t.numel() for _, _, t in tensors)} values, "
          f"{sum(len(g) for g in groups)} sequences", file=sys.stderr)


def small(out_dir):
    base = dict(vocab_size=300, hidden_size=24, num_hidden_layers=2, num_attention_heads=3,
                intermediate_size=40, max_position_embeddings=40, type_vocab_size=2,
                initializer_range=0.2)
    groups = [[1, 2, 3, 40], [7, 19, 5, 33, 12], [40, 40]]
    write_fixture(out_dir, "mlp_f16", base, "mlp", 5, ["F16", "BF16", "F32"], groups, 11,
                  id2label=["noise", "info", "warn", "error", "outage"])
    lin = dict(base, num_hidden_layers=1, num_attention_heads=2, hidden_size=16,
               intermediate_size=48)
    write_fixture(out_dir, "linear", lin, "linear", 11, ["F32"], groups, 12, extra_i64=True,
                  old_names=True)
    pool = dict(base, num_hidden_layers=3, num_attention_heads=4, hidden_size=32,
                intermediate_size=24)
    write_fixture(out_dir, "pooler", pool, "pooler", 3, ["F32"], groups, 13,
                  id2label=["ok", "suspicious", "bad"])


def mini(out_dir):
    # initializer_range 0.1 (HF uses 0.02): logits then depend strongly on every
    # tensor, so a 0.1% error anywhere shows up far above the 1e-4 tolerance.
    cfg = dict(ref_bert.BERT_MINI, vocab_size=1000, initializer_range=0.1)
    rng = np.random.default_rng(5)
    groups = [list(range(1, 17)),                                   # 1..16
              sorted(rng.integers(17, 129, size=24).tolist()),      # mixed 17..128
              [128] * 6,                                            # full length
              [200, 333, 512]]                                      # beyond 128, up to P
    write_fixture(out_dir, "mini", cfg, "mlp", ref_bert.NUM_LABELS, ["F32"], groups, 21)


if __name__ == "__main__":
    torch.set_num_threads(2)
    what = sys.argv[1] if len(sys.argv) > 1 else "small"
    if what == "small":
        small(sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "..", "tests", "fixtures", "model"))
    elif what == "mini":
        mini(sys.argv[2])
    else:
        sys.exit("usage: make_fixtures.py small [OUT] | mini OUT")
