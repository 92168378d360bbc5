#!/usr/bin/env python3
"""Writes models/data/k8s_extra.log: realistic Kubernetes node / cluster log
lines for the default model's training data (docs/training.md).

Why generated: the public logs (loghub, the kubelet e2e journal) hold almost
no high-risk lines (risk >= 7 is < 0.2 % of them), so a model trained on
them alone never sees an OOM kill, a full disk, an expired certificate or a
Go panic. Each template below is a line as the component really prints it
(kubelet, apiserver, scheduler, controller-manager, etcd, containerd,
CoreDNS, ingress-nginx, cert-manager, the kernel, systemd, applications),
with the variable parts (pods, namespaces, nodes, addresses, numbers,
durations) drawn from a seeded RNG so the file is the same on every run:

    python3 models/data/gen_k8s_extra.py > models/data/k8s_extra.log

The weak labels come later from models/rules/k8s.yaml; the templates were
chosen so every risk level 0..10 occurs. Python standard library only.
"""
import random
import sys

R = random.Random(20261122)

NS = ["default", "kube-system", "payments", "checkout", "monitoring", "ingress-nginx",
      "cert-manager", "search", "auth", "data-pipeline", "staging", "ml-serving"]
APPS = ["api-gateway", "checkout", "payments-worker", "cart", "user-svc", "search-indexer",
        "redis", "postgres", "kafka", "zookeeper", "prometheus", "grafana", "loki",
        "orders", "billing", "inventory", "notifier", "web-frontend", "coredns", "fluent-bit"]
IMAGES = ["registry.example.com/shop/checkout", "docker.io/library/nginx", "quay.io/prometheus/node-exporter",
          "ghcr.io/acme/payments", "registry.k8s.io/pause", "docker.io/bitnami/redis",
          "gcr.io/acme-prod/search-indexer", "registry.example.com/ml/model-server"]
NODES = ["ip-10-0-%d-%d.ec2.internal", "gke-prod-pool-1-%x%x", "worker-%d%d", "node-%d-%d"]
ALNUM = "bcdfghjklmnpqrstvwxz2456789"
MON = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
PROCS = ["java", "python3", "node", "postgres", "redis-server", "ruby", "dotnet", "envoy", "mysqld"]
DEVS = ["sda1", "nvme0n1p1", "nvme1n1", "xvda1", "dm-0", "sdb"]
DOMAINS = ["api.example.com", "shop.example.com", "auth.internal.example.com", "grafana.example.org",
           "payments.example.net", "search.example.com"]


def pick(xs):
    return R.choice(xs)


def node():
    t = pick(NODES)
    return t % tuple(R.randint(1, 15) if "%d" in t else R.randint(0, 15) for _ in range(t.count("%")))


def suffix(n):
    return "".join(R.choice(ALNUM) for _ in range(n))


def pod(app=None):
    return "%s-%s-%s" % (app or pick(APPS), suffix(R.choice([9, 10])), suffix(5))


def ip():
    return "10.%d.%d.%d" % (R.randint(0, 255), R.randint(0, 255), R.randint(1, 254))


def klog(sev):
    return "%s%02d%02d %02d:%02d:%02d.%06d %7d %s] " % (
        sev, R.randint(1, 12), R.randint(1, 28), R.randint(0, 23), R.randint(0, 59), R.randint(0, 59),
        R.randint(0, 999999), R.randint(1, 99999),
        pick(["kubelet.go:%d", "pod_workers.go:%d", "prober.go:%d", "kuberuntime_manager.go:%d",
              "scheduler.go:%d", "controller.go:%d", "reflector.go:%d", "event.go:%d",
              "eviction_manager.go:%d", "server.go:%d", "operation_generator.go:%d"]) % R.randint(40, 2900))


def iso():
    return "2026-%02d-%02dT%02d:%02d:%02d.%03dZ" % (R.randint(1, 12), R.randint(1, 28), R.randint(0, 23),
                                                   R.randint(0, 59), R.randint(0, 59), R.randint(0, 999))


def syslog(proc):
    pid = "[%d]" % R.randint(100, 65000) if proc not in ("kernel",) else ""
    return "%s %2d %02d:%02d:%02d %s %s%s: " % (pick(MON), R.randint(1, 28), R.randint(0, 23), R.randint(0, 59),
                                              R.randint(0, 59), node(), proc, pid)


