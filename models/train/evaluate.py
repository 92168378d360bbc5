#!/usr/bin/env python3
"""Held-out metrics of the default model, overall and per data source
(tools/make_model.sh step 7; docs/training.md).

    evaluate.py HELDOUT.jsonl SCORES.jsonl STATS.json PRETRAIN_METRICS OUT.json SECONDS \
        [JUDGED_METRICS EVAL_TEST.json CALIBRATION.txt]

HELDOUT.jsonl is prepare.py's {"source","label","raw"} (never trained on);
SCORES.jsonl is `logrisk score` of its raw lines, same order. The weak
label is the reference: accuracy, macro-F1 (the mean F1 over the classes
that occur in the reference or the predictions, like scikit-learn's
f1_score(average="macro")), high-risk (>= 7) precision and recall, mean
absolute error of risk_label, and the confusion matrix. OUT.json also
carries the data statistics, the pre-training and fine-tuning curves from
the trainer's metrics files, and the time `make model` took. Prints a
Markdown table. Python stdlib only.
"""
import json
import sys

C = 11
HIGH = 7


def metrics(pairs):
    n = len(pairs)
    conf = [[0] * C for _ in range(C)]
    for t, p in pairs:
        conf[t][p] += 1
    acc = sum(conf[i][i] for i in range(C)) / n if n else 0.0
    f1s = []
    for c in range(C):
        tp = conf[c][c]
        fn = sum(conf[c]) - tp
        fp = sum(conf[r][c] for r in range(C)) - tp
        if tp + fn + fp == 0:
            continue
        f1s.append(2 * tp / (2 * tp + fp + fn))
    tp = sum(1 for t, p in pairs if t >= HIGH and p >= HIGH)
    pos = sum(1 for t, _ in pairs if t >= HIGH)
    pred = sum(1 for _, p in pairs if p >= HIGH)
    return {"examples": n, "accuracy": round(acc, 4),
            "macro_f1": round(sum(f1s) / len(f1s), 4) if f1s else 0.0,
            "high_risk_support": pos,
            "high_risk_precision": round(tp / pred, 4) if pred else None,
            "high_risk_recall": round(tp / pos, 4) if pos else None,
            "mean_abs_error": round(sum(abs(t - p) for t, p in pairs) / n, 4) if n else 0.0,
            "confusion": conf}


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def main():
    held_p, scores_p, stats_p, pre_p, out_p, secs = sys.argv[1:7]
    judged_p, eval_p, cal_p = (sys.argv[7:10] + [None, None, None])[:3]
    held = [json.loads(l) for l in open(held_p, encoding="utf-8")]
    scores = [json.loads(l) for l in open(scores_p, encoding="utf-8")]
    if len(held) != len(scores):
        sys.exit("evaluate: %d held-out lines but %d scores" % (len(held), len(scores)))
    by = {}
    allp = []
    for h, s in zip(held, scores):
        pair = (h["label"], s["risk_label"])
        by.setdefault(h["source"], []).append(pair)
        allp.append(pair)
    out = {"model": "models/logrisk-mini.lrm",
           "make_model_seconds": int(secs),
           "judged_test": load_json(eval_p) if eval_p else None,
           "calibration": open(cal_p).read().strip() if cal_p else None,
           "heldout_weak_labels": {"reference": "weak labels of models/rules/k8s.yaml (agreement with the "
                                                "rules, not with people)",
                                   "overall": metrics(allp), "per_source": {k: metrics(v) for k, v in by.items()}},
           "data": load_json(stats_p), "pretrain": load_json(pre_p),
           "train_judged": load_json(judged_p) if judged_p else None}
    with open(out_p, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")

    def fmt(x):
        return "–" if x is None else "%.3f" % x

    print("agreement with the rules' weak labels on held-out lines (not with people):")
    print("| source | held-out lines | accuracy | macro-F1 | high-risk (>=7) lines | precision | recall |")
    print("|---|---|---|---|---|---|---|")
    rows = list(by.items()) + [("all", allp)]
    for k, v in rows:
        m = metrics(v)
        print("| %s | %d | %s | %s | %d | %s | %s |" % (
            k, m["examples"], fmt(m["accuracy"]), fmt(m["macro_f1"]), m["high_risk_support"],
            fmt(m["high_risk_precision"]), fmt(m["high_risk_recall"])))


if __name__ == "__main__":
    main()
