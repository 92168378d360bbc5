#!/usr/bin/python3
"""Training parity fixture: what PyTorch computes for a small BERT, for the C
autograd (src/tape.c, src/train_bert.c, src/optim.c) to reproduce.

Run with Debian's python3-torch (not the pyenv python on PATH):

    /usr/bin/python3 tools/make_train_fixture.py [OUT_DIR]     (default tests/fixtures/train)

The model is tools/ref_bert.py's BertForLogRisk with a small config: vocab 64, hidden 32,
2 layers, 2 heads, intermediate 64, 16 positions, 2 token types, 11 labels,
head hidden 16, initialised by ref_bert.init_weights(seed 0) with
initializer_range 0.2. One padded batch of 4 sequences x 12 positions
(lengths 12, 9, 5, 7), random ids in 1..63, random labels, dropout off
(eval mode).

Recorded (all float32 unless said otherwise):
  init/NAME    every parameter before training (HF names)
  input_ids, attention_mask [4*12] i32; labels [4] i32
  logits [4*11], loss [1]      first forward
  grad/NAME    every parameter gradient of the first backward (before clipping)
  grad_norm [1]                clip_grad_norm_'s total norm at step 1
  losses [3]                   the loss before each of the 3 steps
  step3/NAME   every parameter after 3 optimiser steps on this batch:
               torch.optim.AdamW(lr 1e-3, betas (0.9, 0.999), eps 1e-8),
               weight decay 0.01 except biases and LayerNorm (0.0),
               clip_grad_norm_(1.0) before each step, schedule ON:
               get_linear_schedule_with_warmup semantics with warm-up 0 and
               4 total steps (lr factors 1, 0.75, 0.5), implemented as LambdaLR.
  mlm/input_ids [4*12] i32, mlm/targets [4*12] i32 (original id at the
               predicted positions, -1 elsewhere), mlm/loss [1], mlm/grad/NAME:
               the masked-LM head of HF BertForMaskedLM written out here
               (cls.predictions.transform.dense -> erf gelu ->
               cls.predictions.transform.LayerNorm (eps 1e-12) -> decoder TIED
               to the word embeddings + cls.predictions.bias) on the same
               encoder at init, cross-entropy over the predicted positions;
               its initial weights are init/cls.predictions.*
  xent/logits [7*5], xent/labels [7] i32 (one label -1 = ignored),
  xent/weights [5], and for each case CASE in plain, weighted, smooth,
  weighted_smooth, focal, focal_all: xent/CASE/loss [1] and xent/CASE/grad
  [7*5], computed in float64 from the f32 logits by the formula in
  src/tape.h (checked here against F.cross_entropy for gamma 0).

File format: OUT_DIR/parity.txt is the index, one record a line:
    config KEY VALUE
    tensor NAME DTYPE COUNT OFFSET      (DTYPE f32|i32, OFFSET in bytes)
and OUT_DIR/parity.bin holds the little-endian data at those offsets.
"""
import os
import struct
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import ref_bert as rb  # noqa: E402

CFG = dict(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
           intermediate_size=64, max_position_embeddings=16, type_vocab_size=2,
           initializer_range=0.2)
B, L = 4, 12
LENGTHS = [12, 9, 5, 7]
LR, WD, CLIP, STEPS, TOTAL, WARMUP = 1e-3, 0.01, 1.0, 3, 4, 0


def lr_lambda(step):
    """transformers.get_linear_schedule_with_warmup's lambda."""
    if step < WARMUP:
        return float(step) / float(max(1, WARMUP))
    return max(0.0, float(TOTAL - step) / float(max(1, TOTAL - WARMUP)))


