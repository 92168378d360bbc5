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
3. cap: of the rest, at most CAP lines per source are kept for MLM
   pre-training (pretrain.log: their raw lines, unlabelled), taken
   round-robin over the source's weak labels, so lines of rare labels are
   all kept and the cap thins the common ones (BERT-mini's training time on
   2 shared cores is the budget). The hand-written Kubernetes lines
   (k8s_extra) are not capped.

stats.json records the counts at every step. The weak labels only steer
which lines are kept and score the held-out lines: the model is
fine-tuned on judged labels, not on these.
Deterministic: one seeded RNG, sources in argument order. Python stdlib.
"""
import json
import os
import random
import sys

HELDOUT = 0.10
CAP = 300
# k8s_extra is the only source with many high-risk lines and the one most
# like what the model will score: not capped
UNCAPPED = {"k8s_extra"}
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
    stats = {"heldout_fraction": HELDOUT, "cap_per_source": CAP, "uncapped": sorted(UNCAPPED), "seed": SEED,
             "sources": {}}
    held, pre = [], []
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
        kept = rest if name in UNCAPPED else round_robin(rest, CAP)
        for text, (raw, lab) in h:
            held.append({"source": name, "label": lab, "raw": raw})
        for _, (raw, _) in kept:
            pre.append(raw)

        def hist(xs):
            c = [0] * CLASSES
            for x in xs:
                c[x] += 1
            return c

        stats["sources"][name] = {
            "lines": len(raws), "distinct": len(items), "heldout": len(h), "pretrain": len(kept),
            "labels_all": hist(r["label"] for r in labs),
            "labels_pretrain": hist(lab for _, (_, lab) in kept),
            "labels_heldout": hist(lab for _, (_, lab) in h)}
    n = [sum(src["labels_pretrain"][c] for src in stats["sources"].values()) for c in range(CLASSES)]
    stats["pretrain_labels"] = n
    stats["pretrain_lines"] = len(pre)
    stats["heldout_lines"] = len(held)
    with open(os.path.join(outdir, "heldout.jsonl"), "w", encoding="utf-8") as f:
        for r in held:
            f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
    with open(os.path.join(outdir, "heldout.log"), "w", encoding="utf-8") as f:
        for r in held:
            f.write(r["raw"] + "\n")
    with open(os.path.join(outdir, "pretrain.log"), "w", encoding="utf-8") as f:
        for raw in pre:
            f.write(raw + "\n")
    with open(os.path.join(outdir, "stats.json"), "w") as f:
        json.dump(stats, f, indent=1)
    print("prepare: %d pre-training lines, %d held out, weak labels %s" % (len(pre), len(held), n))


if __name__ == "__main__":
    main()
