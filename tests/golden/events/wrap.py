#!/usr/bin/env python3
"""wrap.py OUTDIR — writes the same events in every wrapper logrisk reads.

Each event is (level, message, error detail or None); every wrapper file
OUTDIR/<wrapper>.log holds the events in the same order, one per line, as
that logger or container runtime would write them. The events test checks
that every wrapper gives the same model input and the same scores. The
messages are hand-written examples of the risk scale (no copied data).
"""
import json
import os
import sys

MESSAGES = [
    ("Started kubelet", None),
    ("Successfully registered node node-a", None),
    ("Pulling image registry.example.com/shop/web:1.8.2", None),
    ("Readiness probe failed for pod web-7f9c8d6b5-abcde", "HTTP probe failed with statuscode: 503"),
    ("Liveness probe failed, container will be restarted", None),
    ("Back-off restarting failed container web in pod web-7f9c8d6b5-abcde", None),
    ("Failed to pull image registry.example.com/shop/web:1.8.3", "rpc error: code = NotFound"),
    ("Container web was OOMKilled", None),
    ("Node node-a status is now: NodeNotReady", None),
    ("PLEG is not healthy: pleg was last seen active 3m0s ago", None),
    ("Eviction manager: attempting to reclaim ephemeral-storage", None),
    ("failed to renew lease kube-node-lease/node-a", "context deadline exceeded"),
    ("etcdserver: request timed out", None),
    ("Unable to connect to etcd at 10.0.0.12:2379", "dial tcp 10.0.0.12:2379: connect: connection refused"),
    ("EXT4-fs error (device sda1): ext4_find_entry: reading directory lblock 0", None),
    ("Remounting filesystem read-only", None),
    ("blk_update_request: I/O error, dev nvme0n1, sector 123456", None),
    ("Kernel panic - not syncing: Fatal exception", None),
    ("cache hit for key user:42", None),
    ("health check ok", None),
    ("request served in 12ms", None),
    ("client cancelled the request", "context canceled"),
    ("failed to list *v1.Pod", "the server could not find the requested resource"),
    ("certificate rotation started", None),
    ("x509: certificate has expired or is not yet valid", None),
    ("Failed to create pod sandbox", "failed to setup network for sandbox: plugin type=calico failed"),
    ("database failover initiated, replica lag 300s", None),
    ("disk full on /var/lib/postgresql/data", None),
    ("authentication failed for user admin from 203.0.113.7", None),
    ("webhook validate.example.com failing open", "Post https://validate.example.com: timeout"),
    ("scaled deployment web from 3 to 5 replicas", None),
    ("garbage collection freed 120MB", None),
    ("hung task kworker/0:1 blocked for more than 120 seconds", None),
]
LEVELS = ["INFO", "WARN", "ERROR"]
KLOG = {"INFO": "I", "WARN": "W", "ERROR": "E"}
PYTHON = {"INFO": "INFO", "WARN": "WARNING", "ERROR": "ERROR"}
SYSLOG = {"INFO": 6, "WARN": 4, "ERROR": 3}
BUNYAN = {"INFO": 30, "WARN": 40, "ERROR": 50}
TS = "2024-03-11T08:00:01.102Z"


def text(msg, err):
    return msg if err is None else msg + ": " + err


def goq(s):
    return json.dumps(s)  # Go's strconv.Quote agrees with JSON on these texts


def wrappers(level, msg, err):
    low = level.lower()
    zap = {"level": low, "ts": 1710144001.102, "caller": "kubelet/kubelet.go:1234", "msg": msg}
    logrus = {"level": "warning" if level == "WARN" else low, "msg": msg, "time": TS}
    slog = {"time": TS, "level": level, "msg": msg}
    bunyan = {"name": "api", "hostname": "node-a", "pid": 42, "level": BUNYAN[level], "msg": msg, "time": TS, "v": 0}
    if err is not None:
        zap["error"] = err
        logrus["error"] = err
        slog["err"] = err
        bunyan["err"] = {"message": err, "name": "Error"}
    logfmt = 'time=%s level=%s msg=%s' % (TS, low, goq(msg)) + ("" if err is None else " err=%s" % goq(err))
    klog = '%s0311 08:00:01.102345    1187 kubelet.go:1234] %s' % (KLOG[level], goq(msg)) + \
        ("" if err is None else " err=%s" % goq(err)) + ' node="node-a"'
    zap_s = json.dumps(zap)
    return {
        "plain": "%s %s" % (level, text(msg, err)),
        "klog": klog,
        "logfmt": logfmt,
        "zap": zap_s,
        "logrus": json.dumps(logrus),
        "slog": json.dumps(slog),
        "bunyan": json.dumps(bunyan),
        "rfc5424": "<%d>1 %s node-a kubelet 1187 - - %s" % (8 + SYSLOG[level], TS, text(msg, err)),
        "rfc3164": "<%d>Mar 11 08:00:01 node-a kubelet[1187]: %s" % (8 + SYSLOG[level], text(msg, err)),
        "journal_klog": "Mar 11 08:00:01 node-a kubelet[1187]: " + klog,
        "log4j": "2024-03-11 08:00:01,102 [main] %-5s com.example.Kubelet - %s" % (level, text(msg, err)),
        "python": "2024-03-11 08:00:01,102 - kubelet - %s - %s" % (PYTHON[level], text(msg, err)),
        "cri_zap": "2024-03-11T08:00:01.102345678Z stderr F " + zap_s,
        "cri_klog": "2024-03-11T08:00:01.102345678Z stderr F " + klog,
        "docker_zap": json.dumps({"log": zap_s + "\n", "stream": "stderr", "time": TS}),
        "docker_logfmt": json.dumps({"log": logfmt + "\n", "stream": "stdout", "time": TS}),
        "compose_plain": "kubelet-1  | %s %s" % (level, text(msg, err)),
        "compose_zap": "api_1     | " + zap_s,
        "foreman_logfmt": "08:00:01 web.1  | " + logfmt,
        "kubectl_prefix_klog": "[pod/kubelet-7f9c8d6b5-abcde/kubelet] " + klog,
        "python_mdc": "2024-03-11 08:00:01,102 - kubelet - %s - - - %s" % (PYTHON[level], text(msg, err)),
    }


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    files = {}
    for level in LEVELS:
        for msg, err in MESSAGES:
            for name, line in wrappers(level, msg, err).items():
                files.setdefault(name, []).append(line)
    for name, lines in files.items():
        with open(os.path.join(out, name + ".log"), "w") as f:
            f.write("\n".join(lines) + "\n")


main()
