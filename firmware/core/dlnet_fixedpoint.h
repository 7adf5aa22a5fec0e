/* The int8 core's fixed-point primitives, shared by its C files and internal to the core
 * (the interface is dlnet_core.h). The specification is dlnet/quant/fixedpoint.py and
 * dlnet/quant/reference.py; each function names the function it mirrors. The core's files
 * follow their Python twins: dlnet_fixedpoint.c (fixedpoint.py), dlnet_ops.c (reference.py's
 * ops), dlnet_run.c (reference.run, qmodel.scratch_bytes), dlnet_model.c (blob.py,
 * qmodel.check), dlnet_guard.c (guard.py); dlnet/firmware/core_files.py lists them.
 *
 * Where the time goes, and what keeps it low (instruction counts: benchmarks/core_speed.py):
 *   dot products  every input zero point is folded into the biases offline (blob.py), so the
 *                 inner loop is a bare multiply-accumulate; two rows share each load of the
 *                 input; with the DSP extension 4 int8 weights are one load, two SXTB16 and
 *                 two SMLAD (about 1.9 instructions per multiply-accumulate).
 *   requant       inlined; for factors below 1/2 (most of them) one SMULL and 32-bit
 *                 arithmetic, no 64-bit shift and no saturation; for the others (the state's
 *                 factors near 1) the 64-bit shift in 32-bit halves.
 *   LayerNorm     one pass of sums; the variance needs no division (reference.layer_norm).
 *   trend         the parabola's three sums in one pass over the inputs; its values built up
 *                 by exact differences, no product per output step.
 *   -O2           dlnet_ops.c, where the loops are, asks GCC for -O2 in a -Os build.
 * The int32 accumulator checks of dlnet_model_init bound every partial sum, so the order in
 * which products are added cannot change a result: every path gives the same integers. */
#ifndef DLNET_FIXEDPOINT_H
#define DLNET_FIXEDPOINT_H

#include "dlnet_core.h"

#include <string.h>

/* The fast paths (dlnet_core.h): a little-endian target reads the blob's int32 with one load;
 * a little-endian Arm core with the DSP extension, compiled by GCC or Clang (GNU inline asm),
 * takes the dot products with SXTB16/SMLAD. -DDLNET_PORTABLE turns both off. */
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && !defined(DLNET_PORTABLE)
#define DLNET_LITTLE_ENDIAN (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
#else
#define DLNET_LITTLE_ENDIAN 0
#endif

#if DLNET_LITTLE_ENDIAN && defined(__ARM_FEATURE_DSP) && defined(__GNUC__)
#include <arm_acle.h>
#define DLNET_DSP 1
#else
#define DLNET_DSP 0
#endif

/* The helpers on the per-row and per-element paths are always inlined: at -Os (the Arduino
 * build) GCC would call them, and the call would cost as much as their work. */
#if defined(__GNUC__)
#define DLNET_INLINE static inline __attribute__((always_inline))
#else
#define DLNET_INLINE static inline
#endif

#define INT16_LO (-32768)
#define INT16_HI 32767
#define INT8_LO (-128)
#define INT8_HI 127

/* Little-endian int32 from 4 bytes at any address. */
DLNET_INLINE int32_t rd32(const uint8_t *p)
{
#if DLNET_LITTLE_ENDIAN
    int32_t v;
    memcpy(&v, p, sizeof v);   /* one load: the blob's byte order is the target's */
    return v;
#else
    /* written without implementation-defined conversions */
    const uint32_t u = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
                       ((uint32_t)p[3] << 24);
    return u <= 0x7FFFFFFFu ? (int32_t)u : -(int32_t)(~u) - 1;
#endif
}

/* floor(v / 2^n) for n in [0, 31] / [0, 63]. C99 leaves >> of a negative value
 * implementation-defined; this form is defined for every v, and GCC and Clang compile it to
 * one arithmetic shift. */
DLNET_INLINE int32_t asr32(int32_t v, int32_t n)
{
    return v < 0 ? ~(~v >> n) : v >> n;
}

DLNET_INLINE int64_t asr64(int64_t v, int32_t n)
{
    return v < 0 ? ~(~v >> n) : v >> n;
}