def kern():
    return syslog("kernel") + "[%d.%06d] " % (R.randint(100, 9000000), R.randint(0, 999999))


def dur():
    return pick(["%dms" % R.randint(1, 999), "%d.%03ds" % (R.randint(1, 59), R.randint(0, 999)),
                 "%dm%ds" % (R.randint(1, 30), R.randint(0, 59))])


def F(**kw):
    """The variable parts one template may use, fresh for each line."""
    a = pick(APPS)
    d = dict(ns=pick(NS), app=a, pod=pod(a), node=node(), ip=ip(), ip2=ip(), port=pick([80, 443, 8080, 9090, 5432, 6379, 2379, 53, 3000]),
             n=R.randint(2, 64), big=R.randint(1000, 900000), pct=R.randint(85, 99), img=pick(IMAGES),
             tag="v%d.%d.%d" % (R.randint(0, 3), R.randint(0, 30), R.randint(0, 9)), dur=dur(),
             ms=R.randint(100, 9999), pid=R.randint(200, 60000), proc=pick(PROCS), dev=pick(DEVS),
             dom=pick(DOMAINS), ts=iso(), uid="%08x-%04x-%04x-%04x-%012x" % (R.getrandbits(32), R.getrandbits(16), R.getrandbits(16), R.getrandbits(16), R.getrandbits(48)),
             mb=R.randint(64, 16384), cid=("%016x" % R.getrandbits(64)) * 4, rev=R.randint(100000, 9999999),
             code=pick([500, 502, 503, 504]), mem=R.randint(100000, 16000000))
    d.update(kw)
    return d


# (prefix builder, message template). Prefixes decide the level the rules
# see: klog letters, logfmt level=, JSON "level", syslog priorities, plain
# syslog with a level word, or no level at all.
def K(sev, msg):
    return lambda f: klog(sev) + msg.format(**f)


def J(proc, msg):
    return lambda f: syslog(proc) + msg.format(**f)


def JK(proc, sev, msg):
    return lambda f: syslog(proc) + klog(sev) + msg.format(**f)


def P(msg):
    return lambda f: msg.format(**f)


def KN(msg):
    return lambda f: kern() + msg.format(**f)


