/*
 * rates.c — rate anomalies per template (and entity): lr_rates, the alert
 * JSON, and event time parsing.
 *
 * Windows. The first event decides: with a time (unix ms >= 0) windows are
 * [k * window_ms, (k + 1) * window_ms) of event time; without, they are
 * runs of line_window events in arrival order. An event older than the
 * open window (clocks of several sources interleave) counts in the open
 * window; an event without a time in a timed stream too. When time jumps
 * ahead, the windows in between are closed empty (at most MAX_GAP of them;
 * after a longer silence the baselines start again, since nothing about
 * the old rates tells what to expect; this also bounds the work of a jump
 * to MAX_GAP x the keys).
 *
 * Baseline. Each (template, entity) key keeps an exponentially weighted
 * mean m and variance v of its count per window (weight `alpha` for the
 * newest window), starting at its first window with v = m. The band for
 * one window is m ± z * s, z the standard normal `quantile` (0.999: 3.09),
 * s = sqrt(max(v, m)): never tighter than Poisson noise. A window is out
 * of band as a burst when seen > high, seen >= min_count and seen >=
 * min_ratio * m; as a drop when seen == 0, low > 0 (zero is implausible)
 * and the key is regular (its EW share of windows with any event >=
 * `regular`). Keys are judged after `warmup` windows.
 *
 * Judgement. Burst and drop windows are kept per key in two bit masks of
 * the last N windows; an alert fires when the current window is out of
 * band and K of the last N are, then the key is silent for `cooldown`
 * windows (its masks cleared): one incident, one alert. Out-of-band
 * windows are not learnt while the incident is pending (a burst must not
 * raise its own bar); once alerted they are, so a lasting new level becomes
 * the new baseline instead of an alert every cooldown.
 *
 * Evidence. A key keeps the line numbers of its first max_lines events in
 * the open window (a burst's alert carries them) and a ring of its last
 * max_lines events (a drop's alert carries those: where it was last seen).
 */
#include "rates.h"

#include <math.h>
#include <string.h>
#include <time.h>
#include <utf8proc.h>

#define MAX_GAP 1000
#define MAX_N 32

typedef struct key {
    uint32_t tid;
    char *entity;
    size_t elen;
    char *tmpl;         /* template text as last given                */
    size_t tlen;
    uint64_t hash;
    double m, v, present;
    uint64_t windows;   /* closed windows since the key appeared      */
    uint64_t seen;      /* count in the open window                   */
    uint32_t burst, drop; /* out-of-band masks, bit 0 = newest window */
    int cooldown;
    int pending;        /* an incident is open (unlearnt windows)     */
    uint64_t *cur;      /* max_lines: lines in the open window        */
    size_t n_cur;
    uint64_t *last;     /* ring of the last max_lines lines           */
    size_t n_last, at_last;
} key;

struct lr_rates {
    lr_rates_opts o;
    double z;
    lr_rate_alert_fn fn;
    void *user;
    int mode;           /* -1 undecided, 0 lines, 1 timed             */
    int64_t win;        /* the open window's index                    */
    uint64_t events;
    key *keys;
    size_t n_keys, cap_keys;
    size_t *slots;      /* open addressing: key index + 1             */
    size_t cap_slots;
    uint64_t untracked;
};

void lr_rates_opts_init(lr_rates_opts *o) {
    o->window_ms = 60000;
    o->line_window = 1000;
    o->alpha = 0.1;
    o->quantile = 0.999;
    o->min_ratio = 3.0;
    o->min_count = 10;
    o->k = 2;
    o->n = 3;
    o->cooldown = 10;
    o->warmup = 5;
    o->regular = 0.9;
    o->max_lines = 20;
    o->max_keys = 100000;
}

/* The standard normal quantile (Acklam's rational approximation, relative
 * error below 1.2e-9). */
