#!/usr/bin/env python3
"""judged_pool.py — the candidate pool of the judged corpus from local logs.

    python3 tools/judged_pool.py DATA_DIR OUT.jsonl

DATA_DIR holds loghub's 2k samples (loghub/<System>/<System>_2k.log), their
corrected structured files (loghub_2k_corrected/<System>/..._corrected.csv)
and the kubelet e2e journal (k8s/kubelet_e2e_2020-03-25.log). The pool is
what the two judging passes see; it is built once and committed with the
corpus, so this script is a record of how the events were chosen:

  - loghub: per system and per ground-truth template, up to PER_TEMPLATE
    lines with distinct content, spread evenly over the template's lines;
  - kubelet journal: per masked message shape, up to 3 lines; the flag dump
    at start-up capped; the Go goroutine dump kept as one multi-line event
    (its head).

Each event: {"id", "text", "origin", "source", "component", "format"}.
Deterministic: the same files give the same pool.
"""
import csv
import json
import os
import re
import sys

PER_TEMPLATE = 4
LOGHUB_URL = "https://github.com/logpai/loghub"
K8S_URL = ("https://github.com/kubernetes/kubernetes/blob/"
           "b73a55d87976f591d876b6f55611883d44d9689c/kubelet.log")
CLOUD_NATIVE_LOGHUB = {"Linux", "Zookeeper"}  # kernel/systemd; a coordination store


def read_lines(path):
    with open(path, "rb") as f:
        data = f.read().decode("utf-8", "replace")
    return [l.rstrip("\r") for l in data.split("\n")]


def loghub(data, out):
    base = os.path.join(data, "loghub")
    for system in sorted(os.listdir(base)):
        raw = os.path.join(base, system, system + "_2k.log")
        if not os.path.isfile(raw):
            continue
        lines = read_lines(raw)
        struct = os.path.join(data, "loghub_2k_corrected", system,
                              system + "_2k.log_structured_corrected.csv")
        groups = {}
        with open(struct, newline="", encoding="utf-8", errors="replace") as f:
            for row in csv.DictReader(f):
                groups.setdefault(row["EventId"], []).append(
                    (int(row["LineId"]), row["Content"]))
        for eid in sorted(groups):
            rows = groups[eid]
            seen, uniq = set(), []
            for line_id, content in rows:
                if content not in seen:
                    seen.add(content)
                    uniq.append(line_id)
            k = min(PER_TEMPLATE, len(uniq))
            picks = [uniq[(i * len(uniq)) // k] for i in range(k)]
            for line_id in picks:
                text = lines[line_id - 1]
                out.append({
                    "text": text,
                    "origin": "loghub/" + system,
                    "source": "%s (%s/%s_2k.log line %d)" % (LOGHUB_URL, system, system, line_id),
                    "component": system,
                    "format": "plain",
                    "cloud_native": system in CLOUD_NATIVE_LOGHUB,
                })


JOURNAL = re.compile(r"^\w{3} \d+ [\d:]+ \S+ ([\w.-]+)\[\d+\]: (.*)$")
KLOG = re.compile(r"^[IWEF]\d{4} [\d:.]+\s+\d+ ([\w.]+:\d+)\] (.*)$")


def shape(msg):
    msg = re.sub(r'"[^"]*"', '"_"', msg)
    msg = re.sub(r"[0-9a-f]{8,}", "H", msg)
    return re.sub(r"\d+", "N", msg)


def kubelet(data, out):
    path = os.path.join(data, "k8s", "kubelet_e2e_2020-03-25.log")
    lines = read_lines(path)
    counts, flags = {}, 0
    i = 0
    while i < len(lines):
        text = lines[i]
        n = i + 1
        i += 1
        m = JOURNAL.match(text)
        if not m:
            continue
        unit, msg = m.group(1), m.group(2)
        if msg.startswith("SIGABRT: abort"):
            head = [text]
            while i < len(lines) and len(head) < 12:
                head.append(lines[i])
                i += 1
            while i < len(lines) and "systemd[1]" not in lines[i]:
                i += 1
            out.append({"text": "\n".join(head), "origin": "k8s/kubelet-journal",
                        "source": "%s (lines %d-%d)" % (K8S_URL, n, i),
                        "component": "kubelet", "format": "journal",
                        "cloud_native": True})
            continue
        k = KLOG.match(msg)
        key = unit + " " + (shape(k.group(1) + " " + k.group(2)) if k else shape(msg))
        if "FLAG: --" in msg:
            flags += 1
            if flags > 25:
                continue
            key = text
        counts[key] = counts.get(key, 0) + 1
        if counts[key] > 3:
            continue
        out.append({"text": text, "origin": "k8s/kubelet-journal",
                    "source": "%s (line %d)" % (K8S_URL, n),
                    "component": unit, "format": "journal", "cloud_native": True})


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: judged_pool.py DATA_DIR OUT.jsonl")
    out = []
    loghub(sys.argv[1], out)
    kubelet(sys.argv[1], out)
    seen, pool = set(), []
    for e in out:
        if e["text"] in seen or not e["text"].strip():
            continue
        seen.add(e["text"])
        pool.append(e)
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        for n, e in enumerate(pool, 1):
            e = dict(id="L%05d" % n, **e)
            f.write(json.dumps(e, ensure_ascii=False) + "\n")
    print("%d events" % len(pool), file=sys.stderr)


if __name__ == "__main__":
    main()
