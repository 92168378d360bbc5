#!/usr/bin/env python3
"""judged_train.py — the judged training set of the default model
(tools/make_model.sh step 5; docs/training.md).

    judged_train.py LOGRISK JUDGED.jsonl SPLIT OUT.jsonl CLASS_WEIGHTS.yaml [MORE.jsonl ...]

Writes OUT.jsonl, {"text", "label"} for every event of JUDGED.jsonl (and of
each MORE.jsonl in the same format, e.g. the synthetic training events)
whose split is SPLIT: the text is the event's canonical model input, as
`logrisk score` renders it (`logrisk preprocess --input-format auto` on the
event's text alone: level, message and error detail, masked), so that
training sees exactly what scoring sees; the label is the judged risk.
CLASS_WEIGHTS.yaml gets `class_weights: [...]`, the square root of
"balanced" (w_c = sqrt(N / (C * n_c)), normalised to mean 1); "-" writes no
weights (a validation set needs none). Python stdlib.
"""
import json
import math
import os
import subprocess
import sys
import tempfile

CLASSES = 11


def render(logrisk, text, path):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    out = subprocess.run([logrisk, "preprocess", "--input-format", "auto", "-i", path],
                         capture_output=True, text=True, check=True).stdout
    recs = [json.loads(l) for l in out.splitlines() if l.strip()]
    # a text that still splits into several events is read from its first
    # non-empty one (eval scores all of them and keeps the highest risk)
    recs = [r for r in recs if r["text"].strip()] or recs
    return recs[0]["text"]


def main():
    logrisk, judged, split, out_path, weights_path = sys.argv[1:6]
    counts = [0] * CLASSES
    with tempfile.TemporaryDirectory() as tmp, open(out_path, "w", encoding="utf-8") as out:
        path = os.path.join(tmp, "event.log")
        for gold in [judged] + sys.argv[6:]:
            with open(gold, encoding="utf-8") as f:
                for line in f:
                    e = json.loads(line)
                    if e["split"] != split:
                        continue
                    out.write(json.dumps({"text": render(logrisk, e["text"], path), "label": e["risk"]},
                                         ensure_ascii=False) + "\n")
                    counts[e["risk"]] += 1
    n = sum(counts)
    w = [math.sqrt(n / (CLASSES * c)) if c else 0.0 for c in counts]
    mean = sum(w) / sum(1 for c in counts if c)
    if weights_path != "-":
        with open(weights_path, "w") as f:
            f.write("class_weights: [" + ", ".join("%.4f" % (x / mean) for x in w) + "]\n")
    print("judged_train: %d events of split %s, labels 0..10 = %s" % (n, split, " ".join(map(str, counts))))


if __name__ == "__main__":
    main()
