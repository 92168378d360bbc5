#!/usr/bin/env python3
"""template_accuracy.py — an independent check of bench_templates' grouping
accuracy: loghub's evaluator (logparser's get_accuracy, written here with
the standard library only) run on the template ids the miner gives.

For each of the 14 systems of data/loghub_corrected, `bench_templates
--system S --dump` prints each message's predicted template id; this
script reads the ground-truth EventId column itself and computes

    grouping accuracy = (messages of the predicted groups whose messages
    all carry one EventId and make up that EventId's whole group) / all

then prints both numbers per system and whether they agree.

    tools/template_accuracy.py BUILD/bench/bench_templates
"""
import collections
import csv
import subprocess
import sys

SYSTEMS = ["Android", "Apache", "HDFS", "HPC", "Hadoop", "HealthApp", "Linux", "Mac", "OpenSSH", "OpenStack",
           "Proxifier", "Spark", "Windows", "Zookeeper"]


def grouping_accuracy(pred, truth):
    truth_size = collections.Counter(truth)
    groups = collections.defaultdict(list)
    for p, t in zip(pred, truth):
        groups[p].append(t)
    right = 0
    for members in groups.values():
        ids = set(members)
        if len(ids) == 1 and truth_size[members[0]] == len(members):
            right += len(members)
    return right / len(pred)


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().split("\n\n")[-1].strip(), file=sys.stderr)
        return 2
    binary = sys.argv[1]
    agree = True
    total = 0.0
    for s in SYSTEMS:
        out = subprocess.run([binary, "--system", s, "--dump"], check=True, capture_output=True, text=True,
                             errors="replace").stdout.splitlines()
        pred = [l.split("\t", 1)[0] for l in out if l.count("\t") >= 3]
        c_ga = None
        for l in out:
            f = l.split()
            if f and f[0] == s:
                c_ga = float(f[1])
        path = "data/loghub_corrected/%s/%s_2k.log_structured_corrected.csv" % (s, s)
        with open(path, encoding="utf-8", errors="replace", newline="") as f:
            truth = [r["EventId"] for r in csv.DictReader(f)]
        if len(pred) != len(truth):
            print("%s: %d predictions for %d messages" % (s, len(pred), len(truth)))
            return 1
        ga = grouping_accuracy(pred, truth)
        same = c_ga is not None and abs(ga - c_ga) < 5e-5
        agree &= same
        total += ga
        print("%-10s reference %.4f  bench_templates %.4f  %s" % (s, ga, c_ga if c_ga is not None else -1,
                                                                  "same" if same else "DIFFERENT"))
    print("average    reference %.4f; %s" % (total / len(SYSTEMS), "all agree" if agree else "THEY DIFFER"))
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
