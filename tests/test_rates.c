/*
 * test_rates.c — the rate detector (src/rates.c): a crafted burst gives
 * exactly one alert (K of N, then the cooldown), a one-window spike none,
 * a vanished regular template one "vanished" alert with the lines where it
 * was last seen, windows of events when there is no time, per-entity keys;
 * the alert JSON; event time parsing in the common forms.
 */
#include <stdint.h>

#include "logrisk.h"
#include "t.h"

typedef struct got {
    int n;
    char kind[16];
    uint32_t tid;
    int64_t start;
    uint64_t seen;
    double expected;
    size_t n_lines;
    uint64_t first_line, last_line;
    char entity[32];
    char json[2048];
} got;

static int on_alert(void *user, const lr_rate_alert *a, lr_error *err) {
    (void)err;
    got *g = user;
    g->n++;
    snprintf(g->kind, sizeof g->kind, "%s", a->kind);
    g->tid = a->template_id;
    g->start = a->window_start;
    g->seen = a->seen;
    g->expected = a->expected;
    g->n_lines = a->n_lines;
    g->first_line = a->n_lines ? a->lines[0] : 0;
    g->last_line = a->n_lines ? a->lines[a->n_lines - 1] : 0;
    snprintf(g->entity, sizeof g->entity, "%.*s", (int)a->entity_len, a->entity);
    lr_rate_alert_json(a, g->json, sizeof g->json);
    return 0;
}

/* Feed `per` events of template 1 in each 1 s window w (and 20 of template
 * 2, a steady background), times inside the window; line numbers go on. */
static uint64_t line_no;
static void window(lr_rates *r, int w, int per1, int per2) {
    lr_error err;
    for (int i = 0; i < per1; i++)
        T_EQ_INT(lr_rates_add(r, 1, "job <*> done", 12, NULL, 0, (int64_t)w * 1000 + i % 1000, ++line_no, &err), 0);
    for (int i = 0; i < per2; i++)
        T_EQ_INT(lr_rates_add(r, 2, "heartbeat ok", 12, NULL, 0, (int64_t)w * 1000 + 500, ++line_no, &err), 0);
}

static lr_rates *make(got *g) {
    lr_rates_opts o;
    lr_rates_opts_init(&o);
    o.window_ms = 1000;
    lr_error err;
    memset(g, 0, sizeof *g);
    line_no = 0;
    lr_rates *r = lr_rates_new(&o, on_alert, g, &err);
    T_CHECK(r != NULL);
    return r;
}

static void test_burst_one_alert(void) {
    got g;
    lr_rates *r = make(&g);
    int w = 1000;
    for (int i = 0; i < 20; i++) window(r, w++, 10, 20);
    T_EQ_INT(g.n, 0);
    /* a burst of 8 windows: the second out-of-band window alerts (2 of 3),
     * the rest falls in the cooldown and is learnt */
    int first_burst = w;
    for (int i = 0; i < 8; i++) window(r, w++, 80, 20);
    for (int i = 0; i < 30; i++) window(r, w++, 80, 20);
    lr_error err;
    T_EQ_INT(lr_rates_finish(r, 1, &err), 0);
    T_EQ_INT(g.n, 1);
    T_EQ_STR(g.kind, "burst");
    T_EQ_INT(g.tid, 1);
    T_EQ_INT(g.start, (int64_t)(first_burst + 1) * 1000);
    T_EQ_INT(g.seen, 80);
    T_NEAR(g.expected, 10.0, 0.5);
    T_EQ_INT(g.n_lines, 20); /* max_lines of the window's 80 */
    T_CHECK(strstr(g.json, "\"alert\":\"burst\"") && strstr(g.json, "\"template\":\"job <*> done\"") &&
            strstr(g.json, "\"seen\":80") && strstr(g.json, "\"windows\":\"2 of 3\""));
    T_CHECK(strstr(g.json, "\"window\":{\"start\":\"1970-01-01T00:17:01.000Z\",\"end\":\"1970-01-01T00:17:02.000Z\"}") !=
            NULL);
    lr_rates_free(r);
}

static void test_spike_no_alert(void) {
    got g;
    lr_rates *r = make(&g);
    int w = 0;
    for (int i = 0; i < 20; i++) window(r, w++, 10, 20);
    window(r, w++, 80, 20); /* one window out of band: 1 of 3 */
    for (int i = 0; i < 20; i++) window(r, w++, 10, 20);
    window(r, w++, 80, 20);
    window(r, w++, 10, 20);
    window(r, w++, 10, 20);
    window(r, w++, 80, 20); /* again only 1 of the last 3 */
    window(r, w++, 10, 20);
    T_EQ_INT(g.n, 0);
    /* two of three out: an alert */
    window(r, w++, 80, 20);
    window(r, w++, 10, 20);
    window(r, w++, 80, 20);
    window(r, w++, 10, 20);
    T_EQ_INT(g.n, 1);
    lr_rates_free(r);
}

static void test_vanished(void) {
    got g;
    lr_rates *r = make(&g);
    int w = 0;
    for (int i = 0; i < 20; i++) window(r, w++, 10, 20);
    uint64_t last_of_1 = 0;
    /* template 1 stops; the background keeps time going */
    last_of_1 = line_no - 20;
    for (int i = 0; i < 15; i++) window(r, w++, 0, 20);
    T_EQ_INT(g.n, 1);
    T_EQ_STR(g.kind, "vanished");
    T_EQ_INT(g.tid, 1);
    T_EQ_INT(g.seen, 0);
    T_EQ_INT(g.start, 21 * 1000);
    T_EQ_INT(g.n_lines, 20);
    T_EQ_INT(g.last_line, last_of_1); /* where it was last seen */
    T_CHECK(strstr(g.json, "\"alert\":\"vanished\"") != NULL);
    /* an irregular template (every other window) is not "regular" */
    got g2;
    lr_rates *r2 = make(&g2);
    w = 0;
    for (int i = 0; i < 40; i++) window(r2, w++, (i % 2) ? 10 : 0, 20);
    for (int i = 0; i < 10; i++) window(r2, w++, 0, 20);
    T_EQ_INT(g2.n, 0);
    lr_rates_free(r2);
    lr_rates_free(r);
}

