"""ref_bert.py — the PyTorch reference of logrisk's BERT classifier.

The tests hold the C engine to this model (tools/make_fixtures.py,
tools/make_train_fixture.py, tests/score.test.sh), and the peer benchmarks
(bench/peers/) run it in PyTorch and, exported, in ONNX Runtime.

The encoder is Hugging Face's `BertModel` written out in plain PyTorch with
the same parameter names, so its state dict loads and saves as a Hugging Face
checkpoint: post-LayerNorm (eps 1e-12), erf GELU, scores scaled by
1/sqrt(head size), an additive mask of (1 - mask) * finfo.min, token type 0
everywhere, positions 0..L-1, no pooler. The head reads the [CLS] state:
Dropout, Linear(H, H/2), ReLU, Dropout, Linear(H/2, 11), stored as
`classifier.1.*` and `classifier.4.*` (its nn.Sequential indices).

Usable as a module (import ref_bert) with nothing but torch and numpy.
"""
import json
import math
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

NUM_LABELS = 11

# The configuration keys a model is built from, with BERT-mini's values.
BERT_MINI = dict(
    vocab_size=30522, hidden_size=256, num_hidden_layers=4, num_attention_heads=4,
    intermediate_size=1024, max_position_embeddings=512, type_vocab_size=2,
    initializer_range=0.02,
)
LN_EPS = 1e-12


class Embeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        H = c["hidden_size"]
        self.word_embeddings = nn.Embedding(c["vocab_size"], H)
        self.position_embeddings = nn.Embedding(c["max_position_embeddings"], H)
        self.token_type_embeddings = nn.Embedding(c["type_vocab_size"], H)
        self.LayerNorm = nn.LayerNorm(H, eps=LN_EPS)

    def forward(self, ids):
        pos = torch.arange(ids.shape[1], device=ids.device)
        x = (self.word_embeddings(ids) + self.position_embeddings(pos)[None]
             + self.token_type_embeddings.weight[0])
        return self.LayerNorm(x)


class SelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        H = c["hidden_size"]
        self.heads = c["num_attention_heads"]
        self.query, self.key, self.value = nn.Linear(H, H), nn.Linear(H, H), nn.Linear(H, H)

    def forward(self, x, bias):
        B, L, H = x.shape
        d = H // self.heads

        def split(t):  # [B, L, H] -> [B, heads, L, d]
            return t.view(B, L, self.heads, d).transpose(1, 2)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        p = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d) + bias, dim=-1)
        return (p @ v).transpose(1, 2).reshape(B, L, H)


class DenseNorm(nn.Module):
    """dense, then LayerNorm of (result + residual): BERT's two output blocks."""

    def __init__(self, n_in, H):
        super().__init__()
        self.dense = nn.Linear(n_in, H)
        self.LayerNorm = nn.LayerNorm(H, eps=LN_EPS)

    def forward(self, x, residual):
        return self.LayerNorm(self.dense(x) + residual)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = SelfAttention(c)
        self.output = DenseNorm(c["hidden_size"], c["hidden_size"])

    def forward(self, x, bias):
        return self.output(self.self(x, bias), x)


class Intermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["intermediate_size"])

    def forward(self, x):
        return F.gelu(self.dense(x))


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = Attention(c)
        self.intermediate = Intermediate(c)
        self.output = DenseNorm(c["intermediate_size"], c["hidden_size"])

    def forward(self, x, bias):
        a = self.attention(x, bias)
        return self.output(self.intermediate(a), a)


class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList(Layer(c) for _ in range(c["num_hidden_layers"]))


class BertModel(nn.Module):
    """Token ids [B, L] and mask [B, L] (1 = token) -> last hidden states [B, L, H];
    with output_hidden_states also the list [embeddings, layer 1, ...]."""

    def __init__(self, c):
        super().__init__()
        self.embeddings = Embeddings(c)
        self.encoder = Encoder(c)

    def forward(self, ids, mask, output_hidden_states=False):
        x = self.embeddings(ids)
        bias = ((1.0 - mask[:, None, None, :].to(x.dtype)) * torch.finfo(torch.float32).min).to(x.dtype)
        states = [x]
        for layer in self.encoder.layer:
            x = layer(x, bias)
            states.append(x)
        return (x, states) if output_hidden_states else x


