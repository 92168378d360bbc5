/*
 * qkern.c — picks the low-precision kernel table (qkern.h) once.
 *
 * The tables are listed best first in g_tables with the CPU features each
 * needs; lr__qkern_get() takes the first one this CPU and OS run, unless
 * LOGRISK_ISA forces a family (ref, avx2, avxvnni, avx512, neon): then the
 * first runnable table of that family, or ref when there is none. An
 * unknown LOGRISK_ISA value is ignored, as in kern.c.
 *
 * The features come from cpu.h (CPUID + XGETBV, AT_HWCAP), shared with
 * kern.c.
 */
#include "qkern.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "logrisk.h"
#include "util.h"

/* -------------------------------------------------------------- tables */

/* The SIMD tables of this build (one extern line each, by architecture). */
#if defined(__x86_64__)
extern const lr__qkern lr__qkern_avx2;
extern const lr__qkern lr__qkern_avx512bf16, lr__qkern_avx512vnni, lr__qkern_avxvnni;
#endif
#if defined(__aarch64__)
extern const lr__qkern lr__qkern_neondot, lr__qkern_neon;
#endif

typedef struct {
    const lr__qkern *table;
    const char *family; /* the LOGRISK_ISA value that selects it */
    unsigned needs;     /* LR_CPU_* bits (cpu.h) */
} entry;

/* Best first; "ref" last. {table, family, needed features} */
static const entry g_tables[] = {
#if defined(__x86_64__)
    {&lr__qkern_avx512bf16, "avx512", LR_CPU_AVX512 | LR_CPU_AVX512VNNI | LR_CPU_AVX512BF16},
    {&lr__qkern_avx512vnni, "avx512", LR_CPU_AVX512 | LR_CPU_AVX512VNNI},
    {&lr__qkern_avxvnni, "avxvnni", LR_CPU_AVX2 | LR_CPU_AVXVNNI},
    {&lr__qkern_avx2, "avx2", LR_CPU_AVX2},
#endif
#if defined(__aarch64__)
    {&lr__qkern_neondot, "neon", LR_CPU_NEON | LR_CPU_NEONDOT},
    {&lr__qkern_neon, "neon", LR_CPU_NEON},
#endif
    {&lr__qkern_ref, "ref", 0},
};

const char *lr__qkern_name(int i) {
    if (i < 0 || (size_t)i >= LR_ARRAY_LEN(g_tables)) return NULL;
    return g_tables[i].table->name;
}

static int runs_here(const entry *e) { return (lr__cpu_features() & e->needs) == e->needs; }

const lr__qkern *lr__qkern_by_name(const char *name) {
    if (!name) return NULL;
    for (size_t i = 0; i < LR_ARRAY_LEN(g_tables); i++)
        if (strcmp(g_tables[i].table->name, name) == 0)
            return runs_here(&g_tables[i]) ? g_tables[i].table : NULL;
    return NULL;
}

const lr__qkern *lr__qkern_choose(const char *force) {
    static const char *const families[] = {"ref", "avx2", "avxvnni", "avx512", "neon"};
    int forced = 0;
    for (size_t i = 0; force && i < LR_ARRAY_LEN(families); i++)
        if (strcmp(force, families[i]) == 0) forced = 1;
    for (size_t i = 0; i < LR_ARRAY_LEN(g_tables); i++)
        if ((!forced || strcmp(g_tables[i].family, force) == 0) && runs_here(&g_tables[i]))
            return g_tables[i].table;
    return &lr__qkern_ref;
}

static const lr__qkern *g_qkern;
static pthread_once_t g_qkern_once = PTHREAD_ONCE_INIT;
static void choose_qkern(void) { g_qkern = lr__qkern_choose(getenv("LOGRISK_ISA")); }

const lr__qkern *lr__qkern_get(void) {
    pthread_once(&g_qkern_once, choose_qkern);
    return g_qkern;
}

const char *lr_qkernel_path(void) { return lr__qkern_get()->name; }

/* ---------------------------------------------------------------- sizes */

size_t lr__q8_packed_bytes(int nr, int N, int K) {
    if (nr < 1 || N <= 0 || K <= 0) return 0;
    return (size_t)((N + nr - 1) / nr) * (size_t)nr * (size_t)((K + 3) / 4 * 4);
}

size_t lr__bf16_packed_elems(int nr, int N, int K) {
    if (nr < 1 || N <= 0 || K <= 0) return 0;
    return (size_t)((N + nr - 1) / nr) * (size_t)nr * (size_t)((K + 1) / 2 * 2);
}

/* -------------------------------------------------------------- packing */

/* Four bytes (one 32-bit lane's k-group) of a row at a time. */
void lr__q8_pack_panels(int nr, int N, int K, const int8_t *W, int ldw, int8_t *dst,
                        int32_t *wsum) {
    const int Kp = (K + 3) / 4 * 4, K4 = K / 4 * 4;
    const int panels = (N + nr - 1) / nr;
    for (int p = 0; p < panels; p++) {
        int8_t *d = dst + (size_t)p * nr * Kp;
        for (int j = 0; j < nr; j++) {
            const int n = p * nr + j;
            int8_t *col = d + (size_t)j * 4;
            if (n >= N) {
                for (int k = 0; k < Kp; k += 4) memset(col + (size_t)k * nr, 0, 4);
                continue;
            }
            const int8_t *w = W + (size_t)n * ldw;
            int32_t s = 0;
            for (int k = 0; k < K; k++) s += w[k];
            wsum[n] = s;
            for (int k = 0; k < K4; k += 4) memcpy(col + (size_t)k * nr, w + k, 4);
            if (K4 < Kp) {
                int8_t last[4] = {0, 0, 0, 0};
                memcpy(last, w + K4, (size_t)(K - K4));
                memcpy(col + (size_t)K4 * nr, last, 4);
            }
        }
    }
}

/* A pair of k of a row at a time. */
void lr__bf16_pack_panels(int nr, int N, int K, const uint16_t *W, int ldw, uint16_t *dst) {
    const int Kp = (K + 1) / 2 * 2, K2 = K / 2 * 2;
    const int panels = (N + nr - 1) / nr;
    for (int p = 0; p < panels; p++) {
        uint16_t *d = dst + (size_t)p * nr * Kp;
        for (int j = 0; j < nr; j++) {
            const int n = p * nr + j;
            uint16_t *col = d + (size_t)j * 2;
            if (n >= N) {
                for (int k = 0; k < Kp; k += 2) col[(size_t)k * nr] = col[(size_t)k * nr + 1] = 0;
                continue;
            }
            const uint16_t *w = W + (size_t)n * ldw;
            for (int k = 0; k < K2; k += 2) memcpy(col + (size_t)k * nr, w + k, 4);
            if (K2 < Kp) {
                col[(size_t)K2 * nr] = w[K2];
                col[(size_t)K2 * nr + 1] = 0;
            }
        }
    }
}
