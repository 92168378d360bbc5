#!/usr/bin/env python3
"""Builds the default model's data sets from weak-labelled logs
(tools/make_model.sh step 3; docs/training.md).

    prepare.py OUTDIR NAME=RAW.log:LABELLED.jsonl ...

RAW.log is a source's raw log, LABELLED.jsonl its `logrisk label` output
(one record per raw line, same order). For each source, in order:

1. dedup: lines with the same masked text are one example (first raw line
   kept). Loghub is template-heavy, so this drops repeats without changing
   which labels exist (a label only disappears if all its lines were
   identical after masking, and then it has one example left).
2. held-out split: a seeded HELDOUT fraction of each source's distinct
   texts goes to heldout.jsonl ({"source","label","raw"}), never trained
   on; it gives the per-source validation metrics.
3. cap: of the rest, at most CAP examples per source go to training
   (train.jsonl, {"text","label"}), taken round-robin over the source's
   labels, so rare labels keep all their lines and the cap thins the
   common ones (BERT-mini's training time on 2 shared cores is the budget).
   The hand-written Kubernetes lines (k8s_extra) are not capped and go in
   twice (OVERSAMPLE).
   The raw lines of the training set also go to pretrain.log (the MLM
   corpus: the same lines, unlabelled).

Then class weights: w_c = sqrt(N / (C * n_c)) over the training set,
normalised to mean 1 over the classes present, written as a YAML line
`class_weights: [...]` to class_weights.yaml (sqrt of "balanced": rare
high-risk classes weigh up to ~10x, not ~100x, which keeps the common
classes accurate). stats.json records the counts at every step.
Deterministic: one seeded RNG, sources in argument order. Python stdlib.
"""
import json
import math
import os
import random
import sys

HELDOUT = 0.10
CAP = 300
# k8s_extra is the only source with many high-risk lines and the one most
# like what the model will score; its training lines are repeated this often
OVERSAMPLE = {"k8s_extra": 2}
SEED = 5
CLASSES = 11


def round_robin(items, cap):
    """At most `cap` of the (text, (raw, label)) items, taken one label at a
    time in turn (labels in ascending order, each label's items in their
    shuffled order): a label with fewer than its share keeps all its lines,
    the rest share the remaining room evenly."""
    by = {}
    for it in items:
        by.setdefault(it[1][1], []).append(it)
    queues = [by[k] for k in sorted(by)]
    kept, i = [], 0
    while len(kept) < cap and any(queues):
        for q in queues:
            if i < len(q) and len(kept) < cap:
                kept.append(q[i])
        i += 1
    return kept


def main():
    outdir = sys.argv[1]
    rng = random.Random(SEED)
    stats = {"heldout_fraction": HELDOUT, "cap_per_source": CAP, "oversample": OVERSAMPLE, "seed": SEED, "sources": {}}
    train, held, pre = [], [], []
    for arg in sys.argv[2:]:
        name, files = arg.split("=", 1)
        raw_path, lab_path = files.split(":", 1)
        with open(raw_path, "rb") as f:
            raws = f.read().decode("utf-8", "replace").split("\n")
        if raws and raws[-1] == "":
            raws.pop()
        with open(lab_path, encoding="utf-8") as f:
            labs = [json.loads(l) for l in f]
        if len(raws) != len(labs):
            sys.exit("%s: %d raw lines but %d labelled records" % (name, len(raws), len(labs)))
        seen = {}
        for raw, rec in zip(raws, labs):
            if rec["text"].strip() and rec["text"] not in seen:
                seen[rec["text"]] = (raw.rstrip("\r"), rec["label"])
        items = list(seen.items())
        rng.shuffle(items)
        n_held = max(1, round(len(items) * HELDOUT))
        h, rest = items[:n_held], items[n_held:]
        kept = rest if name in OVERSAMPLE else round_robin(rest, CAP)
        for text, (raw, lab) in h:
            held.append({"source": name, "label": lab, "raw": raw})
        for text, (raw, lab) in kept:
            for _ in range(OVERSAMPLE.get(name, 1)):
                train.append({"text": text, "label": lab})
            pre.append(raw)

        def hist(xs):
            c = [0] * CLASSES
            for x in xs:
                c[x] += 1
            return c

        stats["sources"][name] = {
            "lines": len(raws), "distinct": len(items), "heldout": len(h), "train": len(kept),
            "labels_all": hist(r["label"] for r in labs),
            "labels_train": hist(lab for _, (_, lab) in kept),
            "labels_heldout": hist(lab for _, (_, lab) in h)}
    rng.shuffle(train)
    n = [0] * CLASSES
    for r in train:
        n[r["label"]] += 1
    present = [c for c in range(CLASSES) if n[c]]
    w = [math.sqrt(len(train) / (len(present) * n[c])) if n[c] else 0.0 for c in range(CLASSES)]
    mean = sum(w[c] for c in present) / len(present)
    w = [round(x / mean, 4) if x else 1.0 for x in w]
    stats["train_labels"] = n
    stats["class_weights"] = w
    stats["train_examples"] = len(train)
    stats["heldout_examples"] = len(held)
    with open(os.path.join(outdir, "train.jsonl"), "w", encoding="utf-8") as f:
        for r in train:
            f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
    with open(os.path.join(outdir, "heldout.jsonl"), "w", encoding="utf-8") as f:
        for r in held:
            f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
    with open(os.path.join(outdir, "heldout.log"), "w", encoding="utf-8") as f:
        for r in held:
            f.write(r["raw"] + "\n")
    with open(os.path.join(outdir, "pretrain.log"), "w", encoding="utf-8") as f:
        for raw in pre:
            f.write(raw + "\n")
    with open(os.path.join(outdir, "class_weights.yaml"), "w") as f:
        f.write("class_weights: [%s]\n" % ", ".join("%g" % x for x in w))
    with open(os.path.join(outdir, "stats.json"), "w") as f:
        json.dump(stats, f, indent=1)
    print("prepare: %d training examples, %d held out, labels %s, class weights %s"
          % (len(train), len(held), n, w))


if __name__ == "__main__":
    main()
