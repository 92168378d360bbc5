#!/usr/bin/env python3
"""rules_gen_hostile.py SEED N — writes N random hostile log lines (bytes) to
stdout for the differential test of the mask scanners against Python's re
(tests/rules_parity.test.sh). The alphabet is made of the pieces the mask
patterns care about (digits, separators, hex, pid/PID/tid/TID, brackets,
slashes, level words, keywords, invalid and truncated UTF-8, NUL, CR), so
that near-misses of every pattern are common. Deterministic for a seed."""
import random
import sys

PIECES = [
    b"0", b"1", b"9", b"12", b"123", b"1234", b"2024", b"-", b"/", b":", b".", b",", b"T", b" ", b"Z",
    b"a", b"f", b"e", b"g", b"A", b"_", b"x", b"abcdef", b"0123456789ab", b"deadbeefcafe1",
    b"pid", b"PID", b"tid", b"TID", b"Pid", b"=", b"[", b"]", b"<", b">", b"\t", b"\"",
    b"2024-01-15T10:30:45", b"2024/01/15 10:30:45", b".123", b"192.168.1.100", b"10.0.0.1",
    b"1.2.3.4567", b"123e4567-e89b-12d3-a456-426614174000", b"/var/log/pods", b"/a/b", b"//",
    b"ERROR", b"WARN", b"WARNING", b"INFO", b"EMERG", b"VERBOSE", b"error", b"ERRORS",
    b"OOMKilled", b"Connection Refused", b"bug:", b"I/O error", b"NotReady", b"kernel panic",
    b"\xff", b"\xc3", b"\xc3\xa9", b"\xe2\x82", b"\xe2\x82\xac", b"\xed\xa0\x80", b"\xf0\x9f\x98",
    b"\xf0\x9f\x98\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf", b"\x80", b"\x00", b"\r", b"\x1b", b"\x7f",
    b"\\", b"\xe4\xb8\xad", b"{", b"}", b"|", b"~", b"@", b"`", b"^", b"(",
]


def main():
    seed, n = int(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        k = rng.randint(0, 24)
        out.append(b"".join(rng.choice(PIECES) for _ in range(k)))
    sys.stdout.buffer.write(b"\n".join(out) + b"\n")


if __name__ == "__main__":
    main()
