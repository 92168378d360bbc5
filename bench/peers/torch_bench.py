#!/usr/bin/python3
"""torch_bench.py — PyTorch on the benchmark workloads, the peer that
bench/engine.bench.sh and bench/train.bench.sh measure in the same run.

    /usr/bin/python3 bench/peers/torch_bench.py [--model DIR] [--workload FILE]
        [--only realistic,latency,train] [--threads N] [--reps N] [--tag NAME]
        [--vocab N] [--train-steps-128 N] [--train-steps-32 N]

Model: DIR from bench/peers/make_model.py, or (without --model) a seeded
BERT-mini of tools/ref_bert.py with --vocab words. Workloads, with the same
token ids and batching as bench/bench_engine.c:
  realistic  the 2,048 lengths of --workload in batches of 32:
             logs2048_bucketed (sorted by length, each batch padded to its
             longest line) and logs2048_pad128 (input order, padded to 128);
             fixed_b32_s128 (32 lines of 128 tokens);
  latency    one 24-token line at a time, 300 calls a rep: p50 and p99;
  train      AdamW (lr 3e-5, weight decay 0.01), cross-entropy, dropout on:
             train_b32_s128 and train_b32_s32.
Prints one JSON object per result (best of --reps for throughput).
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
import ref_bert  # noqa: E402


def token_ids(vocab, line, length):
    """The ids of every engine's benchmark: [CLS] 101 first, [SEP] 102 last,
    between them 1000 + (line * 7919 + j * 104729) mod (vocab - 1000)."""
    return [101 if j == 0 else 102 if j == length - 1 else 1000 + (line * 7919 + j * 104729) % (vocab - 1000)
            for j in range(length)]


def batch(vocab, lines, lengths, pad_to=None):
    width = pad_to or max(lengths[i] for i in lines)
    ids = torch.zeros(len(lines), width, dtype=torch.int64)
    mask = torch.zeros(len(lines), width, dtype=torch.int64)
    for r, i in enumerate(lines):
        ids[r, :lengths[i]] = torch.tensor(token_ids(vocab, i, lengths[i]))
        mask[r, :lengths[i]] = 1
    return ids, mask


def best_time(fn, reps):
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def emit(**row):
    print(json.dumps(dict(engine="pytorch", **row)), flush=True)


def realistic(model, vocab, lengths, args):
    n = len(lengths)
    order = sorted(range(n), key=lambda i: (lengths[i], i))
    workloads = {
        "logs2048_bucketed": [batch(vocab, order[k:k + 32], lengths) for k in range(0, n, 32)],
        "logs2048_pad128": [batch(vocab, list(range(k, min(n, k + 32))), lengths, 128) for k in range(0, n, 32)],
        "fixed_b32_s128": [batch(vocab, list(range(32)), [128] * 32)],
    }
    for name, batches in workloads.items():
        lines = sum(b[0].shape[0] for b in batches)
        tokens = sum(int(b[1].sum()) for b in batches)
        reps = args.reps if name != "fixed_b32_s128" else args.reps * 3

        def run():
            with torch.inference_mode():
                for ids, mask in batches:
                    model(ids, mask)
        run()  # warm-up
        t = best_time(run, reps)
        emit(bench="torch_infer", tag=args.tag, workload=name, threads=args.threads, lines=lines,
             real_tokens=tokens, lines_per_s=round(lines / t, 1), tokens_per_s=round(tokens / t))


def latency(model, vocab, args):
    ids, mask = batch(vocab, [0], [24])
    times = []
    with torch.inference_mode():
        for _ in range(20):
            model(ids, mask)
        for _ in range(args.reps):
            for _ in range(300):
                t0 = time.perf_counter()
                model(ids, mask)
                times.append(time.perf_counter() - t0)
    times.sort()
    emit(bench="torch_latency", tag=args.tag, workload="b1_s24", threads=args.threads,
         p50_ms=round(1e3 * times[len(times) // 2], 3), p99_ms=round(1e3 * times[int(len(times) * 0.99)], 3))


def train(model, vocab, args):
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-5, weight_decay=0.01)
    for seq, steps in ((128, args.train_steps_128), (32, args.train_steps_32)):
        ids, mask = batch(vocab, list(range(32)), [seq] * 32)
        labels = (torch.arange(32) * 7 + 3) % ref_bert.NUM_LABELS

        def step():
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(ids, mask), labels).backward()
            opt.step()
        step()  # warm-up
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        t = (time.perf_counter() - t0) / steps
        emit(bench="torch_train", tag=args.tag, workload=f"train_b32_s{seq}", threads=args.threads,
             steps_per_s=round(1 / t, 3), tokens_per_s=round(32 * seq / t))
    model.eval()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model")
    ap.add_argument("--workload")
    ap.add_argument("--only", default="realistic,latency")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--tag", default="debian")
    ap.add_argument("--vocab", type=int, default=ref_bert.BERT_MINI["vocab_size"])
    ap.add_argument("--train-steps-128", type=int, default=3)
    ap.add_argument("--train-steps-32", type=int, default=8)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.model:
        model = ref_bert.load_model(args.model)
    else:
        model = ref_bert.build(dict(ref_bert.BERT_MINI, vocab_size=args.vocab), seed=0)
    vocab = model.cfg["vocab_size"]
    only = set(args.only.split(","))
    if "realistic" in only:
        if not args.workload:
            ap.error("realistic needs --workload")
        with open(args.workload) as f:
            realistic(model, vocab, json.load(f)["lengths"], args)
    if "latency" in only:
        latency(model, vocab, args)
    if "train" in only:
        train(model, vocab, args)


if __name__ == "__main__":
    main()
