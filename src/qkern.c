/*
 * qkern.c — picks the low-precision kernel table (qkern.h) once.
 *
 * The tables are listed best first in g_tables with the CPU features each
 * needs; lr__qkern_get() takes the first one this CPU and OS run, unless
 * LOGRISK_ISA forces a family (ref, avx2, avxvnni, avx512, neon): then the
 * first runnable table of that family, or ref when there is none. An
 * unknown LOGRISK_ISA value is ignored, as in kern.c.
 *
 * Features: x86-64 CPUID leaf 1 (AVX, FMA, OSXSAVE), leaf 7 subleaf 0
 * (AVX2, AVX-512 F/DQ/BW/VL in EBX, AVX512_VNNI in ECX bit 11), leaf 7
 * subleaf 1 (AVX-VNNI in EAX bit 4, AVX512_BF16 in EAX bit 5), and XGETBV
 * for the YMM (and opmask + ZMM) state; arm64 AT_HWCAP ASIMD and ASIMDDP.
 */
#include "qkern.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1 << 1)
#endif
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#endif

#include "logrisk.h"
#include "util.h"

/* --------------------------------------------------------- CPU features */

enum {
    F_AVX2 = 1 << 0,
    F_AVX512 = 1 << 1, /* F, DQ, BW, VL and the OS saves ZMM state */
    F_AVX512VNNI = 1 << 2,
    F_AVX512BF16 = 1 << 3,
    F_AVXVNNI = 1 << 4,
    F_NEON = 1 << 5,
    F_NEONDOT = 1 << 6,
};

#if defined(__x86_64__)
static uint64_t xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static unsigned cpu_features(void) {
    unsigned a, b, c, d, f = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1;
    if (!osxsave || !avx || !fma) return 0;
    uint64_t xcr0 = xgetbv0();
    if ((xcr0 & 0x6) != 0x6 || __get_cpuid_max(0, NULL) < 7) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    unsigned max_sub = a;
    if (!((b >> 5) & 1)) return 0; /* everything below builds on AVX2 */
    f |= F_AVX2;
    int avx512 = ((b >> 16) & 1) && ((b >> 17) & 1) && ((b >> 30) & 1) && ((b >> 31) & 1) &&
                 (xcr0 & 0xe0) == 0xe0;
    int vnni512 = (c >> 11) & 1;
    unsigned eax1 = 0;
    if (max_sub >= 1) {
        __cpuid_count(7, 1, a, b, c, d);
        eax1 = a;
    }
    if ((eax1 >> 4) & 1) f |= F_AVXVNNI;
    if (avx512) {
        f |= F_AVX512;
        if (vnni512) f |= F_AVX512VNNI;
        if (vnni512 && ((eax1 >> 5) & 1)) f |= F_AVX512BF16;
    }
    return f;
}
#elif defined(__aarch64__)
static unsigned cpu_features(void) {
#if defined(__linux__)
    unsigned long hw = getauxval(AT_HWCAP);
    if (!(hw & HWCAP_ASIMD)) return 0;
    return F_NEON | ((hw & HWCAP_ASIMDDP) ? F_NEONDOT : 0);
#else
    return F_NEON; /* ASIMD is mandatory in AArch64; dotprod unknown */
#endif
}
#else
static unsigned cpu_features(void) { return 0; }
#endif

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
    unsigned needs;     /* F_* bits */
} entry;

/* Best first; "ref" last. {table, family, needed features} */
static const entry g_tables[] = {
#if defined(__x86_64__)
    {&lr__qkern_avx512bf16, "avx512", F_AVX512 | F_AVX512VNNI | F_AVX512BF16},
    {&lr__qkern_avx512vnni, "avx512", F_AVX512 | F_AVX512VNNI},
    {&lr__qkern_avxvnni, "avxvnni", F_AVX2 | F_AVXVNNI},
    {&lr__qkern_avx2, "avx2", F_AVX2},
#endif
#if defined(__aarch64__)
    {&lr__qkern_neondot, "neon", F_NEON | F_NEONDOT},
    {&lr__qkern_neon, "neon", F_NEON},
#endif
    {&lr__qkern_ref, "ref", 0},
};

const char *lr__qkern_name(int i) {
    if (i < 0 || (size_t)i >= LR_ARRAY_LEN(g_tables)) return NULL;
    return g_tables[i].table->name;
}

static unsigned g_features;
static pthread_once_t g_features_once = PTHREAD_ONCE_INIT;
static void read_features(void) { g_features = cpu_features(); }

static int runs_here(const entry *e) {
    pthread_once(&g_features_once, read_features);
    return (g_features & e->needs) == e->needs;
}

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