static double norm_quantile(double p) {
    static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                               1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                               6.680131188771972e+01, -1.328068155288572e+01};
    static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                               -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00};
    static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                               3.754408661907416e+00};
    if (p < 0.02425) {
        double q = sqrt(-2 * log(p));
        return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
               ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    }
    if (p > 1 - 0.02425) return -norm_quantile(1 - p);
    double q = p - 0.5, r = q * q;
    return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
           (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

lr_rates *lr_rates_new(const lr_rates_opts *opts, lr_rate_alert_fn fn, void *user, lr_error *err) {
    lr_rates_opts o;
    if (opts) o = *opts;
    else lr_rates_opts_init(&o);
    const char *bad = NULL;
    if (o.window_ms < 1) bad = "the window must be at least 1 ms";
    else if (o.line_window < 1) bad = "the line window must be at least 1 event";
    else if (!(o.alpha > 0 && o.alpha <= 1)) bad = "alpha must be in (0, 1]";
    else if (!(o.quantile > 0.5 && o.quantile < 1)) bad = "the quantile must be in (0.5, 1)";
    else if (!(o.min_ratio >= 0) || o.min_ratio > 1e9) bad = "min_ratio must be in [0, 1e9]";
    else if (o.min_count < 1) bad = "min_count must be at least 1";
    else if (o.n < 1 || o.n > MAX_N || o.k < 1 || o.k > o.n) bad = "K of N needs 1 <= K <= N <= 32";
    else if (o.cooldown < 0) bad = "the cooldown must not be negative";
    else if (o.warmup < 1) bad = "the warmup must be at least 1 window";
    else if (!(o.regular >= 0 && o.regular <= 1)) bad = "regular must be in [0, 1]";
    else if (o.max_lines < 0 || o.max_lines > 100000) bad = "max_lines must be in [0, 100000]";
    else if (o.max_keys < 1) bad = "max_keys must be at least 1";
    if (bad) {
        lr__err(err, LR_EINVAL, "rates: %s", bad);
        return NULL;
    }
    lr_rates *r = lr__calloc(1, sizeof *r);
    if (!r) {
        lr__err(err, LR_ENOMEM, "out of memory making the rate detector");
        return NULL;
    }
    r->o = o;
    r->z = norm_quantile(o.quantile);
    r->fn = fn;
    r->user = user;
    r->mode = -1;
    return r;
}

static void key_free(key *k) {
    lr__free(k->entity);
    lr__free(k->tmpl);
    lr__free(k->cur);
    lr__free(k->last);
}

void lr_rates_free(lr_rates *r) {
    if (!r) return;
    for (size_t i = 0; i < r->n_keys; i++) key_free(&r->keys[i]);
    lr__free(r->keys);
    lr__free(r->slots);
    lr__free(r);
}

static uint64_t key_hash(uint32_t tid, const char *e, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL ^ ((uint64_t)tid * 0x9e3779b97f4a7c15ULL);
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)e[i]) * 0x100000001b3ULL;
    return h ^ (h >> 29);
}

static int slots_grow(lr_rates *r) {
    size_t cap = r->cap_slots ? r->cap_slots * 2 : 1024;
    size_t *ns = lr__calloc(cap, sizeof *ns);
    if (!ns) return LR_ENOMEM;
    for (size_t i = 0; i < r->n_keys; i++) {
        size_t s = (size_t)r->keys[i].hash & (cap - 1);
        while (ns[s]) s = (s + 1) & (cap - 1);
        ns[s] = i + 1;
    }
    lr__free(r->slots);
    r->slots = ns;
    r->cap_slots = cap;
    return LR_OK;
}

