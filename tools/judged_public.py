#!/usr/bin/env python3
"""judged_public.py — number the public lines collected for the judged corpus.

    python3 tools/judged_public.py POOL_LOCAL.jsonl RAW.jsonl... > POOL_PUBLIC.jsonl

RAW files hold {"text", "source", "component", "format"} objects, each a
real log line (or the head of a multi-line event) quoted in a public
thread, page or repository file, with its address. Drops empty texts and
texts already in the local pool or earlier in the input; gives each event an
id P<n> (in input order) and origin "public/<file stem>".
"""
import json
import os
import sys

# Components of the cloud-native stack (the kernel and systemd included):
# the corpus reports what share of its events come from them.
CLOUD_NATIVE = (
    "kube", "kubelet", "etcd", "containerd", "crio", "cri-o", "docker", "coredns", "ingress", "cert-manager",
    "calico", "cilium", "flannel", "weave", "cni", "helm", "operator", "autoscaler", "k3s", "rke", "openshift",
    "kernel", "systemd", "journald", "dmesg", "node-problem", "istio", "envoy", "linkerd", "traefik", "haproxy",
    "nginx", "prometheus", "alertmanager", "grafana", "loki", "promtail", "fluent", "vector", "postgres",
    "patroni", "mysql", "mariadb", "galera", "mongo", "redis", "elasticsearch", "opensearch", "cassandra",
    "scylla", "kafka", "rabbitmq", "nats", "zookeeper", "cnpg", "argocd", "ovn", "crictl", "etcdctl", "cortex",
)


def cloud_native(component, fmt):
    c = component.lower()
    return any(k in c for k in CLOUD_NATIVE) or fmt in ("klog", "logfmt", "cri", "json")


def main():
    seen = set()
    with open(sys.argv[1], encoding="utf-8") as f:
        for line in f:
            seen.add(json.loads(line)["text"])
    n = 0
    for path in sys.argv[2:]:
        stem = os.path.splitext(os.path.basename(path))[0]
        with open(path, encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                e = json.loads(line)
                text = e["text"].rstrip()
                if not text.strip() or text in seen:
                    continue
                seen.add(text)
                n += 1
                out = {"id": "P%05d" % n, "text": text, "origin": "public/" + stem,
                       "source": e["source"], "component": e.get("component", ""),
                       "format": e.get("format", ""),
                       "cloud_native": cloud_native(e.get("component", ""), e.get("format", ""))}
                print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
