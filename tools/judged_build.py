#!/usr/bin/env python3
"""judged_build.py — the judged corpus from its pool and its judging passes.

    python3 tools/judged_build.py models/data/judged

Reads DIR/pool_local.jsonl, DIR/pool_public.jsonl, DIR/pool_public2.jsonl,
DIR/pool_public3.jsonl, DIR/pool_public4.jsonl and DIR/pool_public5.jsonl
(the real events),
DIR/pool_synthetic.jsonl (synthetic training events) and
DIR/passes/*_{A,B,C}.tsv (`id<TAB>risk` lines: pass A and pass B judged every
event independently; pass C is the third look, as blind as the others, at
every event on which A and B differ). Writes DIR/judged.jsonl, one real
event a line with its final risk:

    risk = A when A == B, else the median of A, B and C

DIR/synthetic.jsonl, the synthetic events the same way (all in train, marked
"synthetic": true, never in judged.jsonl), and DIR/agreement.json
(quadratic-weighted kappa, exact and within-one agreement of A and B,
overall and per origin, for the corpus and for the synthetic events apart;
the distribution of the final labels per split).

Splits are by source, so that no source has events on both sides: every
local source (a loghub system, the kubelet journal) is in train; the public
sources of pool_public.jsonl (one thread, page or file each) are ordered by
the SHA-1 of their address and filled into test until it holds 40% of those
events, then dev until 55%, the rest train. pool_public2.jsonl and
pool_public3.jsonl are later collections, made after the splits were fixed
from sources no earlier pool uses: all of them are train, so the test split
stays as it was. pool_public4.jsonl, a fourth collection from new sources
(the border between degraded and down, the catastrophic end, routine lines
of the systems severe events come from), is all dev: it makes the split
that picks the epoch and the temperature large enough to steer the severe
end of the scale. pool_public5.jsonl, a fifth collection from new sources
aimed at the severe end (the machine, the data tier, Kubernetes, security
and network, the catastrophic end) and its look-alikes, is all train.
"""
import glob
import hashlib
import json
import os
import statistics
import sys


def read_passes(d):
    passes = {"A": {}, "B": {}, "C": {}}
    for path in sorted(glob.glob(os.path.join(d, "passes", "*.tsv"))):
        which = os.path.basename(path)[-5]
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    i, s = line.split("\t")
                    s = int(s)
                    assert 0 <= s <= 10, (path, line)
                    assert i not in passes[which], (path, i)
                    passes[which][i] = s
    return passes


def qwk(pairs, k=11):
    n = len(pairs)
    obs = [[0] * k for _ in range(k)]
    for a, b in pairs:
        obs[a][b] += 1
    ra = [sum(obs[i]) for i in range(k)]
    rb = [sum(obs[i][j] for i in range(k)) for j in range(k)]
    num = sum(obs[i][j] * (i - j) ** 2 for i in range(k) for j in range(k))
    den = sum(ra[i] * rb[j] * (i - j) ** 2 for i in range(k) for j in range(k)) / n
    return 1 - num / den if den else 1.0


def agreement(pairs):
    return {"events": len(pairs), "qwk": round(qwk(pairs), 4),
            "exact": round(sum(a == b for a, b in pairs) / len(pairs), 4),
            "within_one": round(sum(abs(a - b) <= 1 for a, b in pairs) / len(pairs), 4),
            "apart_more_than_one": sum(abs(a - b) > 1 for a, b in pairs)}


def read_pool(d, name):
    path = os.path.join(d, name)
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def settle(events, p):
    for e in events:
        a, b = p["A"][e["id"]], p["B"][e["id"]]
        e["judges"] = [a, b]
        if a == b:
            e["risk"] = a
        else:
            c = p["C"][e["id"]]
            e["judges"].append(c)
            e["risk"] = int(statistics.median([a, b, c]))


def synthetic_report(d, synth):
    keys = ("id", "split", "risk", "judges", "origin", "component", "format", "cloud_native", "synthetic",
            "source", "text")
    with open(os.path.join(d, "synthetic.jsonl"), "w", encoding="utf-8") as f:
        for e in synth:
            e["split"] = "train"
            e["synthetic"] = True
            f.write(json.dumps({k: e[k] for k in keys}, ensure_ascii=False) + "\n")
    origins = {}
    for e in synth:
        origins.setdefault(e["origin"], []).append((e["judges"][0], e["judges"][1]))
    labels = [0] * 11
    for e in synth:
        labels[e["risk"]] += 1
    return {"events": len(synth),
            "passes_a_b": agreement([(e["judges"][0], e["judges"][1]) for e in synth]),
            "per_origin": {o: agreement(v) for o, v in sorted(origins.items())},
            "third_look": {"events": sum(len(e["judges"]) == 3 for e in synth)},
            "labels": labels}


def main():
    d = sys.argv[1]
    events = []
    for name in ("pool_local.jsonl", "pool_public.jsonl", "pool_public2.jsonl", "pool_public3.jsonl",
                 "pool_public5.jsonl"):
        events += read_pool(d, name)
    dev4 = read_pool(d, "pool_public4.jsonl")
    for e in dev4:
        e["split"] = "dev"
    events += dev4
    synth = read_pool(d, "pool_synthetic.jsonl")
    p = read_passes(d)
    settle(events, p)
    settle(synth, p)
    # splits by source
    public = [e for e in events if e["origin"].startswith("public/")]
    by_source = {}
    for e in public:
        by_source.setdefault(e["source"], []).append(e)
    order = sorted(by_source, key=lambda s: hashlib.sha1(s.encode()).hexdigest())
    done = 0
    for s in order:
        share = done / len(public)
        split = "test" if share < 0.40 else "dev" if share < 0.55 else "train"
        for e in by_source[s]:
            e["split"] = split
        done += len(by_source[s])
    for e in events:
        e.setdefault("split", "train")
    keys = ("id", "split", "risk", "judges", "origin", "component", "format", "cloud_native", "source", "text")
    with open(os.path.join(d, "judged.jsonl"), "w", encoding="utf-8") as f:
        for e in events:
            f.write(json.dumps({k: e[k] for k in keys}, ensure_ascii=False) + "\n")
    pairs = [(e["judges"][0], e["judges"][1]) for e in events]
    origins = {}
    for e in events:
        origins.setdefault(e["origin"], []).append((e["judges"][0], e["judges"][1]))
    dist = {}
    for e in events:
        dist.setdefault(e["split"], [0] * 11)[e["risk"]] += 1
    c_pairs = [(e["judges"][2], e["risk"]) for e in events if len(e["judges"]) == 3]
    report = {
        "events": len(events),
        "cloud_native": sum(e["cloud_native"] for e in events),
        "passes_a_b": agreement(pairs),
        "per_origin": {o: agreement(v) for o, v in sorted(origins.items())},
        "third_look": {"events": len(c_pairs),
                       "third_equals_final": sum(a == b for a, b in c_pairs)},
        "labels_per_split": {s: dist[s] for s in ("train", "dev", "test") if s in dist},
        "labels_all": [sum(dist[s][r] for s in dist) for r in range(11)],
    }
    if synth:
        report["synthetic"] = synthetic_report(d, synth)
    with open(os.path.join(d, "agreement.json"), "w") as f:
        json.dump(report, f, indent=1)
    print(json.dumps({k: report[k] for k in ("events", "cloud_native", "passes_a_b", "third_look",
                                             "labels_per_split", "labels_all")}, indent=1))
    if synth:
        print(json.dumps({"synthetic": {k: report["synthetic"][k] for k in ("events", "passes_a_b", "labels")}}))


if __name__ == "__main__":
    main()
