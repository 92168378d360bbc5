/*
 * k8smeta.c — pod, namespace, container and container id from the path of
 * a kubelet container log (the shapes are in k8smeta.h).
 *
 * Design
 *  - Pure string work on the path the agent opened: the symlink's own name
 *    under /var/log/containers carries the most (the id too), and the
 *    kubelet never renames it while the container lives.
 *  - Strict: every part must be non-empty, fit its Kubernetes length limit
 *    and hold only the characters Kubernetes allows (a namespace with
 *    dashes, a StatefulSet pod "web-0", a Job pod "job-x-7k2qd"); anything
 *    else is "no metadata" rather than a guess.
 */
#include "k8smeta.h"

#include <string.h>

#include "rules.h"

/* [a-z0-9.-]* (DNS subdomain characters), non-empty, < cap. */
static int dns_ok(const char *s, size_t n, size_t cap, int dots) {
    if (n == 0 || n >= cap) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || (dots && c == '.'))) return 0;
    }
    return 1;
}

static void put(char *dst, const char *s, size_t n) {
    memcpy(dst, s, n);
    dst[n] = '\0';
}

/* <pod>_<namespace>_<container>-<64 id>.log */
static int parse_containers(const char *name, size_t n, lr__k8s_meta *m) {
    if (n < 4 || memcmp(name + n - 4, ".log", 4) != 0) return 0;
    n -= 4;
    if (n < 64 + 1) return 0;
    const char *id = name + n - 64;
    if (id[-1] != '-' || !dns_ok(id, 64, 65, 0)) return 0;
    for (size_t i = 0; i < 64; i++)
        if (id[i] == '-') return 0;
    size_t rest = n - 65; /* pod_namespace_container */
    const char *u1 = memchr(name, '_', rest);
    if (!u1) return 0;
    const char *u2 = memchr(u1 + 1, '_', rest - (size_t)(u1 + 1 - name));
    if (!u2) return 0;
    size_t pod_n = (size_t)(u1 - name), ns_n = (size_t)(u2 - u1 - 1), c_n = rest - (size_t)(u2 + 1 - name);
    if (!dns_ok(name, pod_n, sizeof m->pod, 1) || !dns_ok(u1 + 1, ns_n, sizeof m->ns, 0) ||
        !dns_ok(u2 + 1, c_n, sizeof m->container, 0))
        return 0;
    put(m->pod, name, pod_n);
    put(m->ns, u1 + 1, ns_n);
    put(m->container, u2 + 1, c_n);
    put(m->container_id, id, 64);
    return 1;
}

/* <namespace>_<pod>_<uid>/<container>/<n>.log, given the three components. */
static int parse_pods(const char *dir, size_t dir_n, const char *cont, size_t cont_n, const char *file,
                      size_t file_n, lr__k8s_meta *m) {
    if (file_n < 5 || memcmp(file + file_n - 4, ".log", 4) != 0) return 0;
    for (size_t i = 0; i + 4 < file_n; i++)
        if (file[i] < '0' || file[i] > '9') return 0;
    const char *u1 = memchr(dir, '_', dir_n);
    if (!u1) return 0;
    const char *u2 = memchr(u1 + 1, '_', dir_n - (size_t)(u1 + 1 - dir));
    if (!u2) return 0;
    size_t ns_n = (size_t)(u1 - dir), pod_n = (size_t)(u2 - u1 - 1), uid_n = dir_n - (size_t)(u2 + 1 - dir);
    if (!dns_ok(dir, ns_n, sizeof m->ns, 0) || !dns_ok(u1 + 1, pod_n, sizeof m->pod, 1) ||
        !dns_ok(u2 + 1, uid_n, 64, 0) || !dns_ok(cont, cont_n, sizeof m->container, 0))
        return 0;
    put(m->ns, dir, ns_n);
    put(m->pod, u1 + 1, pod_n);
    put(m->container, cont, cont_n);
    m->container_id[0] = '\0';
    return 1;
}

int lr__k8s_meta_parse(const char *path, lr__k8s_meta *m) {
    memset(m, 0, sizeof *m);
    size_t n = strlen(path);
    /* the last three components: a/b/c */
    const char *comp[3] = {NULL, NULL, NULL};
    size_t len[3] = {0, 0, 0};
    size_t end = n;
    for (int k = 2; k >= 0; k--) {
        size_t start = end;
        while (start > 0 && path[start - 1] != '/') start--;
        comp[k] = path + start;
        len[k] = end - start;
        if (start == 0) break;
        end = start - 1;
    }
    if (parse_containers(comp[2], len[2], m)) return 1;
    memset(m, 0, sizeof *m);
    if (comp[0] && comp[1] && parse_pods(comp[0], len[0], comp[1], len[1], comp[2], len[2], m)) return 1;
    memset(m, 0, sizeof *m);
    return 0;
}

static int put_member(lr__buf *b, const char *key, const char *val) {
    if (lr__buf_printf(b, ",\"%s\":", key)) return LR_ENOMEM;
    return lr__buf_put_json_string(b, val, strlen(val)); /* [a-z0-9.-] only */
}

int lr__k8s_meta_json(const char *path, lr__buf *b) {
    lr__buf fixed;
    lr__buf_init(&fixed);
    int rc = lr__utf8_repair(&fixed, path, strlen(path));
    if (!rc) rc = lr__buf_puts(b, "\"file\":");
    if (!rc) rc = lr__buf_put_json_string(b, fixed.data ? fixed.data : "", fixed.len);
    lr__buf_free(&fixed);
    lr__k8s_meta m;
    if (!rc && lr__k8s_meta_parse(path, &m)) {
        rc = put_member(b, "pod", m.pod);
        if (!rc) rc = put_member(b, "namespace", m.ns);
        if (!rc) rc = put_member(b, "container", m.container);
        if (!rc && m.container_id[0]) rc = put_member(b, "container_id", m.container_id);
    }
    return rc ? LR_ENOMEM : 0;
}
