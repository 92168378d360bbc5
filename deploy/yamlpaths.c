/*
 * yamlpaths.c — print every scalar of a YAML stream as one line
 * "PATH=VALUE", so a shell test can check a Kubernetes manifest with grep
 * (the CI machine may have no Python YAML module; libyaml is a build
 * dependency anyway):
 *
 *     cc -o yamlpaths deploy/yamlpaths.c -lyaml
 *     ./yamlpaths < deploy/daemonset.yaml
 *     0.kind=DaemonSet
 *     0.spec.template.spec.containers.0.args.1=--follow
 *     ...
 *
 * The path starts with the document's index; mapping keys and sequence
 * indexes are joined with '.'. A syntax error is one line on stderr and
 * exit status 1. Anchors and aliases are not expanded (a manifest has
 * none). Nesting deeper than 64 is refused.
 */
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#define MAX_DEPTH 64

typedef struct level {
    int is_map;       /* 1 mapping, 0 sequence */
    int index;        /* sequence: next index */
    int want_key;     /* mapping: the next scalar is a key */
    size_t path_len;  /* the path's length at this level */
} level;

int main(void) {
    yaml_parser_t p;
    yaml_event_t ev;
    static char path[8192];
    level st[MAX_DEPTH];
    int depth = 0, doc = -1, rc = 0;
    size_t len = 0;
    if (!yaml_parser_initialize(&p)) return 1;
    yaml_parser_set_input_file(&p, stdin);
    for (;;) {
        if (!yaml_parser_parse(&p, &ev)) {
            fprintf(stderr, "yamlpaths: line %lu: %s\n", (unsigned long)p.problem_mark.line + 1,
                    p.problem ? p.problem : "syntax error");
            rc = 1;
            break;
        }
        yaml_event_type_t t = ev.type;
        if (t == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (t == YAML_DOCUMENT_START_EVENT) {
            doc++;
            len = (size_t)snprintf(path, sizeof path, "%d", doc);
            depth = 0;
        }
        /* the name of a value inside the current collection */
        int is_value = t == YAML_SCALAR_EVENT || t == YAML_MAPPING_START_EVENT || t == YAML_SEQUENCE_START_EVENT;
        if (is_value && depth > 0) {
            level *l = &st[depth - 1];
            len = l->path_len;
            if (l->is_map && l->want_key) {
                if (t != YAML_SCALAR_EVENT) {
                    fprintf(stderr, "yamlpaths: line %lu: a key that is not a scalar\n",
                            (unsigned long)ev.start_mark.line + 1);
                    rc = 1;
                    yaml_event_delete(&ev);
                    break;
                }
                l->want_key = 0;
                int n = snprintf(path + len, sizeof path - len, ".%s", (const char *)ev.data.scalar.value);
                if (n < 0 || (size_t)n >= sizeof path - len) {
                    rc = 1;
                    yaml_event_delete(&ev);
                    break;
                }
                /* remember the key: the value comes next */
                l->index = (int)(len + (size_t)n); /* the path length with the key */
                yaml_event_delete(&ev);
                continue;
            }
            if (l->is_map) {
                len = (size_t)l->index;
                l->want_key = 1;
            } else {
                int n = snprintf(path + len, sizeof path - len, ".%d", l->index++);
                if (n < 0 || (size_t)n >= sizeof path - len) {
                    rc = 1;
                    yaml_event_delete(&ev);
                    break;
                }
                len += (size_t)n;
            }
        }
        if (t == YAML_SCALAR_EVENT) {
            path[len] = '\0';
            printf("%s=%s\n", path, (const char *)ev.data.scalar.value);
        } else if (t == YAML_MAPPING_START_EVENT || t == YAML_SEQUENCE_START_EVENT) {
            if (depth == MAX_DEPTH) {
                fprintf(stderr, "yamlpaths: nesting deeper than %d\n", MAX_DEPTH);
                rc = 1;
                yaml_event_delete(&ev);
                break;
            }
            st[depth].is_map = t == YAML_MAPPING_START_EVENT;
            st[depth].index = 0;
            st[depth].want_key = 1;
            st[depth].path_len = len;
            depth++;
        } else if (t == YAML_MAPPING_END_EVENT || t == YAML_SEQUENCE_END_EVENT) {
            depth--;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    return rc;
}
