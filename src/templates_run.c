/*
 * templates_run.c — the `logrisk templates` job (lr_templates_stream):
 * events in (the record and event layer, the formats and multi-line groups
 * of score), each event's message masked with the rules and given its
 * template by the miner (src/templates.c), one JSON line out per event;
 * optionally every event also counted by the rate detector (src/rates.c),
 * whose alerts go to their own JSONL stream.
 *
 * Event time for the rates: the event's time as written, parsed by
 * lr_time_parse; forms without a year take the year of the first event
 * that had one, else the current year (UTC). The first event decides:
 * when it has no readable time, windows are counts of events.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "rates.h"
#include "templates.h"
#include "util.h"

void lr_templates_opts_init(lr_templates_opts *o) {
    memset(o, 0, sizeof *o);
    lr_miner_opts_init(&o->miner);
    lr_rates_opts_init(&o->rates);
    o->format = LR_REC_AUTO;
    o->multiline = 1;
}

typedef struct sink {
    FILE *out;
    lr__buf buf;
    uint64_t n;
} sink;

static int alert_out(void *user, const lr_rate_alert *a, lr_error *err) {
    sink *s = user;
    size_t n = lr_rate_alert_json(a, NULL, 0);
    lr__buf_clear(&s->buf);
    if (!n || lr__buf_reserve(&s->buf, n + 2)) return lr__err(err, LR_ENOMEM, "out of memory writing an alert");
    lr_rate_alert_json(a, s->buf.data, n + 1);
    s->buf.data[n] = '\n';
    if (fwrite(s->buf.data, 1, n + 1, s->out) != n + 1 || fflush(s->out))
        return lr__err(err, LR_EIO, "cannot write the alerts: %s", strerror(errno));
    s->n++;
    return LR_OK;
}

/* The value at a dotted path of a JSON object, or NULL. */
static const lr__json *at_path(const lr__json *v, const char *p) {
    while (v && *p) {
        const char *dot = strchr(p, '.');
        size_t kl = dot ? (size_t)(dot - p) : strlen(p);
        v = lr__json_getn(v, p, kl);
        if (!dot) break;
        p = dot + 1;
    }
    return v;
}

/* Fields `--entity auto` tries, in order, in a JSON record. */
static const char *const auto_fields[] = {"kubernetes.pod_name", "kubernetes.pod.name", "pod", "pod_name",
                                          "host.name", "hostname", "host", "_HOSTNAME", "kubernetes.host", NULL};

/* The entity of an event: its source, its host (the syslog HOSTNAME or a
 * JSON record's host field, lr_event.host), the first of auto_fields and
 * else its host, or a dotted path into its JSON record (cut at cap
 * bytes). */
static void entity_of(const lr_event *ev, const char *spec, char *held, size_t cap, const char **e, size_t *n) {
    *e = "";
    *n = 0;
    if (!spec) return;
    if (strcmp(spec, "source") == 0) {
        *e = ev->source ? ev->source : "";
        *n = ev->source ? ev->source_len : 0;
        return;
    }
    int is_auto = strcmp(spec, "auto") == 0;
    if (strcmp(spec, "host") == 0 || (is_auto && (!ev->record || !ev->record_len))) {
        *e = ev->host ? ev->host : "";
        *n = ev->host ? LR_MIN(ev->host_len, cap) : 0;
        return;
    }
    if (!ev->record || !ev->record_len) return;
    lr__json_doc *doc = lr__json_parse(ev->record, ev->record_len, 0, NULL);
    if (!doc) return;
    const lr__json *v = NULL;
    if (strcmp(spec, "auto") == 0) {
        for (int i = 0; auto_fields[i] && !(v && v->type == LR_JSON_STRING); i++)
            v = at_path(lr__json_root(doc), auto_fields[i]);
    } else {
        v = at_path(lr__json_root(doc), spec);
    }
    if (v && v->type == LR_JSON_STRING) {
        size_t sl = v->len > cap ? cap : v->len;
        memcpy(held, v->str, sl);
        *e = held;
        *n = sl;
    } else if (is_auto && ev->host) {
        *e = ev->host;
        *n = LR_MIN(ev->host_len, cap);
    }
    lr__json_free(doc);
}

static int fail_write(lr_error *err) { return lr__err(err, LR_EIO, "cannot write the output: %s", strerror(errno)); }