/* The key's index, made when missing; SIZE_MAX when max_keys is reached. */
static int key_get(lr_rates *r, uint32_t tid, const char *e, size_t elen, size_t *out) {
    uint64_t h = key_hash(tid, e, elen);
    if (r->cap_slots) {
        for (size_t s = (size_t)h & (r->cap_slots - 1); r->slots[s]; s = (s + 1) & (r->cap_slots - 1)) {
            key *k = &r->keys[r->slots[s] - 1];
            if (k->hash == h && k->tid == tid && k->elen == elen && memcmp(k->entity, e, elen) == 0) {
                *out = r->slots[s] - 1;
                return LR_OK;
            }
        }
    }
    if (r->n_keys >= r->o.max_keys) {
        *out = SIZE_MAX;
        return LR_OK;
    }
    if ((r->n_keys + 1) * 2 > r->cap_slots && slots_grow(r)) return LR_ENOMEM;
    if (r->n_keys == r->cap_keys) {
        size_t cap = r->cap_keys ? r->cap_keys * 2 : 64;
        key *nk = lr__realloc(r->keys, cap * sizeof *nk);
        if (!nk) return LR_ENOMEM;
        r->keys = nk;
        r->cap_keys = cap;
    }
    key *k = &r->keys[r->n_keys];
    memset(k, 0, sizeof *k);
    k->tid = tid;
    k->hash = h;
    k->elen = elen;
    size_t ml = r->o.max_lines ? (size_t)r->o.max_lines : 1;
    if (!(k->entity = lr__strndup(e, elen)) || !(k->cur = lr__alloc_array(ml, sizeof *k->cur)) ||
        !(k->last = lr__alloc_array(ml, sizeof *k->last))) {
        key_free(k);
        return LR_ENOMEM;
    }
    size_t s = (size_t)h & (r->cap_slots - 1);
    while (r->slots[s]) s = (s + 1) & (r->cap_slots - 1);
    r->slots[s] = ++r->n_keys;
    *out = r->n_keys - 1;
    return LR_OK;
}

static int popcount(uint32_t x) {
    int n = 0;
    for (; x; x &= x - 1) n++;
    return n;
}

/* Window bounds for alerts. */
static void bounds(const lr_rates *r, int64_t w, int64_t *start, int64_t *end) {
    if (r->mode == 1) {
        *start = w * r->o.window_ms;
        *end = *start + r->o.window_ms;
    } else {
        *start = w * (int64_t)r->o.line_window + 1;
        *end = *start + (int64_t)r->o.line_window;
    }
}

/* Close window r->win: judge every key, learn, reset counts. */
static int close_window(lr_rates *r, lr_error *err) {
    uint32_t nmask = r->o.n >= 32 ? UINT32_MAX : ((1u << r->o.n) - 1);
    for (size_t i = 0; i < r->n_keys; i++) {
        key *k = &r->keys[i];
        double x = (double)k->seen;
        if (k->windows == 0 && k->seen == 0) continue; /* made in a later window */
        if (k->windows == 0) {
            k->m = x;
            k->v = x;
            k->present = 1.0;
            k->windows = 1;
            k->n_cur = 0;
            k->seen = 0;
            continue;
        }
        double s = sqrt(k->v > k->m ? k->v : k->m), high = k->m + r->z * s, low = k->m - r->z * s;
        int judged = k->windows >= (uint64_t)r->o.warmup;
        int up = judged && x > high && k->seen >= (uint64_t)r->o.min_count && x >= r->o.min_ratio * k->m;
        int down = judged && k->seen == 0 && low > 0 && k->present >= r->o.regular;
        k->burst = ((k->burst << 1) | (uint32_t)up) & nmask;
        k->drop = ((k->drop << 1) | (uint32_t)down) & nmask;
        const char *kind = NULL;
        int cooling = k->cooldown > 0;
        if (cooling) {
            k->cooldown--;
            k->burst = k->drop = 0;
        } else if (up && popcount(k->burst) >= r->o.k) {
            kind = "burst";
        } else if (down && popcount(k->drop) >= r->o.k) {
            kind = "vanished";
        }
        if (kind) {
            lr_rate_alert a;
            memset(&a, 0, sizeof a);
            a.kind = kind;
            a.template_id = k->tid;
            a.template_text = k->tmpl ? k->tmpl : "";
            a.template_len = k->tlen;
            a.entity = k->entity;
            a.entity_len = k->elen;
            a.timed = r->mode == 1;
            bounds(r, r->win, &a.window_start, &a.window_end);
            a.expected = k->m;
            a.low = low > 0 ? low : 0;
            a.high = high;
            a.seen = k->seen;
            a.k = popcount(up ? k->burst : k->drop);
            a.n = r->o.n;
            uint64_t *tmp = NULL;
            if (up) {
                a.lines = k->cur;
                a.n_lines = k->n_cur;
            } else if (k->n_last) {
                /* the ring in order, oldest first */
                tmp = lr__alloc_array(k->n_last, sizeof *tmp);
                if (!tmp) return lr__err(err, LR_ENOMEM, "out of memory writing an alert");
                size_t ml = (size_t)r->o.max_lines;
                for (size_t j = 0; j < k->n_last; j++)
                    tmp[j] = k->last[(k->at_last + ml - k->n_last + j) % ml];
                a.lines = tmp;
                a.n_lines = k->n_last;
            }
            int rc = r->fn ? r->fn(r->user, &a, err) : 0;
            lr__free(tmp);
            if (rc) return rc;
            k->cooldown = r->o.cooldown;
            k->burst = k->drop = 0;
            k->pending = 0;
        } else if (!cooling && (up || down)) {
            k->pending = 1;
        } else {
            k->pending = 0;
        }
        if (!((up || down) && k->pending)) {
            double a = r->o.alpha, d = x - k->m;
            k->m += a * d;
            k->v = (1 - a) * (k->v + a * d * d);
            k->present = (1 - a) * k->present + a * (k->seen > 0);
        }
        k->windows++;
        k->seen = 0;
        k->n_cur = 0;
    }
    return LR_OK;
}

