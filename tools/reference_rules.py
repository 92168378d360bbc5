#!/usr/bin/env python3
"""reference_rules.py -- the preprocess (masks and level) and weak-label
semantics of docs/rules.md written as literally as possible, Python stdlib
only.

It is the reference that `logrisk preprocess` / `logrisk label` (with the
built-in rules) are checked against byte for byte:

    tools/reference_rules.py label      [-i FILE] [--format jsonl|csv] [--input-format raw|csv --column NAME]
    tools/reference_rules.py preprocess [-i FILE] [--format jsonl|csv] [...]

Input handling (docs/rules.md and docs/cli.md): the input is read as bytes and split on
b"\\n"; a last line without a newline still counts (a final "\\n" does not
start another line); the bytes are decoded with bytes.decode("utf-8",
"replace"); preprocess() removes one trailing "\\r" (also from CSV fields).

Output: JSON Lines, json.dumps(..., ensure_ascii=False, separators=(",", ":"))
with the keys text, level_raw (and label); or CSV with a header row,
"\\n" line ends, a field quoted (quotes doubled) when it holds , " \\r or \\n,
null written as an empty field.

With --input-format csv the input is parsed by the csv module (the file
decoded as a whole with "replace") and the column NAME of each record is
the line.
"""
import argparse
import csv
import io
import json
import re
import sys

MASKS = [
    (re.compile(r"\d{4}[-/]\d{2}[-/]\d{2}[T ]\d{2}:\d{2}:\d{2}[.,]?\d*Z?", re.ASCII), "<TIME>"),
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.ASCII), "<ID>"),
    (re.compile(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b", re.ASCII), "<IP>"),
    (re.compile(r"\b[0-9a-f]{12,}\b", re.ASCII), "<ID>"),
    (re.compile(r"\b(?:pid|PID|tid|TID)[=: ]?\d+\b|\[\d+\]", re.ASCII), "<PID>"),
    (re.compile(r"(?:/[a-zA-Z0-9._-]+){3,}", re.ASCII), "<PATH>"),
]

LEVEL = re.compile(
    r"\b(TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|CRITICAL|ALERT|FATAL|PANIC|EMERG)\b", re.ASCII)

BASE = {"TRACE": 0, "DEBUG": 1, "INFO": 2, "NOTICE": 3, "VERBOSE": 3, "WARN": 4,
        "WARNING": 5, "ERROR": 6, "CRITICAL": 8, "ALERT": 8, "FATAL": 9, "PANIC": 10,
        "EMERG": 10}
NO_LEVEL = 3

KEYWORDS = [
    (2, ["crashloopbackoff", "imagepullbackoff", "back-off restarting", "node not ready",
         "notready", "evicted", "disk pressure", "oomkilled", "failed to create pod sandbox",
         "failed to create containerd task"]),
    (1, ["context deadline exceeded", "failed to pull image"]),
    (3, ["kernel panic", "bug:", "segfault", "stack trace", "i/o error",
         "read-only file system", "disk failure", "out of memory"]),
    (1, ["connection refused", "connection reset by peer", "connection timed out"]),
    (2, ["upstream timed out", "no live upstreams"]),
    (2, ["permission denied", "unauthorized", "forbidden", "authentication failed",
         "access denied"]),
]


def ascii_lower(s):
    return s.translate(ASCII_LOWER)


ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


def preprocess(line):
    """line: str (already decoded). Returns (text, level_raw)."""
    if line.endswith("\r"):
        line = line[:-1]
    m = LEVEL.search(line)
    level = m.group(1) if m else None
    text = line
    for pattern, repl in MASKS:
        text = pattern.sub(repl, text)
    return text, level


def label(text, level):
    lower = ascii_lower(text)
    bonus = 0
    for value, words in KEYWORDS:
        for w in words:
            if w in lower:
                bonus += value
    base = BASE[level] if level is not None else NO_LEVEL
    return min(10, max(0, base + min(5, bonus)))


def raw_lines(data):
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for b in lines:
        yield b.decode("utf-8", "replace")  # preprocess() removes one "\r"


def csv_lines(data, column):
    reader = csv.reader(io.StringIO(data.decode("utf-8", "replace"), newline=""))
    header = next(reader, None)
    if header is None or column not in header:
        sys.exit("reference_rules.py: no column %r" % column)
    idx = header.index(column)
    for rec in reader:
        if rec:  # blank lines between records are skipped (as logrisk does)
            yield rec[idx]


def csv_field(s):
    if s is None:
        return ""
    if any(c in s for c in ',"\r\n'):
        return '"' + s.replace('"', '""') + '"'
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("command", choices=["preprocess", "label"])
    ap.add_argument("-i", action="append", help="input file (repeat for several; outputs are concatenated)")
    ap.add_argument("-o", default="-")
    ap.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    ap.add_argument("--input-format", choices=["raw", "csv"], default="raw")
    ap.add_argument("--column", default="text")
    a = ap.parse_args()
    with_label = a.command == "label"
    out = []
    for path in a.i or ["-"]:
        data = sys.stdin.buffer.read() if path == "-" else open(path, "rb").read()
        lines = raw_lines(data) if a.input_format == "raw" else csv_lines(data, a.column)
        write(out, lines, a.format, with_label)
    dst = sys.stdout.buffer if a.o == "-" else open(a.o, "wb")
    dst.write("".join(out).encode("utf-8"))
    dst.flush()


def write(out, lines, fmt, with_label):
    if fmt == "csv":
        out.append("text,level_raw,label\n" if with_label else "text,level_raw\n")
    for line in lines:
        text, level = preprocess(line)
        if fmt == "jsonl":
            rec = {"text": text, "level_raw": level}
            if with_label:
                rec["label"] = label(text, level)
            out.append(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")
        else:
            fields = [csv_field(text), csv_field(level)]
            if with_label:
                fields.append(str(label(text, level)))
            out.append(",".join(fields) + "\n")


if __name__ == "__main__":
    main()