T = [
    # ---- trace / debug (risk 0-1)
    P('time="{ts}" level=trace msg="watch event received" resource=pods namespace={ns} name={pod}'),
    P('{{"level":"trace","ts":"{ts}","logger":"controller-runtime","msg":"reconcile start","namespace":"{ns}","name":"{app}"}}'),
    P('{{"level":10,"time":"{ts}","name":"{app}","msg":"entering handler GET /healthz"}}'),
    P('time="{ts}" level=trace msg="cache lookup" key="{ns}/{app}" hit=true'),
    P('{ts} TRACE [{app}] span finished trace_id={cid} duration={dur}'),
    P('time="{ts}" level=debug msg="received TaskExit event" container_id={cid} pid={pid}'),
    P('{{"level":"debug","ts":"{ts}","caller":"cache/reflector.go:{big}","msg":"listing and watching","resource":"*v1.Pod"}}'),
    P('[DEBUG] {ts} coredns plugin/cache: serving {dom}. A from cache ttl={n}'),
    P('{ts} DEBUG [{app}] connection pool stats: active={n} idle={n} waiting=0'),
    P('{{"level":20,"time":"{ts}","name":"{app}","msg":"query executed","rows":{n},"ms":{ms}}}'),
    P('level=debug ts={ts} caller=scrape.go:{big} component="scrape manager" msg="Scrape target" target=http://{ip}:{port}/metrics'),
    # ---- info (risk 2), incl. noise that the probes rule pushes down
    K("I", 'Successfully pulled image "{img}:{tag}" in {dur} (image size {big} bytes)'),
    K("I", 'Created container {app} in pod "{pod}_{ns}({uid})"'),
    K("I", 'SyncLoop (PLEG): event for pod "{ns}/{pod}" event={{ID:{uid} Type:ContainerStarted}}'),
    K("I", 'Started container {app} in pod "{ns}/{pod}"'),
    K("I", 'Successfully assigned {ns}/{pod} to {node}'),
    K("I", 'Event occurred object="{ns}/{app}" kind="Deployment" reason="ScalingReplicaSet" message="Scaled up replica set {app}-{rev} to {n}"'),
    K("I", 'Probe succeeded probeType="Readiness" pod="{ns}/{pod}" containerName="{app}"'),
    K("I", 'Probe succeeded probeType="Liveness" pod="{ns}/{pod}" containerName="{app}"'),
    K("I", 'Caches are synced for endpoint slice config'),
    K("I", 'Finished syncing deployment "{ns}/{app}" ({dur})'),
    K("I", 'HTTP" verb="GET" URI="/api/v1/namespaces/{ns}/pods?limit=500" latency="{dur}" userAgent="kubectl/{tag}" audit-ID="{uid}" srcIP="{ip}:{big}" resp=200'),
    P('time="{ts}" level=info msg="starting containerd" revision={cid} version={tag}'),
    P('time="{ts}" level=info msg="StartContainer for \\"{cid}\\" returns successfully"'),
    P('{{"level":"info","ts":"{ts}","caller":"etcdserver/server.go:{big}","msg":"saved snapshot","snapshot-index":{rev}}}'),
    P('{{"level":"info","ts":"{ts}","logger":"cert-manager.controller","msg":"certificate issued successfully","resource_name":"{app}-tls","resource_namespace":"{ns}"}}'),
    P('[INFO] {ip}:{big} - {n} "A IN {dom}. udp {n} false 512" NOERROR qr,aa,rd {n} {dur}'),
    P('{ip} - - [22/Nov/2026:10:{n}:{n} +0000] "GET /api/v1/items?page={n} HTTP/1.1" 200 {big} "-" "Mozilla/5.0" {n} 0.0{n} [{ns}-{app}-{port}] [] {ip2}:{port} {big} 0.0{n} 200 {cid}'),
    J("systemd", 'Started {app}.service - {app} daemon.'),
    J("systemd", 'Reached target multi-user.target - Multi-User System.'),
    J("containerd", 'time="{ts}" level=info msg="RunPodSandbox for &PodSandboxMetadata{{Name:{pod},Uid:{uid},Namespace:{ns},Attempt:0,}}"'),
    P('{ts} INFO [{app}] request completed method=GET path=/v1/orders status=200 duration={dur}'),
    P('{{"level":30,"time":"{ts}","name":"{app}","msg":"listening on port {port}"}}'),
    # ---- notice / no level (risk 3)
    J("systemd", 'Starting {app}.service - {app} daemon...'),
    J("sshd", 'Accepted publickey for deploy from {ip} port {big} ssh2: ED25519 SHA256:x{cid}'),
    KN('eth0: renamed from veth{cid}'),
    KN('IPv6: ADDRCONF(NETDEV_CHANGE): cali{pid}: link becomes ready'),
    P('time="{ts}" level=notice msg="configuration reloaded" file=/etc/{app}/config.yaml'),
    J("dockerd", 'Pulling fs layer {cid}'),
    # ---- warn (risk 4-5)
    P('time="{ts}" level=warn msg="cleanup warnings time=\\"{ts}\\" msg=\\"failed to remove runc container\\""'),
    P('{ts} WARN [{app}] slow query took {ms} ms: SELECT * FROM orders WHERE customer_id = ?'),
    P('{{"level":"warn","ts":"{ts}","caller":"etcdserver/util.go:{big}","msg":"slow fdatasync","took":"{dur}","expected-duration":"1s"}}'),
    K("W", 'Unable to update cni config: no networks found in /etc/cni/net.d'),
    K("W", 'Nameserver limits exceeded, some nameservers have been omitted, the applied nameserver line is: {ip} {ip2}'),
    K("W", 'Reflector ListAndWatch ended with: too old resource version: {rev} ({rev})'),
    K("W", 'Using deprecated annotation kubernetes.io/ingress.class in Ingress "{ns}/{app}", please use spec.ingressClassName'),
    P('{{"level":40,"time":"{ts}","name":"{app}","msg":"retrying request to payment provider","attempt":{n}}}'),
    P('{ts} WARNING [{app}] disk usage on /var/lib/kubelet at {pct}%'),
    # ---- warn + trouble (risk 6-7)
    K("W", 'Readiness probe failed: Get "http://{ip}:{port}/ready": dial tcp {ip}:{port}: connect: connection refused'),
    K("W", 'Liveness probe failed: HTTP probe failed with statuscode: {code} pod="{ns}/{pod}"'),
    K("W", 'Failed to pull image "{img}:{tag}": rpc error: code = Unknown desc = context deadline exceeded'),
    K("W", 'pod {ns}/{pod} evicted: The node was low on resource: memory'),
    K("W", 'Error syncing pod {uid} ("{pod}_{ns}({uid})"), skipping: failed to "StartContainer" for "{app}" with CrashLoopBackOff: "back-off {dur} restarting failed container={app} pod={pod}_{ns}({uid})"'),
    K("W", 'Unable to attach or mount volumes: unmounted volumes=[data], unattached volumes=[data kube-api-access-{app}]: timed out waiting for the condition'),
    P('{ts} WARNING [{app}] upstream {ip}:{port} connection timed out, retrying'),
    P('time="{ts}" level=warning msg="failed to pull image" image="{img}:{tag}" error="failed to pull image: i/o timeout"'),
    # ---- error (risk 6-9)
    K("E", 'Error syncing pod {uid} ("{pod}_{ns}({uid})"), skipping: failed to "StartContainer" for "{app}" with ImagePullBackOff: "Back-off pulling image \\"{img}:{tag}\\""'),
    K("E", 'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "{cid}": plugin type="calico" failed (add): connection refused'),
    K("E", 'Failed to update lease: Put "https://{ip}:6443/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{node}?timeout=10s": context deadline exceeded'),
    K("E", 'Unable to authenticate the request err="[x509: certificate has expired or is not yet valid: current time {ts} is after {ts}]"'),
    K("E", 'Unable to authenticate the request: x509: certificate signed by unknown authority'),
    K("E", 'Error getting node "{node}": Unauthorized'),
    K("E", 'Framework: FailedScheduling pod="{ns}/{pod}" err="0/{n} nodes are available: {n} Insufficient memory, {n} Insufficient cpu."'),
    K("E", 'MountVolume.SetUp failed for volume "pvc-{uid}" : mount failed: exit status 32: mount.nfs: Connection timed out'),
    K("E", 'PLEG is not healthy: pleg was last seen active {dur} ago; threshold is 3m0s'),
    K("E", 'Node {node} status is now: NodeNotReady'),
    K("E", 'failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "/app/server": permission denied'),
    K("E", 'Could not construct reference to: pod {ns}/{pod}: etcdserver: request timed out'),
    K("E", 'Failed to write to log, write /var/log/pods/{ns}_{pod}_{uid}/{app}/0.log: no space left on device'),
    P('{{"level":"error","ts":"{ts}","logger":"cert-manager.controller","msg":"re-queuing item due to error processing","error":"failed to perform self check GET request \'http://{dom}/.well-known/acme-challenge/x\': dial tcp {ip}:80: i/o timeout"}}'),
    P('{{"level":"error","ts":"{ts}","caller":"etcdserver/server.go:{big}","msg":"apply request took too long","took":"{dur}","expected-duration":"100ms"}}'),
    P('{{"level":"error","ts":"{ts}","msg":"rejected connection","remote-addr":"{ip}:{big}","error":"remote error: tls: bad certificate"}}'),
    P('time="{ts}" level=error msg="collecting metrics for {cid}" error="cgroups: cgroup deleted: unknown"'),
    P('time="{ts}" level=error msg="Failed to destroy network for sandbox" error="plugin type=\\"calico\\" failed (delete): error getting ClusterInformation: connection is unauthorized: Unauthorized"'),
    P('{ts} [error] {n}#{n}: *{big} upstream timed out (110: Connection timed out) while reading response header from upstream, client: {ip}, server: {dom}, request: "GET /api/v1/cart HTTP/1.1", upstream: "http://{ip2}:{port}/api/v1/cart"'),
    P('{ts} [error] {n}#{n}: *{big} no live upstreams while connecting to upstream, client: {ip}, server: {dom}'),
    P('{ip} - - [22/Nov/2026:10:{n}:{n} +0000] "POST /v1/checkout HTTP/1.1" 502 {n} "-" "okhttp/4.9.3" {n} 0.{n} [{ns}-{app}-{port}] [] {ip2}:{port} 0 0.{n} 502 {cid}'),
    P('{ip} - - [22/Nov/2026:10:{n}:{n} +0000] "GET /search?q=shoes HTTP/2.0" 504 {n} "-" "Mozilla/5.0" {n} 60.0{n} [{ns}-{app}-{port}] [] {ip2}:{port} 0 60.0{n} 504 {cid}'),
    P('{ts} ERROR [{app}] failed to connect to database postgres://{ip}:5432/orders: connection refused'),
    P('{ts} ERROR [{app}] request failed method=POST path=/v1/payments status={code} error="upstream connect error or disconnect/reset before headers. reset reason: connection termination"'),
    P('{ts} ERROR [{app}] java.lang.NullPointerException: Cannot invoke "String.length()" because "name" is null'),
    P('{ts} ERROR [{app}] Unhandled exception in worker thread, stack trace follows'),
    P('{{"level":50,"time":"{ts}","name":"{app}","msg":"ECONNRESET: connection reset by peer","host":"{ip}"}}'),
    P('Traceback (most recent call last): File "/app/worker.py", line {n}, in run -- ERROR {app} psycopg2.OperationalError: could not connect to server: Connection refused'),
    J("systemd", 'ERROR {app}.service: Main process exited, code=exited, status=1/FAILURE'),
    P('<11>1 {ts} {node} {app} {pid} - - database migration failed: relation "orders" does not exist'),
    P('<27>{ts} {node} {app}[{pid}]: failed to write checkpoint: permission denied'),
    K("E", 'RemoveContainer from runtime service failed: rpc error: code = Unknown desc = failed to remove container "{cid}": i/o error'),
    K("E", 'Failed to start ContainerManager failed to initialize top level QOS containers: root container [kubepods] doesn\'t exist'),
    # ---- disks, kernel, memory (risk 6-10)
    KN('EXT4-fs error (device {dev}): ext4_find_entry:{big}: inode #{big}: comm {proc}: reading directory lblock 0'),
    KN('EXT4-fs ({dev}): Remounting filesystem read-only'),
    KN('XFS ({dev}): metadata I/O error in "xfs_trans_read_buf_map" at daddr 0x{n}f len 8 error 5'),
    KN('blk_update_request: I/O error, dev {dev}, sector {big} op 0x0:(READ) flags 0x80700 phys_seg 1 prio class 0'),
    KN('nfs: server {ip} not responding, still trying'),
    KN('{proc} invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj={n}'),
    KN('Out of memory: Killed process {pid} ({proc}) total-vm:{mem}kB, anon-rss:{mem}kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:{big}kB oom_score_adj:{n}'),
    KN('Memory cgroup out of memory: Killed process {pid} ({proc}) total-vm:{mem}kB, anon-rss:{mem}kB'),
    KN('watchdog: BUG: soft lockup - CPU#{n} stuck for {n}s! [{proc}:{pid}]'),
    KN('INFO: task {proc}:{pid} blocked for more than 120 seconds.'),
    KN('{proc}[{pid}]: segfault at 0 ip 00007f{cid} sp 00007ffd{cid} error 4 in libc.so.6[7f{big}+{big}]'),
    KN('Call Trace: <TASK> dump_stack_lvl+0x{n}/0x{n} oom_kill_process.cold+0x{n}/0x{n}'),
    KN('Kernel panic - not syncing: Fatal exception in interrupt'),
    KN('NMI watchdog: Watchdog detected hard lockup on cpu {n}'),
    J("kubelet", 'E{n}{n} 10:0{n}:1{n}.{big} {pid} eviction_manager.go:{big}] "Eviction manager: pods evicted, waiting for pod to be cleaned up" pods=["{ns}/{pod}"] reason="DiskPressure"'),
    K("E", 'Container {app} in pod {ns}/{pod} was OOMKilled (exit code 137), restarting'),
    K("W", 'Node {node} condition DiskPressure is now True: disk pressure, available {mb}Mi of ephemeral-storage'),
    P('{{"level":"warn","ts":"{ts}","caller":"etcdserver/server.go:{big}","msg":"failed to apply request","error":"etcdserver: mvcc: database space exceeded"}}'),
    P('{{"level":"error","ts":"{ts}","caller":"etcdserver/api/v3rpc/interceptor.go:{big}","msg":"request stats","error":"etcdserver: mvcc: database space exceeded"}}'),
    P('{{"level":"warn","ts":"{ts}","msg":"etcdserver: leader changed","from":"{cid}","to":"{cid}"}}'),
    K("E", 'Unable to write event: \'Post "https://{ip}:6443/api/v1/namespaces/{ns}/events": x509: certificate has expired or is not yet valid\''),
    P('{ts} ERROR [{app}] write /data/wal/{big}.log: no space left on device'),
    P('{ts} ERROR [{app}] accept tcp [::]:{port}: accept4: too many open files; retrying in {dur}'),
    P('{ts} CRITICAL [{app}] cache node {ip} unreachable, falling back to database'),
    P('{ts} CRITICAL [{app}] replication lag {big}s exceeds limit, replica {ip} removed from pool'),
    P('{{"level":"crit","ts":"{ts}","msg":"journal write failed","error":"input/output error","device":"/dev/{dev}"}}'),
    P('<10>{ts} {node} {app}[{pid}]: raid array md0 degraded, disk failure on /dev/{dev}'),
    P('time="{ts}" level=error msg="failed to create containerd task: failed to create shim task: OCI runtime create failed" container={cid}'),
    # ---- fatal / panic (risk 9-10)
    K("F", 'failed to run Kubelet: validate service connection: CRI v1 runtime API is not implemented for endpoint "unix:///run/containerd/containerd.sock"'),
    K("F", 'Error starting kube-apiserver: unable to load server certificate: open /etc/kubernetes/pki/apiserver.crt: no such file or directory'),
    K("F", 'failed to create listener: failed to listen on 0.0.0.0:{port}: listen tcp 0.0.0.0:{port}: bind: address already in use'),
    P('{{"level":"fatal","ts":"{ts}","caller":"etcdmain/etcd.go:{big}","msg":"discovery failed","error":"couldn\'t find local name in the initial cluster configuration"}}'),
    P('{ts} FATAL [{app}] could not load configuration from /etc/{app}/app.yaml: yaml: line {n}: did not find expected key'),
    P('{{"level":60,"time":"{ts}","name":"{app}","msg":"uncaught exception, process exiting","err":"Error: EADDRINUSE"}}'),
    P('panic: runtime error: invalid memory address or nil pointer dereference'),
    P('panic: runtime error: index out of range [{n}] with length {n}'),
    P('panic: assignment to entry in nil map'),
    P('goroutine {n} [running]:'),
    P('fatal error: concurrent map writes'),
    P('fatal error: runtime: out of memory'),
    P('{{"level":"panic","ts":"{ts}","logger":"{app}","msg":"unrecoverable state in reconciler","error":"object has been modified"}}'),
    P('time="{ts}" level=panic msg="failed to open bolt database" error="timeout" path=/var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db'),
    P('{ts} PANIC [{app}] unrecoverable error in event loop: invariant violated, shutting down'),
    K("E", 'Observed a panic: "invalid memory address or nil pointer dereference" (runtime error: invalid memory address or nil pointer dereference) panic: runtime error [recovered]'),
    P('<8>{ts} {node} kernel: Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)'),
    P('{ts} EMERG [{app}] data corruption detected in segment {big}, refusing writes'),
    P('{ts} ERROR [{app}] panic: send on closed channel goroutine {n} [running]:'),
    P('{ts} CRITICAL [{app}] fatal error: all goroutines are asleep - deadlock! stack trace written to /tmp/{app}.dump'),
    K("F", 'node {node} OOM: Out of memory: Killed process {pid} ({proc}); no space left on device for core dump'),
]

PER_TEMPLATE = 6


def main():
    out = []
    for t in T:
        for _ in range(PER_TEMPLATE):
            out.append(t(F()))
    R.shuffle(out)
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