static void reset_baselines(lr_rates *r) {
    for (size_t i = 0; i < r->n_keys; i++) {
        key *k = &r->keys[i];
        k->windows = 0;
        k->seen = 0;
        k->n_cur = 0;
        k->burst = k->drop = 0;
        k->cooldown = 0;
        k->pending = 0;
    }
}

/* Move to window w (> r->win), closing the windows before it. */
static int advance(lr_rates *r, int64_t w, lr_error *err) {
    if (w - r->win > MAX_GAP) {
        int rc = close_window(r, err);
        if (rc) return rc;
        reset_baselines(r);
        r->win = w;
        return LR_OK;
    }
    while (r->win < w) {
        int rc = close_window(r, err);
        if (rc) return rc;
        r->win++;
    }
    return LR_OK;
}

static int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

int lr_rates_add(lr_rates *r, uint32_t tid, const char *tt, size_t tlen, const char *entity, size_t elen,
                 int64_t time_ms, uint64_t line, lr_error *err) {
    if (!entity) entity = "", elen = 0;
    if (!tt) tt = "", tlen = 0;
    if (r->mode < 0) {
        r->mode = time_ms >= 0;
        r->win = r->mode ? floor_div(time_ms, r->o.window_ms) : 0;
    }
    int64_t w = r->win;
    if (r->mode == 1 && time_ms >= 0) w = floor_div(time_ms, r->o.window_ms);
    else if (r->mode == 0) w = (int64_t)(r->events / r->o.line_window);
    r->events++;
    if (w > r->win) {
        int rc = advance(r, w, err);
        if (rc) return rc;
    }
    size_t ki;
    if (key_get(r, tid, entity, elen, &ki)) return lr__err(err, LR_ENOMEM, "out of memory tracking rates");
    if (ki == SIZE_MAX) {
        r->untracked++;
        return LR_OK;
    }
    key *k = &r->keys[ki];
    if (k->tlen != tlen || !k->tmpl || memcmp(k->tmpl, tt, tlen) != 0) {
        char *t = lr__strndup(tt, tlen);
        if (!t) return lr__err(err, LR_ENOMEM, "out of memory tracking rates");
        lr__free(k->tmpl);
        k->tmpl = t;
        k->tlen = tlen;
    }
    k->seen++;
    size_t ml = (size_t)r->o.max_lines;
    if (ml) {
        if (k->n_cur < ml) k->cur[k->n_cur++] = line;
        k->last[k->at_last] = line;
        k->at_last = (k->at_last + 1) % ml;
        if (k->n_last < ml) k->n_last++;
    }
    return LR_OK;
}

int lr_rates_finish(lr_rates *r, int complete, lr_error *err) {
    if (r->mode < 0 || !complete) return LR_OK;
    int rc = close_window(r, err);
    if (!rc) r->win++;
    return rc;
}

/* ------------------------------------------------------------------ JSON */

