/*
 * t.h — the test harness (in the spirit of redis' testhelp.h).
 *
 * A test file defines `static void test_x(void)` functions that use T_CHECK,
 * T_EQ_INT, T_EQ_STR, T_NEAR, then ends with
 *
 *     T_MAIN(T_CASE(test_a), T_CASE(test_b), ...)
 *
 * The binary runs every case, or only those whose names contain one of its
 * arguments; a case fails when any of its checks fails. Failures print
 * file:line and the values. The last line is exactly `N passed, N failed`
 * and the exit status is 1 on any failure. tests/run.sh adds the suites up.
 */
#ifndef LR_T_H
#define LR_T_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct t_case {
    const char *name;
    void (*fn)(void);
} t_case;

static int t__failed_checks; /* in the current case */

#define T_CASE(f) {#f, f}

#define T_FAIL(...)                                                     \
    do {                                                                \
        t__failed_checks++;                                             \
        fprintf(stderr, "  %s:%d: ", __FILE__, __LINE__);               \
        fprintf(stderr, __VA_ARGS__);                                   \
        fputc('\n', stderr);                                            \
    } while (0)

#define T_CHECK(cond)                                                   \
    do {                                                                \
        if (!(cond)) T_FAIL("check failed: %s", #cond);                 \
    } while (0)

#define T_EQ_INT(a, b)                                                  \
    do {                                                                \
        long long t__a = (long long)(a), t__b = (long long)(b);         \
        if (t__a != t__b)                                               \
            T_FAIL("%s == %s: %lld != %lld", #a, #b, t__a, t__b);       \
    } while (0)

#define T_EQ_STR(a, b)                                                  \
    do {                                                                \
        const char *t__a = (a), *t__b = (b);                            \
        if (!t__a || !t__b || strcmp(t__a, t__b) != 0)                  \
            T_FAIL("%s == %s: \"%s\" != \"%s\"", #a, #b,                \
                   t__a ? t__a : "(null)", t__b ? t__b : "(null)");     \
    } while (0)

#define T_NEAR(a, b, tol)                                               \
    do {                                                                \
        double t__a = (double)(a), t__b = (double)(b);                  \
        if (!(fabs(t__a - t__b) <= (double)(tol)))                      \
            T_FAIL("%s ~ %s: %.9g vs %.9g (|diff| %.3g > %.3g)", #a,    \
                   #b, t__a, t__b, fabs(t__a - t__b), (double)(tol));   \
    } while (0)

static int t__selected(const char *name, int argc, char **argv) {
    if (argc < 2) return 1;
    for (int i = 1; i < argc; i++)
        if (strstr(name, argv[i])) return 1;
    return 0;
}

static int t__run(const t_case *cases, size_t n, int argc, char **argv) {
    int passed = 0, failed = 0;
    for (size_t i = 0; i < n; i++) {
        if (!t__selected(cases[i].name, argc, argv)) continue;
        t__failed_checks = 0;
        cases[i].fn();
        if (t__failed_checks) {
            failed++;
            fprintf(stderr, "FAIL %s\n", cases[i].name);
        } else {
            passed++;
            if (getenv("T_VERBOSE")) fprintf(stderr, "ok   %s\n", cases[i].name);
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

#define T_MAIN(...)                                                     \
    int main(int argc, char **argv) {                                   \
        static const t_case t__cases[] = {__VA_ARGS__};                 \
        return t__run(t__cases, sizeof t__cases / sizeof t__cases[0],  \
                      argc, argv);                                      \
    }

#endif /* LR_T_H */