static void test_lines_and_entities(void) {
    lr_rates_opts o;
    lr_rates_opts_init(&o);
    o.line_window = 100;
    got g;
    memset(&g, 0, sizeof g);
    lr_error err;
    lr_rates *r = lr_rates_new(&o, on_alert, &g, &err);
    uint64_t line = 0;
    /* no time: windows of 100 events; pod-a is steady, pod-b bursts */
    for (int w = 0; w < 30; w++)
        for (int i = 0; i < 100; i++) {
            int burst = w >= 20 && w < 23;
            const char *e = (i % 10 == 0 || (burst && i % 2 == 0)) ? "pod-b" : "pod-a";
            T_EQ_INT(lr_rates_add(r, 7, "GET <*>", 7, e, 5, -1, ++line, &err), 0);
        }
    T_EQ_INT(g.n, 1);
    T_EQ_STR(g.entity, "pod-b");
    T_EQ_STR(g.kind, "burst");
    T_EQ_INT(g.start, 2101); /* events 2101..2200: the window 21 */
    T_CHECK(strstr(g.json, "\"entity\":\"pod-b\"") && strstr(g.json, "\"first_event\":2101,\"last_event\":2200"));
    lr_rates_free(r);
    /* bad options are refused */
    o.k = 4;
    o.n = 3;
    T_CHECK(lr_rates_new(&o, NULL, NULL, &err) == NULL && err.code == LR_EINVAL);
}

static void test_json_escapes(void) {
    lr_rate_alert a;
    memset(&a, 0, sizeof a);
    a.kind = "burst";
    a.template_id = 3;
    a.template_text = "say \"hi\"\n\xff end";
    a.template_len = strlen(a.template_text);
    a.entity = "";
    a.expected = 1.5;
    a.high = 4;
    a.seen = 9;
    a.k = 2;
    a.n = 3;
    uint64_t lines[] = {4, 5};
    a.lines = lines;
    a.n_lines = 2;
    a.window_start = 1;
    a.window_end = 11;
    char out[512];
    size_t n = lr_rate_alert_json(&a, out, sizeof out);
    T_EQ_INT(n, strlen(out));
    T_EQ_STR(out, "{\"alert\":\"burst\",\"template_id\":3,\"template\":\"say \\\"hi\\\"\\n\xef\xbf\xbd end\","
                  "\"window\":{\"first_event\":1,\"last_event\":10},\"expected\":1.5,\"band\":[0,4],\"seen\":9,"
                  "\"windows\":\"2 of 3\",\"lines\":[4,5]}");
    char small[8];
    T_EQ_INT(lr_rate_alert_json(&a, small, sizeof small), n);
    T_EQ_INT(strlen(small), 7);
}

static void time_is(const char *s, int year, int64_t want) {
    int64_t ms = 0;
    int rc = lr_time_parse(s, strlen(s), year, &ms);
    if (rc != 0 || ms != want) T_FAIL("lr_time_parse(\"%s\") = %d, %lld; want %lld", s, rc, (long long)ms, (long long)want);
}

static void test_time_forms(void) {
    const int64_t t = 1704164645000; /* 2024-01-02T03:04:05Z */
    time_is("2024-01-02T03:04:05Z", 0, t);
    time_is("2024-01-02T03:04:05.250Z", 0, t + 250);
    time_is("2024-01-02T05:04:05+02:00", 0, t);
    time_is("2024-01-02 03:04:05,123", 0, t + 123);
    time_is("2024/01/02 03:04:05", 0, t);
    time_is("0102 03:04:05.123456", 2024, t + 123);     /* klog */
    time_is("I0102 03:04:05.123456", 2024, t + 123);    /* klog with its letter */
    time_is("Jan  2 03:04:05", 2024, t);                /* syslog */
    time_is("Tue Jan 02 03:04:05 2024", 0, t);          /* Apache */
    time_is("240102 030405", 0, t);                     /* HDFS */
    time_is("24/01/02 03:04:05", 0, t);                 /* Spark */
    time_is("01-02 03:04:05.500", 2024, t + 500);       /* Android */
    int64_t ms;
    T_EQ_INT(lr_time_parse("20240102-03:04:05:007", 21, 0, &ms), 0);
    T_EQ_INT(ms, t + 7);                                /* HealthApp */
    time_is("01.02 03:04:05", 2024, t);                 /* Proxifier */
    time_is("1704164645", 0, t);                        /* unix seconds */
    T_EQ_INT(lr_time_parse("hello", 5, 2024, &ms), LR_EPARSE);
    T_EQ_INT(lr_time_parse("2024-13-02T03:04:05Z", 20, 0, &ms), LR_EPARSE);
    T_EQ_INT(lr_time_parse("", 0, 0, &ms), LR_EPARSE);
}

T_MAIN(T_CASE(test_burst_one_alert), T_CASE(test_spike_no_alert), T_CASE(test_vanished), T_CASE(test_lines_and_entities),
       T_CASE(test_json_escapes), T_CASE(test_time_forms))