int lr__json_put_bytes(lr__buf *b, const char *s, size_t len) {
    if (lr__buf_putc(b, '"')) return LR_ENOMEM;
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        int rc;
        size_t j = i;
        while (j < len && (unsigned char)s[j] >= 0x20 && (unsigned char)s[j] < 0x7f && s[j] != '"' && s[j] != '\\') j++;
        if (j > i) { /* a run of plain ASCII at once */
            if (lr__buf_put(b, s + i, j - i)) return LR_ENOMEM;
            i = j;
            continue;
        }
        if (c < 0x80) {
            if (c == '"') rc = lr__buf_puts(b, "\\\"");
            else if (c == '\\') rc = lr__buf_puts(b, "\\\\");
            else if (c == '\n') rc = lr__buf_puts(b, "\\n");
            else if (c == '\t') rc = lr__buf_puts(b, "\\t");
            else if (c == '\r') rc = lr__buf_puts(b, "\\r");
            else if (c < 0x20 || c == 0x7f) rc = lr__buf_printf(b, "\\u%04x", c);
            else rc = lr__buf_putc(b, (char)c);
            i++;
        } else {
            utf8proc_int32_t cp;
            utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(len - i), &cp);
            if (n > 0) {
                rc = lr__buf_put(b, s + i, (size_t)n);
                i += (size_t)n;
            } else {
                rc = lr__buf_puts(b, "\xef\xbf\xbd");
                i++;
            }
        }
        if (rc) return LR_ENOMEM;
    }
    return lr__buf_putc(b, '"');
}

static int put_num(lr__buf *b, double v) {
    if (!isfinite(v)) return lr__buf_puts(b, "null");
    return lr__buf_printf(b, "%.4g", v);
}

size_t lr_rate_alert_json(const lr_rate_alert *a, char *out, size_t cap) {
    lr__buf b;
    lr__buf_init(&b);
    int rc = lr__buf_puts(&b, "{\"alert\":");
    rc = rc || lr__json_put_bytes(&b, a->kind, strlen(a->kind));
    rc = rc || lr__buf_printf(&b, ",\"template_id\":%u,\"template\":", a->template_id);
    rc = rc || lr__json_put_bytes(&b, a->template_text, a->template_len);
    if (a->entity_len) {
        rc = rc || lr__buf_puts(&b, ",\"entity\":");
        rc = rc || lr__json_put_bytes(&b, a->entity, a->entity_len);
    }
    if (a->timed) {
        char t0[40], t1[40];
        time_t s0 = (time_t)floor_div(a->window_start, 1000), s1 = (time_t)floor_div(a->window_end, 1000);
        struct tm g0, g1;
        gmtime_r(&s0, &g0);
        gmtime_r(&s1, &g1);
        strftime(t0, sizeof t0, "%Y-%m-%dT%H:%M:%S", &g0);
        strftime(t1, sizeof t1, "%Y-%m-%dT%H:%M:%S", &g1);
        rc = rc || lr__buf_printf(&b, ",\"window\":{\"start\":\"%s.%03dZ\",\"end\":\"%s.%03dZ\"}", t0,
                                  (int)(a->window_start - (int64_t)s0 * 1000), t1,
                                  (int)(a->window_end - (int64_t)s1 * 1000));
    } else {
        rc = rc || lr__buf_printf(&b, ",\"window\":{\"first_event\":%lld,\"last_event\":%lld}",
                                  (long long)a->window_start, (long long)a->window_end - 1);
    }
    rc = rc || lr__buf_puts(&b, ",\"expected\":") || put_num(&b, a->expected);
    rc = rc || lr__buf_puts(&b, ",\"band\":[") || put_num(&b, a->low) || lr__buf_putc(&b, ',') ||
         put_num(&b, a->high) || lr__buf_putc(&b, ']');
    rc = rc || lr__buf_printf(&b, ",\"seen\":%llu,\"windows\":\"%d of %d\",\"lines\":[", (unsigned long long)a->seen,
                              a->k, a->n);
    for (size_t i = 0; i < a->n_lines && !rc; i++)
        rc = lr__buf_printf(&b, "%s%llu", i ? "," : "", (unsigned long long)a->lines[i]);
    rc = rc || lr__buf_puts(&b, "]}");
    size_t n = rc ? 0 : b.len;
    if (cap) {
        size_t k = n < cap - 1 ? n : cap - 1;
        if (k) memcpy(out, b.data, k);
        out[k] = '\0';
    }
    lr__buf_free(&b);
    return n;
}

/* ------------------------------------------------------------------ time */