def xent(z, y, w, eps, gamma):
    """The loss of lr__op_xent (src/tape.h), float64."""
    C = z.shape[1]
    keep = y >= 0
    z, y = z[keep], y[keep]
    w = torch.ones(C, dtype=z.dtype) if w is None else w
    logp = torch.log_softmax(z, 1)
    nll = -logp.gather(1, y[:, None])[:, 0]
    smooth = -(logp * w[None, :]).sum(1)
    ce = (1 - eps) * w[y] * nll + eps / C * smooth
    focal = (1 - logp.gather(1, y[:, None])[:, 0].exp()) ** gamma
    return (focal * ce).sum() / w[y].sum()


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests", "fixtures", "train")
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1234)
    model = rb.build(CFG, seed=0)  # eval mode: dropout off
    names = [n for n, _ in model.named_parameters()]

    ids = torch.zeros(B, L, dtype=torch.int64)
    mask = torch.zeros(B, L, dtype=torch.int64)
    for b, n in enumerate(LENGTHS):
        ids[b, :n] = torch.randint(1, CFG["vocab_size"], (n,), generator=g)
        mask[b, :n] = 1
    labels = torch.randint(0, rb.NUM_LABELS, (B,), generator=g)

    records = []  # (name, dtype, tensor)

    def add(name, t, dtype="f32"):
        records.append((name, dtype, t.detach().reshape(-1).clone()))

    for n, p in model.named_parameters():
        add("init/" + n, p)
    add("input_ids", ids, "i32")
    add("attention_mask", mask, "i32")
    add("labels", labels, "i32")

    # masked-LM head on the same encoder, before any training step
    H, V = CFG["hidden_size"], CFG["vocab_size"]
    mlm = {"cls.predictions.transform.dense.weight": 0.2 * torch.randn(H, H, generator=g),
           "cls.predictions.transform.dense.bias": 0.02 * torch.randn(H, generator=g),
           "cls.predictions.transform.LayerNorm.weight": 1 + 0.05 * torch.randn(H, generator=g),
           "cls.predictions.transform.LayerNorm.bias": 0.05 * torch.randn(H, generator=g),
           "cls.predictions.bias": 0.02 * torch.randn(V, generator=g)}
    for n, t in mlm.items():
        t.requires_grad_(True)
        add("init/" + n, t)
    pick = (torch.rand(B, L, generator=g) < 0.3) & (mask == 1)
    pick[:, 1] = True  # every sequence predicts at least one position
    targets = torch.where(pick, ids, torch.full_like(ids, -100))
    mlm_ids = ids.clone()
    mlm_ids[pick & (torch.rand(B, L, generator=g) < 0.8)] = V - 1  # "[MASK]"
    hidden = model.bert(mlm_ids, mask)
    x = F.linear(hidden, mlm["cls.predictions.transform.dense.weight"],
                 mlm["cls.predictions.transform.dense.bias"])
    x = F.layer_norm(F.gelu(x), (H,), mlm["cls.predictions.transform.LayerNorm.weight"],
                     mlm["cls.predictions.transform.LayerNorm.bias"], eps=1e-12)
    word = model.bert.embeddings.word_embeddings.weight
    mlm_logits = F.linear(x, word, mlm["cls.predictions.bias"])
    mlm_loss = F.cross_entropy(mlm_logits.reshape(-1, V), targets.reshape(-1), ignore_index=-100)
    mlm_loss.backward()
    add("mlm/input_ids", mlm_ids, "i32")
    add("mlm/targets", torch.where(pick, ids, torch.full_like(ids, -1)), "i32")
    add("mlm/loss", mlm_loss.reshape(1))
    for n, p in list(model.bert.named_parameters()):
        add("mlm/grad/bert." + n, p.grad)
    for n, t in mlm.items():
        add("mlm/grad/" + n, t.grad)
    model.zero_grad(set_to_none=True)

    decay = [p for n, p in model.named_parameters() if not (n.endswith(".bias") or "LayerNorm" in n)]
    no_decay = [p for n, p in model.named_parameters() if n.endswith(".bias") or "LayerNorm" in n]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WD},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=LR, betas=(0.9, 0.999), eps=1e-8)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda)
    losses = []
    for step in range(STEPS):
        opt.zero_grad(set_to_none=True)
        logits = model(ids, mask)
        loss = F.cross_entropy(logits, labels)
        loss.backward()
        if step == 0:
            add("logits", logits)
            add("loss", loss.reshape(1))
            for n, p in model.named_parameters():
                add("grad/" + n, p.grad)
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        if step == 0:
            add("grad_norm", norm.reshape(1))
        losses.append(loss.item())
        opt.step()
        sched.step()
    add("losses", torch.tensor(losses, dtype=torch.float32))
    for n, p in model.named_parameters():
        add("step3/" + n, p)

    # cross-entropy variants on fixed logits
    C, N = 5, 7
    z32 = (2.0 * torch.randn(N, C, generator=g)).float()
    y = torch.tensor([0, 3, -1, 2, 4, 1, 3])
    w = torch.tensor([0.5, 1.0, 2.0, 1.5, 0.25], dtype=torch.float64)
    add("xent/logits", z32)
    add("xent/labels", y, "i32")
    add("xent/weights", w.float())
    cases = [("plain", None, 0.0, 0.0), ("weighted", w, 0.0, 0.0), ("smooth", None, 0.1, 0.0),
             ("weighted_smooth", w, 0.1, 0.0), ("focal", None, 0.0, 2.0),
             ("focal_all", w, 0.1, 1.5)]
    for name, cw, eps, gamma in cases:
        z = z32.double().requires_grad_(True)
        loss = xent(z, y, cw, eps, gamma)
        loss.backward()
        if gamma == 0.0 and eps == 0.0:
            ref = F.cross_entropy(z.detach(), y, weight=cw, ignore_index=-1, label_smoothing=eps)
            assert abs(ref.item() - loss.item()) < 1e-12, (name, ref.item(), loss.item())
        if gamma == 0.0 and cw is not None:
            ref = F.cross_entropy(z.detach(), y, weight=cw, ignore_index=-1, label_smoothing=eps)
            assert abs(ref.item() - loss.item()) < 1e-12, (name, ref.item(), loss.item())
        add(f"xent/{name}/loss", loss.detach().float().reshape(1))
        add(f"xent/{name}/grad", z.grad.float())

    # write
    blob = bytearray()
    lines = ["# training parity fixture, written by tools/make_train_fixture.py (torch %s)"
             % torch.__version__]
    for k, v in (("vocab_size", CFG["vocab_size"]), ("hidden", CFG["hidden_size"]),
                 ("n_layers", CFG["num_hidden_layers"]), ("n_heads", CFG["num_attention_heads"]),
                 ("intermediate", CFG["intermediate_size"]),
                 ("max_positions", CFG["max_position_embeddings"]),
                 ("type_vocab_size", CFG["type_vocab_size"]), ("n_labels", rb.NUM_LABELS),
                 ("head_hidden", CFG["hidden_size"] // 2), ("batch", B), ("seq_len", L),
                 ("steps", STEPS), ("lr", LR), ("weight_decay", WD), ("clip", CLIP),
                 ("warmup", WARMUP), ("total_steps", TOTAL)):
        lines.append(f"config {k} {v}")
    for name, dtype, t in records:
        fmt = "<%d%s" % (t.numel(), "f" if dtype == "f32" else "i")
        vals = t.tolist()
        lines.append(f"tensor {name} {dtype} {t.numel()} {len(blob)}")
        blob += struct.pack(fmt, *vals)
    with open(os.path.join(out_dir, "parity.bin"), "wb") as f:
        f.write(bytes(blob))
    with open(os.path.join(out_dir, "parity.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {len(records)} records, {len(blob)} bytes to {out_dir}; "
          f"loss {losses[0]:.6f} -> {losses[-1]:.6f}; params {len(names)}")


if __name__ == "__main__":
    main()