int lr_templates_stream(const lr_templates_opts *o, int in_fd, FILE *out, lr_templates_stats *stats,
                        lr_error *err) {
    lr_templates_stats st;
    memset(&st, 0, sizeof st);
    int rc = LR_OK;
    lr_rules *rules = NULL;
    lr_prep *prep = NULL;
    lr_miner *m = NULL;
    lr_records *recs = NULL;
    lr_events *evs = NULL;
    lr_rates *rates = NULL;
    sink as = {o->alerts, {0}, 0};
    lr__buf line;
    lr__buf_init(&line);
    lr__buf_init(&as.buf);

    if (o->state_path && access(o->state_path, F_OK) == 0) {
        if (!(m = lr_miner_load(o->state_path, err))) goto fail;
    } else if (o->match_only) {
        rc = lr__err(err, LR_EINVAL, "match-only needs a state file of templates (%s)",
                     o->state_path ? "it does not exist" : "none given");
        goto done;
    } else if (!(m = lr_miner_new(&o->miner, err))) {
        goto fail;
    }
    if (!(rules = o->rules_path ? lr_rules_load(o->rules_path, err) : lr_rules_default(err))) goto fail;
    if (!(prep = lr_prep_new(rules, err))) goto fail;
    lr_records_opts ro;
    lr_records_opts_init(&ro);
    ro.format = o->format;
    ro.field = o->field;
    ro.column = o->column;
    if (!(recs = lr_records_new(in_fd, &ro, err))) goto fail;
    lr_events_opts eo;
    lr_events_opts_init(&eo);
    eo.multiline = o->multiline;
    eo.field = o->field;
    if (!(evs = lr_events_new(recs, &eo, err))) goto fail;
    if (o->alerts && !(rates = lr_rates_new(&o->rates, alert_out, &as, err))) goto fail;

    int year = 0;
    for (;;) {
        lr_event ev;
        int r = lr_events_next(evs, &ev, err);
        if (r < 0) goto fail;
        if (r == 0) break;
        if (r != 1) continue;
        const char *text;
        size_t tlen;
        if (lr_miner_event_text(prep, &ev, &text, &tlen)) {
            rc = lr__err(err, LR_ENOMEM, "out of memory masking line %llu", (unsigned long long)ev.line);
            goto done;
        }
        lr_template_match tm;
        int64_t when = (int64_t)ev.line, t_ms = -1;
        if (ev.time_len) {
            if (!year) {
                int64_t probe;
                /* a year written in the time decides the year of the others */
                if (lr_time_parse(ev.time, ev.time_len, 1, &probe) == LR_OK) {
                    int64_t probe2;
                    if (lr_time_parse(ev.time, ev.time_len, 2, &probe2) == LR_OK && probe == probe2) {
                        time_t s = (time_t)(probe / 1000);
                        struct tm g;
                        gmtime_r(&s, &g);
                        year = g.tm_year + 1900;
                    }
                }
                if (!year) {
                    time_t now = time(NULL);
                    struct tm g;
                    gmtime_r(&now, &g);
                    year = g.tm_year + 1900;
                }
            }
            if (lr_time_parse(ev.time, ev.time_len, year, &t_ms) == LR_OK) when = t_ms;
            else t_ms = -1;
        }
        if (t_ms < 0) st.untimed++;
        if (o->match_only) {
            lr_miner_match(m, text, tlen, &tm);
        } else if ((rc = lr_miner_add(m, text, tlen, when, &tm, err))) {
            goto done;
        }
        st.events++;
        st.novel += tm.novel != 0;
        st.unmatched += tm.id == 0;
        lr__buf_clear(&line);
        int w = lr__buf_printf(&line, "{\"line\":%llu", (unsigned long long)ev.line);
        if (!w && ev.line_end > ev.line) w = lr__buf_printf(&line, ",\"line_end\":%llu", (unsigned long long)ev.line_end);
        if (!w) w = lr__buf_printf(&line, ",\"template_id\":%u,\"template\":", tm.id);
        if (!w) w = tm.id ? lr__json_put_bytes(&line, tm.text, tm.len) : lr__buf_puts(&line, "null");
        if (!w) w = lr__buf_printf(&line, ",\"novel\":%s}\n", tm.novel ? "true" : "false");
        if (w) {
            rc = lr__err(err, LR_ENOMEM, "out of memory writing line %llu", (unsigned long long)ev.line);
            goto done;
        }
        if (fwrite(line.data, 1, line.len, out) != line.len) {
            rc = fail_write(err);
            goto done;
        }
        if (rates && tm.id) {
            const char *e;
            size_t el;
            char held[256];
            entity_of(&ev, o->entity, held, sizeof held, &e, &el);
            if ((rc = lr_rates_add(rates, tm.id, tm.text, tm.len, e, el, t_ms, ev.line, err))) goto done;
        }
    }
    if (rates && (rc = lr_rates_finish(rates, 0, err))) goto done;
    if (fflush(out)) {
        rc = fail_write(err);
        goto done;
    }
    if (o->state_path && !o->match_only && (rc = lr_miner_save(m, o->state_path, err))) goto done;
    st.templates = lr_miner_n_templates(m);
    st.alerts = as.n;
    goto done;
fail:
    rc = err && err->code ? err->code : LR_ENOMEM;
done:
    if (stats) *stats = st;
    lr_rates_free(rates);
    lr_events_free(evs);
    lr_records_free(recs);
    lr_prep_free(prep);
    lr_rules_free(rules);
    lr_miner_free(m);
    lr__buf_free(&line);
    lr__buf_free(&as.buf);
    return rc;
}

int lr_templates_list(const char *state_path, FILE *out, lr_error *err) {
    lr_miner *m = lr_miner_load(state_path, err);
    if (!m) return err && err->code ? err->code : LR_EFORMAT;
    lr__buf b;
    lr__buf_init(&b);
    int rc = LR_OK;
    for (uint32_t i = 0; i < lr_miner_n_templates(m) && !rc; i++) {
        lr_template_info ti;
        lr_miner_template(m, i, &ti);
        lr__buf_clear(&b);
        if (lr__buf_printf(&b, "{\"template_id\":%u,\"template\":", ti.id) || lr__json_put_bytes(&b, ti.text, ti.len) ||
            lr__buf_printf(&b, ",\"count\":%llu,\"first_seen\":%lld,\"last_seen\":%lld}\n",
                           (unsigned long long)ti.count, (long long)ti.first_seen, (long long)ti.last_seen))
            rc = lr__err(err, LR_ENOMEM, "out of memory listing templates");
        else if (fwrite(b.data, 1, b.len, out) != b.len)
            rc = fail_write(err);
    }
    if (!rc && fflush(out)) rc = fail_write(err);
    lr__buf_free(&b);
    lr_miner_free(m);
    return rc;
}