class BertForLogRisk(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.cfg = dict(c)
        H = c["hidden_size"]
        self.bert = BertModel(c)
        self.classifier = nn.Sequential(nn.Dropout(0.1), nn.Linear(H, H // 2), nn.ReLU(),
                                        nn.Dropout(0.1), nn.Linear(H // 2, NUM_LABELS))

    def forward(self, ids, mask):
        return self.classifier(self.bert(ids, mask)[:, 0])


def init_weights(model, seed=0):
    """Seeded random weights in which every tensor matters: matrices and
    embeddings N(0, initializer_range), biases N(0, 0.02), LayerNorm scales
    1 + N(0, 0.05) and shifts N(0, 0.05); the padding row of the word
    embeddings zero. `model` has .cfg and .bert. Returns it."""
    std = model.cfg["initializer_range"]
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen)
            if "LayerNorm" in name:
                p.copy_((1.0 if name.endswith("weight") else 0.0) + 0.05 * noise)
            elif name.endswith(".bias"):
                p.copy_(0.02 * noise)
            else:
                p.copy_(std * noise)
        model.bert.embeddings.word_embeddings.weight[0].zero_()
    return model


def build(cfg, seed=0):
    """A BertForLogRisk with init_weights(seed), in eval mode (dropout off)."""
    return init_weights(BertForLogRisk(cfg), seed).eval()


def hf_config(cfg):
    """config.json in Hugging Face BertConfig keys for a BertForLogRisk."""
    c = {"architectures": ["BertForLogRisk"], "model_type": "bert", "hidden_act": "gelu",
         "layer_norm_eps": LN_EPS, "pad_token_id": 0, "position_embedding_type": "absolute",
         "torch_dtype": "float32", "num_labels": NUM_LABELS}
    c.update({k: cfg[k] for k in BERT_MINI})
    return c


def save_safetensors(path, tensors):
    """tensors: dict name -> float32 tensor. The safetensors layout: u64 LE
    header size, JSON header padded with spaces to 8 bytes, raw LE data."""
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        b = np.ascontiguousarray(t.detach().cpu().numpy(), dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def load_safetensors(path):
    """name -> float32 tensor, for F32 files."""
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    out = {}
    for name, info in json.loads(raw[8:8 + n]).items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: {name} is {info['dtype']}, only F32 is read")
        s, e = info["data_offsets"]
        a = np.frombuffer(raw, dtype="<f4", count=(e - s) // 4, offset=8 + n + s)
        out[name] = torch.from_numpy(a.reshape(info["shape"]).copy())
    return out


def load_model(model_dir):
    """The BertForLogRisk of DIR/config.json and DIR/model.safetensors, eval mode."""
    with open(f"{model_dir}/config.json") as f:
        c = json.load(f)
    m = BertForLogRisk({k: c[k] for k in BERT_MINI})
    m.load_state_dict(load_safetensors(f"{model_dir}/model.safetensors"), strict=True)
    return m.eval()


def forward_flops(cfg, L):
    """FLOPs of one forward pass over L tokens (2 per multiply-add of every
    matrix product; the head on the [CLS] row only; element-wise work not
    counted): per layer Q, K, V, O 8·L·H², scores and P·V 4·L²·H, FFN 4·L·H·I."""
    H, I, N = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    return N * (8 * L * H * H + 4 * L * L * H + 4 * L * H * I) + 2 * (H * (H // 2) + (H // 2) * NUM_LABELS)


def log_line_lengths(n=2048, median=24, sigma=0.6, lo=8, hi=128, seed=0):
    """Token lengths of n log lines: lognormal(log median, sigma), rounded,
    clipped to [lo, hi], from numpy's default_rng(seed)."""
    x = np.random.default_rng(seed).lognormal(math.log(median), sigma, n)
    return [int(v) for v in np.clip(np.rint(x), lo, hi)]
