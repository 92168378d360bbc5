#!/usr/bin/python3
"""PyTorch reference for `logrisk anomaly detect`: reads an anomaly model
file (.lrm, the layout documented at the top of src/format.c; keys and
tensors at the top of src/anomaly.c), rebuilds the model with
torch.nn.Embedding, torch.nn.LSTM(batch_first=True; b_ih = the stored bias,
b_hh = 0) and torch.nn.Linear (or, for --arch transformer,
torch.nn.TransformerEncoderLayer), judges every session of a JSONL session file
the way the C code does (windows padded with <start>, <end> predicted
after the last event, events never seen are unexpected, <start> and
<unknown> never ranked, unexpected when the rank is above top-k), and
compares with the C verdicts (`logrisk anomaly detect --all` output):
the verdict, the first unexpected position and its probability.

    tools/anomaly_ref.py MODEL.lrm SESSIONS.jsonl VERDICTS.jsonl [SPLIT]

Exit 0 when every session agrees (probabilities within 1e-4). Needs torch.
"""
import json
import struct
import sys

import numpy as np
import torch


def read_lrm(path):
    b = open(path, "rb").read()
    assert b[:8] == b"\x89LRM\r\n\x1a\n", "not an .lrm file"
    data_off, n_meta, n_tensors, meta_size = struct.unpack_from("<QIIQ", b, 40)
    meta, pos = {}, 64
    for _ in range(n_meta):
        (kl,) = struct.unpack_from("<I", b, pos)
        key = b[pos + 4:pos + 4 + kl].decode()
        pos += 4 + kl + 1
        (typ,) = struct.unpack_from("<I", b, pos)
        pos += 4
        if typ == 1:
            (n,) = struct.unpack_from("<Q", b, pos)
            meta[key] = b[pos + 8:pos + 8 + n]
            pos += 8 + n + 1
        elif typ == 2:
            meta[key] = struct.unpack_from("<q", b, pos)[0]
            pos += 8
        elif typ == 3:
            meta[key] = struct.unpack_from("<d", b, pos)[0]
            pos += 8
        else:
            count, blob = struct.unpack_from("<QQ", b, pos)
            offs = struct.unpack_from("<%dQ" % (count + 1), b, pos + 16)
            base = pos + 16 + 8 * (count + 1)
            meta[key] = [b[base + offs[i]:base + offs[i + 1] - 1] for i in range(count)]
            pos = base + blob
    tensors = {}
    for _ in range(n_tensors):
        (nl,) = struct.unpack_from("<I", b, pos)
        name = b[pos + 4:pos + 4 + nl].decode()
        pos += 4 + nl + 1
        dtype, ndim = struct.unpack_from("<II", b, pos)
        shape = struct.unpack_from("<4q", b, pos + 8)[:ndim]
        off, nbytes = struct.unpack_from("<QQ", b, pos + 40)
        pos += 56
        assert dtype == 0, "f32 tensors only"
        a = np.frombuffer(b, dtype="<f4", count=nbytes // 4, offset=data_off + off)
        tensors[name] = torch.tensor(a.reshape(shape).copy())
    return meta, tensors


def transformer(meta, t, V, W, L, H):
    """torch.nn.TransformerEncoderLayer (post-LayerNorm, exact GELU, no
    dropout) x L over token + position embeddings and their LayerNorm."""
    A, F = meta["anomaly.heads"], meta["anomaly.ff"]
    emb, pos = torch.nn.Embedding(V, H), torch.nn.Embedding(W, H)
    norm = torch.nn.LayerNorm(H, eps=1e-12)
    layers = [torch.nn.TransformerEncoderLayer(H, A, F, dropout=0.0, activation="gelu", batch_first=True,
                                               layer_norm_eps=1e-12) for _ in range(L)]
    with torch.no_grad():
        emb.weight.copy_(t["anomaly.embed"])
        pos.weight.copy_(t["anomaly.position"])
        norm.weight.copy_(t["anomaly.embed_norm.weight"])
        norm.bias.copy_(t["anomaly.embed_norm.bias"])
        for l, layer in enumerate(layers):
            p = f"anomaly.tf.{l}."
            layer.self_attn.in_proj_weight.copy_(torch.cat([t[p + n + ".weight"] for n in ("query", "key", "value")]))
            layer.self_attn.in_proj_bias.copy_(torch.cat([t[p + n + ".bias"] for n in ("query", "key", "value")]))
            layer.self_attn.out_proj.weight.copy_(t[p + "attn_out.weight"])
            layer.self_attn.out_proj.bias.copy_(t[p + "attn_out.bias"])
            layer.norm1.weight.copy_(t[p + "attn_norm.weight"])
            layer.norm1.bias.copy_(t[p + "attn_norm.bias"])
            layer.linear1.weight.copy_(t[p + "ff1.weight"])
            layer.linear1.bias.copy_(t[p + "ff1.bias"])
            layer.linear2.weight.copy_(t[p + "ff2.weight"])
            layer.linear2.bias.copy_(t[p + "ff2.bias"])
            layer.norm2.weight.copy_(t[p + "ff_norm.weight"])
            layer.norm2.bias.copy_(t[p + "ff_norm.bias"])
            layer.eval()

    def net(x):
        h = norm(emb(x) + pos(torch.arange(W)))
        for layer in layers:
            h = layer(h)
        return h

    return net


def main():
    model_path, sessions_path, verdicts_path = sys.argv[1:4]
    split = sys.argv[4] if len(sys.argv) > 4 else None
    meta, t = read_lrm(model_path)
    W, L, H, E = meta["anomaly.window"], meta["anomaly.layers"], meta["anomaly.hidden"], meta["anomaly.embed"]
    k = meta["anomaly.top_k"]
    names = [x.decode() for x in meta["anomaly.events"]]
    V = len(names)
    ids = {n: i for i, n in enumerate(names)}
    out = torch.nn.Linear(H, V)
    with torch.no_grad():
        out.weight.copy_(t["anomaly.out.weight"])
        out.bias.copy_(t["anomaly.out.bias"])
    if meta["anomaly.arch"] == b"transformer":
        net = transformer(meta, t, V, W, L, H)
    else:
        emb = torch.nn.Embedding(V, E)
        lstm = torch.nn.LSTM(E, H, num_layers=L, batch_first=True)
        with torch.no_grad():
            emb.weight.copy_(t["anomaly.embed"])
            for l in range(L):
                getattr(lstm, f"weight_ih_l{l}").copy_(t[f"anomaly.lstm.{l}.w_ih"])
                getattr(lstm, f"weight_hh_l{l}").copy_(t[f"anomaly.lstm.{l}.w_hh"])
                getattr(lstm, f"bias_ih_l{l}").copy_(t[f"anomaly.lstm.{l}.bias"])
                getattr(lstm, f"bias_hh_l{l}").zero_()

        def net(x):
            return lstm(emb(x))[0]
    sessions = [json.loads(x) for x in open(sessions_path, encoding="utf-8") if x.strip()]
    if split:
        sessions = [o for o in sessions if o.get("Split") == split]
    verdicts = [json.loads(x) for x in open(verdicts_path, encoding="utf-8") if x.strip()]
    assert len(verdicts) == len(sessions), f"{len(verdicts)} verdicts for {len(sessions)} sessions"
    bad, worst = 0, 0.0
    for o, v in zip(sessions, verdicts):
        ev = [ids.get(x, 2) for x in o["Templates"]]
        ev = [2 if e < 3 else e for e in ev]
        targets = ev + [1]
        wins = [[0] * max(0, W - p) + ev[max(0, p - W):p] for p in range(len(targets))]
        with torch.no_grad():
            h = net(torch.tensor(wins))
            prob = torch.softmax(out(h[:, -1, :]), dim=-1).numpy()
        first, p_first = -1, None
        for p, y in enumerate(targets):
            if y == 2:
                first = p
                break
            pr = prob[p].copy()
            pr[0] = pr[2] = -1.0
            rank = 1 + int((pr > pr[y]).sum())
            if rank > k:
                first, p_first = p, float(prob[p][y])
                break
        ok = v["session"] == o["BlockId"] and v["anomalous"] == (first >= 0) and v.get("position", -1) == first
        if ok and p_first is not None:
            worst = max(worst, abs(v["p"] - p_first))
            ok = abs(v["p"] - p_first) <= 1e-4
        if not ok:
            bad += 1
            if bad <= 5:
                print(f"differs: {o['BlockId']}: C {v.get('anomalous')} at {v.get('position', -1)} p {v.get('p')}; "
                      f"torch {first >= 0} at {first} p {p_first}")
    ref = "torch.nn.TransformerEncoderLayer" if meta["anomaly.arch"] == b"transformer" else "torch.nn.LSTM"
    print(f"{len(sessions)} sessions: {len(sessions) - bad} agree with {ref}, {bad} differ; "
          f"largest probability difference {worst:.2e}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
