#!/usr/bin/env python3
"""The best F1 any detector that sees only a session's event sequence can
reach on a labelled JSONL session set (data/hdfs/hdfs100k_sessions.jsonl).

Sessions with the same sequence of events get the same verdict from such a
detector, whatever it is. Group the sessions of a split by their sequence:
a group of a anomalous and n normal sessions is either flagged (a true
positives, n false positives) or not (a false negatives). Flagging every
pure-anomaly group and then the mixed groups in order of their anomalous
share gives the best F1 over all choices (each prefix is tried). When many
anomalous sessions are identical to normal ones (HDFS blocks cut at the end
of the 100k-line sample look like complete normal prefixes), this bound is
well below 1 and no sequence model can pass it.

    tools/anomaly_bound.py data/hdfs/hdfs100k_sessions.jsonl [SPLIT ...]

Python 3 standard library only.
"""
import collections
import json
import sys


def bound(sessions):
    groups = collections.defaultdict(lambda: [0, 0])  # sequence -> [normal, anomalous]
    for o in sessions:
        groups[tuple(o["Templates"])][1 if o["Label"] == 1 else 0] += 1
    total = sum(a for _, a in groups.values())
    tp = sum(a for n, a in groups.values() if n == 0)
    fp = 0
    best = (2 * tp / (2 * tp + (total - tp)) if tp else 0.0, tp, fp)
    mixed = sorted((g for g in groups.values() if g[0] and g[1]), key=lambda g: -g[1] / (g[0] + g[1]))
    for n, a in mixed:
        tp += a
        fp += n
        f1 = 2 * tp / (2 * tp + fp + (total - tp))
        if f1 > best[0]:
            best = (f1, tp, fp)
    same = sum(a for n, a in groups.values() if n and a)
    return total, same, best


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "data/hdfs/hdfs100k_sessions.jsonl"
    splits = sys.argv[2:] or ["train", "test"]
    rows = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    for split in splits:
        total, same, (f1, tp, fp) = bound([o for o in rows if o.get("Split") == split])
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / total if total else 0.0
        print(f"{split}: {total} anomalous sessions, {same} of them with the very sequence of a normal "
              f"session of the split; best possible precision {p:.4f} recall {r:.4f} F1 {f1:.4f}")


if __name__ == "__main__":
    main()