static int num(const char *s, size_t len, size_t *i, int digits, int *out) {
    int v = 0;
    for (int k = 0; k < digits; k++) {
        if (*i >= len || s[*i] < '0' || s[*i] > '9') return 0;
        v = v * 10 + (s[(*i)++] - '0');
    }
    *out = v;
    return 1;
}

static int lit(const char *s, size_t len, size_t *i, char c) {
    if (*i < len && s[*i] == c) {
        (*i)++;
        return 1;
    }
    return 0;
}

static int month_of(const char *s, size_t len, size_t i) {
    static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    if (i + 3 > len) return 0;
    for (int m = 0; m < 12; m++)
        if (memcmp(names + 3 * m, s + i, 3) == 0) return m + 1;
    return 0;
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Fraction after s[*i] ('.' ',' or ':' then digits) into ms. */
static int frac_ms(const char *s, size_t len, size_t *i) {
    if (*i >= len || (s[*i] != '.' && s[*i] != ',' && s[*i] != ':')) return 0;
    if (*i + 1 >= len || s[*i + 1] < '0' || s[*i + 1] > '9') return 0;
    (*i)++;
    int ms = 0, k = 0;
    while (*i < len && s[*i] >= '0' && s[*i] <= '9') {
        if (k < 3) ms = ms * 10 + (s[*i] - '0');
        k++;
        (*i)++;
    }
    while (k < 3) ms *= 10, k++;
    return ms;
}

static int hms(const char *s, size_t len, size_t *i, int *h, int *mi, int *se, int colons) {
    if (!num(s, len, i, 2, h)) return 0;
    if (colons && !lit(s, len, i, ':')) return 0;
    if (!num(s, len, i, 2, mi)) return 0;
    if (colons && !lit(s, len, i, ':')) return 0;
    if (!num(s, len, i, 2, se)) return 0;
    return *h < 24 && *mi < 60 && *se <= 60;
}

/* s starts with exactly n digits, then c. */
static int digits_then(const char *s, size_t len, size_t n, char c) {
    if (len <= n) return 0;
    for (size_t k = 0; k < n; k++)
        if (s[k] < '0' || s[k] > '9') return 0;
    return s[n] == c;
}

int lr_time_parse(const char *s, size_t len, int year, int64_t *unix_ms) {
    while (len && (s[0] == ' ' || s[0] == '[')) s++, len--;
    /* klog's level letter */
    if (len > 5 && (s[0] == 'I' || s[0] == 'W' || s[0] == 'E' || s[0] == 'F') && digits_then(s + 1, len - 1, 4, ' '))
        s++, len--;
    int Y = year, M = 0, D = 0, h = 0, mi = 0, se = 0, ms = 0;
    int64_t zone_min = 0;
    size_t i = 0;
    int ok = 0;
    /* unix seconds (10 digits, optional fraction) */
    {
        size_t k = 0;
        while (k < len && s[k] >= '0' && s[k] <= '9') k++;
        if (k == 10 && (k == len || s[k] == '.' || s[k] == ' ')) {
            int64_t v = 0;
            for (size_t j = 0; j < 10; j++) v = v * 10 + (s[j] - '0');
            i = k;
            int f = frac_ms(s, len, &i);
            *unix_ms = v * 1000 + f;
            return LR_OK;
        }
    }
    int n4 = 0, n2 = 0;
    size_t j = 0;
    if (num(s, len, &j, 4, &n4) && j < len && (s[j] == '-' || s[j] == '/')) {
        /* YYYY-MM-DD[T ]hh:mm:ss[.frac][Z|+hh:mm] */
        char sep = s[j++];
        i = j;
        if (num(s, len, &i, 2, &M) && lit(s, len, &i, sep) && num(s, len, &i, 2, &D) &&
            (lit(s, len, &i, 'T') || lit(s, len, &i, ' ') || lit(s, len, &i, '-')) && hms(s, len, &i, &h, &mi, &se, 1)) {
            Y = n4;
            ms = frac_ms(s, len, &i);
            if (i < len && (s[i] == 'Z' || s[i] == 'z')) i++;
            else if (i < len && (s[i] == '+' || s[i] == '-')) {
                int sign = s[i] == '-' ? -1 : 1, zh, zm = 0;
                size_t z = i + 1;
                if (num(s, len, &z, 2, &zh)) {
                    lit(s, len, &z, ':');
                    if (!num(s, len, &z, 2, &zm)) zm = 0;
                    zone_min = sign * (zh * 60 + zm);
                }
            }
            ok = 1;
        }
    } else if (digits_then(s, len, 8, '-')) {
        j = 0;
        num(s, len, &j, 4, &n4);
        num(s, len, &j, 4, &n2);
        j++;
        /* yyyyMMdd-HH:mm:ss:SSS (HealthApp) */
        i = j;
        Y = n4;
        M = n2 / 100;
        D = n2 % 100;
        if (hms(s, len, &i, &h, &mi, &se, 1)) {
            ms = frac_ms(s, len, &i);
            ok = 1;
        }
    } else if (digits_then(s, len, 6, ' ')) {
        j = 0;
        num(s, len, &j, 6, &n4);
        j++;
        /* yyMMdd HHmmss (HDFS) */
        i = j;
        Y = 2000 + n4 / 10000;
        M = n4 / 100 % 100;
        D = n4 % 100;
        ok = hms(s, len, &i, &h, &mi, &se, 0);
    } else if (digits_then(s, len, 2, '/') || digits_then(s, len, 2, '-')) {
        j = 0;
        num(s, len, &j, 2, &n2);
        /* yy/MM/dd HH:mm:ss (Spark), MM-dd HH:mm:ss.SSS (Android) */
        char sep = s[j++];
        int a2, b2;
        i = j;
        if (num(s, len, &i, 2, &a2)) {
            if (sep == '/' && lit(s, len, &i, '/') && num(s, len, &i, 2, &b2) && lit(s, len, &i, ' ')) {
                Y = 2000 + n2, M = a2, D = b2;
                ok = hms(s, len, &i, &h, &mi, &se, 1);
            } else if (sep == '-' && lit(s, len, &i, ' ')) {
                M = n2, D = a2;
                ok = hms(s, len, &i, &h, &mi, &se, 1);
            }
            if (ok) ms = frac_ms(s, len, &i);
        }
    } else if (digits_then(s, len, 4, ' ')) {
        j = 0;
        num(s, len, &j, 4, &n4);
        j++;
        /* klog mmdd hh:mm:ss.uuuuuu (after its level letter) */
        i = j;
        M = n4 / 100;
        D = n4 % 100;
        if (hms(s, len, &i, &h, &mi, &se, 1)) ms = frac_ms(s, len, &i), ok = 1;
    } else if (digits_then(s, len, 2, '.')) {
        j = 0;
        num(s, len, &j, 2, &n2);
        j++;
        /* MM.dd HH:mm:ss (Proxifier) */
        int d2;
        i = j;
        if (num(s, len, &i, 2, &d2) && lit(s, len, &i, ' ')) {
            M = n2, D = d2;
            ok = hms(s, len, &i, &h, &mi, &se, 1);
        }
    } else {
        /* [Www ]Mmm dd hh:mm:ss[ yyyy] (syslog, Apache) */
        i = 0;
        if (len >= 4 && !month_of(s, len, 0) && s[3] == ' ') i = 4;
        if ((M = month_of(s, len, i)) != 0) {
            i += 3;
            while (i < len && s[i] == ' ') i++;
            int dd = 0, nd = 0;
            while (i < len && s[i] >= '0' && s[i] <= '9' && nd < 2) dd = dd * 10 + (s[i++] - '0'), nd++;
            if (nd && lit(s, len, &i, ' ') && hms(s, len, &i, &h, &mi, &se, 1)) {
                D = dd;
                ms = frac_ms(s, len, &i);
                size_t y = i;
                int yy;
                if (lit(s, len, &y, ' ') && num(s, len, &y, 4, &yy)) Y = yy;
                ok = 1;
            }
        }
    }
    if (!ok || M < 1 || M > 12 || D < 1 || D > 31) return LR_EPARSE;
    int64_t days = days_from_civil(Y, M, D);
    *unix_ms = ((days * 24 + h) * 60 + mi) * 60000 + (int64_t)se * 1000 + ms - zone_min * 60000;
    return LR_OK;
}
