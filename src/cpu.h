/*
 * cpu.h — what this CPU and OS can run, read once for both kernel
 * dispatchers (kern.c for fp32, qkern.c for int8 / bf16).
 *
 * x86-64: CPUID leaf 1 (AVX, FMA, F16C, OSXSAVE), leaf 7 subleaf 0 (AVX2;
 * AVX-512 F/DQ/BW/VL in EBX; AVX512_VNNI in ECX bit 11), leaf 7 subleaf 1
 * (AVX-VNNI in EAX bit 4, AVX512_BF16 in EAX bit 5), and XGETBV: the OS must
 * save YMM state (and opmask + ZMM state for AVX-512). arm64: AT_HWCAP
 * ASIMD and ASIMDDP (the dot product).
 */
#ifndef LR_CPU_H
#define LR_CPU_H

enum {
    LR_CPU_AVX2 = 1 << 0,       /* AVX2 + FMA + F16C, YMM state saved */
    LR_CPU_AVX512 = 1 << 1,     /* + AVX-512 F/DQ/BW/VL, opmask and ZMM state saved */
    LR_CPU_AVX512VNNI = 1 << 2, /* + AVX512_VNNI */
    LR_CPU_AVX512BF16 = 1 << 3, /* + AVX512_VNNI and AVX512_BF16 */
    LR_CPU_AVXVNNI = 1 << 4,    /* AVX2 + AVX-VNNI (VEX vpdpbusd) */
    LR_CPU_NEON = 1 << 5,       /* AArch64 Advanced SIMD */
    LR_CPU_NEONDOT = 1 << 6,    /* + the dot-product extension (sdot) */
};

/* The LR_CPU_* bits of this machine (computed once; thread-safe). */
unsigned lr__cpu_features(void);

#endif /* LR_CPU_H */
