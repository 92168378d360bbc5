/*
 * k8smeta.h — Kubernetes metadata read from the path of a container log,
 * as the kubelet names them (no API server, no network):
 *
 *   /var/log/containers/<pod>_<namespace>_<container>-<container id>.log
 *       (a symlink into /var/log/pods; the id is 64 [a-z0-9])
 *   /var/log/pods/<namespace>_<pod>_<pod uid>/<container>/<restart>.log
 *       (no container id in the path)
 *
 * Pod, namespace and container names cannot hold '_' (they are DNS
 * labels or subdomains), which is what makes the split unambiguous; a
 * container name may hold '-', so the id is the 64 characters after the
 * last '-'. A path of neither shape has no metadata.
 */
#ifndef LR_K8SMETA_H
#define LR_K8SMETA_H

#include <stddef.h>

#include "util.h"

typedef struct lr__k8s_meta {
    char pod[254];           /* a DNS subdomain: at most 253 characters      */
    char ns[64];             /* a DNS label: at most 63                      */
    char container[64];
    char container_id[65];   /* "" for /var/log/pods paths                   */
} lr__k8s_meta;

/* Parse `path` (as the agent found it, not the symlink's target). Returns 1
 * and fills *m for either shape above, 0 (and *m emptied) otherwise. Only
 * the last one (containers) or three (pods) components are read, so the
 * directory may live anywhere (a copy of /var/log in a test tree). */
int lr__k8s_meta_parse(const char *path, lr__k8s_meta *m);

/* Append the JSON object members (no braces) for a file to b:
 *   "file":"<path>"[,"pod":..,"namespace":..,"container":..[,"container_id":..]]
 * the Kubernetes members only when the path parses. The path is written as
 * JSON with invalid UTF-8 bytes replaced. 0 or LR_ENOMEM. */
int lr__k8s_meta_json(const char *path, lr__buf *b);

#endif /* LR_K8SMETA_H */