DLNET_INLINE int32_t clamp32(int32_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/* clamp32(v, INT16_LO, INT16_HI) as one SSAT on the DSP path (GCC does not see the pattern). */
DLNET_INLINE int32_t sat16(int32_t v)
{
#if DLNET_DSP
    int32_t r;
    /* asm: arm_acle.h's __ssat converts through unsigned, which -Wsign-conversion refuses */
    __asm__("ssat %0, #16, %1" : "=r"(r) : "r"(v));
    return r;
#else
    return clamp32(v, INT16_LO, INT16_HI);
#endif
}

/* n rounded up to a multiple of 4: the blob's sections and the scratch regions are aligned. */
DLNET_INLINE size_t round4(size_t n)
{
    return (n + 3u) / 4u * 4u;
}

/* requant for n = 31 - shift in [1, 31]: factors of 2^-1 and more, where the result can
 * exceed the int32 range. Inlined as well: the residual's and the Euler step's factors on the
 * state are near 1, so every unit of every step takes this path. */
DLNET_INLINE int32_t requant_wide(int64_t prod, int32_t n)
{
    /* In 32-bit halves, which n < 32 allows (a 64-bit shift by a variable costs GCC three
     * times as many instructions): p + 2^(n-1) = hi 2^32 + lo; the result's low word is
     * lo / 2^n with hi's lowest n bits above it, and it fits an int32 when the high word,
     * hi / 2^n, is its sign. */
    const uint64_t u = (uint64_t)prod;
    const uint32_t lo = (uint32_t)u + ((uint32_t)1 << (n - 1));
    const uint32_t uh = (uint32_t)(u >> 32) + (lo < (uint32_t)u);   /* the carry */
    const int32_t hi = uh <= 0x7FFFFFFFu ? (int32_t)uh : -(int32_t)(~uh) - 1;
    const uint32_t low = (lo >> n) | (uh << (32 - n));
    const int32_t r = low <= 0x7FFFFFFFu ? (int32_t)low : -(int32_t)(~low) - 1;
    if (asr32(hi, n) != asr32(r, 31)) {
        return hi < 0 ? INT32_MIN : INT32_MAX;
    }
    return r;
}

/* x * M * 2^(shift - 31) = floor((p + 2^(n - 1)) / 2^n) with p = x M and n = 31 - shift in
 * [1, 62], saturated to int32 (requant). |p| < 2^62, so nothing here can overflow. */
DLNET_INLINE int32_t requant(int32_t x, int32_t mult, int32_t shift)
{
    const int64_t prod = (int64_t)x * mult;
    const int32_t n = 31 - shift;
    if (shift < 0) {           /* n >= 32 */
        /* The usual case (factors below 2^-1), in 32-bit arithmetic after one SMULL:
         * floor((p + 2^(n-1)) / 2^n) = floor((q + 1) / 2) with q = floor(p / 2^(n-1)), and
         * q = floor(floor(p / 2^31) / 2^(n-32)), where floor(p / 2^31) fits an int32 and is the
         * product's high word with one more bit. The result is at most 2^30: no saturation. */
        const int32_t q = asr32((int32_t)asr64(prod, 31), n - 32);
        return asr32(q, 1) + (q & 1);
    }
    return requant_wide(prod, n);
}

/* Channel i's requantization from little-endian multiplier and shift arrays. */
DLNET_INLINE int32_t requant_ch(int32_t x, const uint8_t *mult, const int8_t *shift, int32_t i)
{
    return requant(x, rd32(mult + 4 * i), shift[i]);
}

/* A fine sum back to the output's integers: clamp(offset + shift_round(total, FINE), lo, hi)
 * (finish). total holds at most four int32 terms, so the rounded value fits an int32. */
DLNET_INLINE int32_t finish(int64_t total, int32_t offset, int32_t lo, int32_t hi)
{
    const int32_t v = (int32_t)asr64(total + (1 << (DLNET_FINE_BITS - 1)), DLNET_FINE_BITS);
    return clamp32(offset + v, lo, hi);
}

/* dlnet_run.c's scratch plan for a parsed model: sets m->region_a, m->region_b and
 * m->scratch_bytes from its input_len, n_signals, layers, width and rank (dlnet_model_init
 * calls it). */
void dlnet_plan_scratch(dlnet_model_t *m);

#endif /* DLNET_FIXEDPOINT_H */
