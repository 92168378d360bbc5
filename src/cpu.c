/*
 * cpu.c — the CPU feature bits of cpu.h, read once (pthread_once).
 */
#include "cpu.h"

#include <pthread.h>
#include <stdint.h>
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

#if defined(__x86_64__)
static uint64_t xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static unsigned read_features(void) {
    unsigned a, b, c, d, f = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1, f16c = (c >> 29) & 1;
    if (!osxsave || !avx || !fma || !f16c) return 0;
    uint64_t xcr0 = xgetbv0();
    if ((xcr0 & 0x6) != 0x6 || __get_cpuid_max(0, NULL) < 7) return 0; /* XMM and YMM state */
    __cpuid_count(7, 0, a, b, c, d);
    unsigned max_sub = a;
    if (!((b >> 5) & 1)) return 0; /* everything below builds on AVX2 */
    f |= LR_CPU_AVX2;
    int avx512 = ((b >> 16) & 1) && ((b >> 17) & 1) && ((b >> 30) & 1) && ((b >> 31) & 1) &&
                 (xcr0 & 0xe0) == 0xe0; /* F, DQ, BW, VL; opmask and ZMM state */
    int vnni512 = (c >> 11) & 1;
    unsigned eax1 = 0;
    if (max_sub >= 1) {
        __cpuid_count(7, 1, a, b, c, d);
        eax1 = a;
    }
    if ((eax1 >> 4) & 1) f |= LR_CPU_AVXVNNI;
    if (avx512) {
        f |= LR_CPU_AVX512;
        if (vnni512) f |= LR_CPU_AVX512VNNI;
        if (vnni512 && ((eax1 >> 5) & 1)) f |= LR_CPU_AVX512BF16;
    }
    return f;
}
#elif defined(__aarch64__)
static unsigned read_features(void) {
#if defined(__linux__)
    unsigned long hw = getauxval(AT_HWCAP);
    if (!(hw & HWCAP_ASIMD)) return 0;
    return LR_CPU_NEON | ((hw & HWCAP_ASIMDDP) ? LR_CPU_NEONDOT : 0);
#else
    return LR_CPU_NEON; /* ASIMD is mandatory in AArch64; dotprod unknown */
#endif
}
#else
static unsigned read_features(void) { return 0; }
#endif

static unsigned g_features;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static void init(void) { g_features = read_features(); }

unsigned lr__cpu_features(void) {
    pthread_once(&g_once, init);
    return g_features;
}
