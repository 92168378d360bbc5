#!/usr/bin/env python3
"""template_novelty.py — should template novelty move the risk score?

Measured on the judged corpus (models/data/judged/judged.jsonl: text, risk,
split), with the logrisk binary only (Python 3 standard library here):

 1. `logrisk templates` learns templates on the train split's texts (each
    text read as `score` reads a file of its own: the record and event
    layer, multi-line groups), then assigns the dev and test texts with
    --match-only: a text whose event matches no learnt template is "novel".
 2. On the test split: the judged risk of novel and seen events (mean,
    share with risk >= 7, and how well novelty alone ranks risk >= 7).
 3. `logrisk eval --details` gives the built-in model's risk_score per
    event. On the DEV split the tool picks the bonus b in 0, 0.25 .. 3 that
    maximises Spearman(risk_score + b * novel, judged risk); the test split
    then reports b = 0 against the chosen b (never tuned on test).

    tools/template_novelty.py [--bin build/logrisk] [--gold FILE] [--json]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile


def ranks(xs):
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    r = [0.0] * len(xs)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        avg = (i + j) / 2.0 + 1
        for k in range(i, j + 1):
            r[order[k]] = avg
        i = j + 1
    return r


def spearman(a, b):
    ra, rb = ranks(a), ranks(b)
    n = len(a)
    ma, mb = sum(ra) / n, sum(rb) / n
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    va = sum((x - ma) ** 2 for x in ra)
    vb = sum((y - mb) ** 2 for y in rb)
    return cov / (va * vb) ** 0.5 if va > 0 and vb > 0 else 0.0


def auc(scores, positive):
    pos = [s for s, p in zip(scores, positive) if p]
    neg = [s for s, p in zip(scores, positive) if not p]
    if not pos or not neg:
        return float("nan")
    r = ranks(scores)
    rp = sum(r[i] for i, p in enumerate(positive) if p)
    return (rp - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


def write_log(path, texts):
    """Texts one after another; returns the first physical line of each."""
    starts = []
    line = 1
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for t in texts:
            t = t.replace("\r\n", "\n").rstrip("\n")
            starts.append(line)
            f.write(t + "\n")
            line += t.count("\n") + 1
    return starts


def run_templates(binary, log, state, match_only):
    cmd = [binary, "templates", "-i", log, "--state", state]
    if match_only:
        cmd.append("--match-only")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [json.loads(l) for l in out.splitlines() if l.strip()]


def assign(events, starts, n_lines):
    """Template id of each text: the event that starts on its first line."""
    by_line = {e["line"]: e for e in events}
    return [by_line.get(s) for s in starts]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="build/logrisk")
    ap.add_argument("--gold", default="models/data/judged/judged.jsonl")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    rows = [json.loads(l) for l in open(a.gold, encoding="utf-8")]
    for i, r in enumerate(rows):
        r["gold_line"] = i + 1
    split = {s: [r for r in rows if r["split"] == s] for s in ("train", "dev", "test")}
    res = {}
    with tempfile.TemporaryDirectory(prefix="lr_novelty_") as tmp:
        state = os.path.join(tmp, "train.lrt")
        train_log = os.path.join(tmp, "train.log")
        write_log(train_log, [r["text"] for r in split["train"]])
        learnt = run_templates(a.bin, train_log, state, False)
        res["train_events"] = len(learnt)
        res["train_templates"] = max((e["template_id"] for e in learnt), default=0)
        for s in ("dev", "test"):
            log = os.path.join(tmp, s + ".log")
            starts = write_log(log, [r["text"] for r in split[s]])
            evs = assign(run_templates(a.bin, log, state, True), starts, 0)
            details = os.path.join(tmp, s + ".details.jsonl")
            subprocess.run([a.bin, "eval", "--gold", a.gold, "--split", s, "--details", details, "--json",
                            "-o", os.path.join(tmp, s + ".eval.json")], check=True, capture_output=True)
            score = {}
            for l in open(details, encoding="utf-8"):
                d = json.loads(l)
                score[d["line"]] = d["risk_score"]
            for r, e in zip(split[s], evs):
                r["event"] = e is not None
                r["novel"] = 1 if (e is not None and e["template_id"] == 0) else 0
                r["score"] = score.get(r["gold_line"])
    # 2. novelty and judged risk on test
    t = [r for r in split["test"] if r["event"] and r["score"] is not None]
    nov = [r for r in t if r["novel"]]
    seen = [r for r in t if not r["novel"]]
    mean = lambda xs: sum(xs) / len(xs) if xs else float("nan")
    res["test"] = {
        "n": len(t), "unassigned": len(split["test"]) - len(t),
        "novel": {"n": len(nov), "mean_risk": mean([r["risk"] for r in nov]),
                  "share_ge7": mean([1.0 * (r["risk"] >= 7) for r in nov])},
        "seen": {"n": len(seen), "mean_risk": mean([r["risk"] for r in seen]),
                 "share_ge7": mean([1.0 * (r["risk"] >= 7) for r in seen])},
        "auc_ge7_novelty_alone": auc([r["novel"] for r in t], [r["risk"] >= 7 for r in t]),
    }
    # 3. a novelty bonus chosen on dev
    d = [r for r in split["dev"] if r["event"] and r["score"] is not None]
    grid = [i * 0.25 for i in range(13)]
    dev_sp = {b: spearman([r["score"] + b * r["novel"] for r in d], [r["risk"] for r in d]) for b in grid}
    best = max(grid, key=lambda b: (dev_sp[b], -b))
    res["dev"] = {"n": len(d), "novel": sum(r["novel"] for r in d),
                  "spearman_by_bonus": {str(b): round(v, 4) for b, v in dev_sp.items()}, "chosen_bonus": best}
    res["test"]["spearman_model"] = spearman([r["score"] for r in t], [r["risk"] for r in t])
    res["test"]["spearman_with_bonus"] = spearman([r["score"] + best * r["novel"] for r in t],
                                                  [r["risk"] for r in t])
    res["test"]["auc_ge7_model"] = auc([r["score"] for r in t], [r["risk"] >= 7 for r in t])
    res["test"]["auc_ge7_with_bonus"] = auc([r["score"] + best * r["novel"] for r in t], [r["risk"] >= 7 for r in t])
    if a.json:
        print(json.dumps(res, indent=1))
        return
    T = res["test"]
    print("templates learnt on train: %d events, %d templates" % (res["train_events"], res["train_templates"]))
    print("test split (%d events; %d not assigned): novel %d, mean judged risk %.2f, share >= 7 %.2f; "
          "seen %d, mean risk %.2f, share >= 7 %.2f; AUC(>=7) of novelty alone %.3f" %
          (T["n"], T["unassigned"], T["novel"]["n"], T["novel"]["mean_risk"], T["novel"]["share_ge7"],
           T["seen"]["n"], T["seen"]["mean_risk"], T["seen"]["share_ge7"], T["auc_ge7_novelty_alone"]))
    print("dev split (%d events, %d novel): Spearman by bonus %s; chosen bonus %.2f" %
          (res["dev"]["n"], res["dev"]["novel"],
           " ".join("%s:%.4f" % (b, v) for b, v in res["dev"]["spearman_by_bonus"].items()), best))
    print("test split: Spearman model %.4f, with bonus %.2f: %.4f; AUC(>=7) %.4f -> %.4f" %
          (T["spearman_model"], best, T["spearman_with_bonus"], T["auc_ge7_model"], T["auc_ge7_with_bonus"]))


if __name__ == "__main__":
    sys.exit(main())
