/* Fixed-point primitives that are not inlined (fixedpoint.py): the public dlnet_requant and the
 * LayerNorm's reciprocal square root. */
#include "dlnet_fixedpoint.h"

/* Mirrors fixedpoint.requant. */
int32_t dlnet_requant(int32_t x, int32_t mult, int32_t shift)
{
    return requant(x, mult, shift);
}

#define Q29 (1u << 29)
#define RSQRT_Y0_A 1252698795u   /* round(7/3 * 2^29) */
#define RSQRT_Y0_B 715827883u    /* round(4/3 * 2^29) */
#define RSQRT_ITERATIONS 4

/* Mirrors fixedpoint.rsqrt_multiplier. */
void dlnet_rsqrt(int64_t var, int32_t *mult, int32_t *shift)
{
    /* var = m / 4^j with m in [2^60, 2^62) (var < 2^62 by the eps check); y = 1/sqrt(m / 2^62)
     * in Q29 by Newton's iteration from the chord 7/3 - 4/3 mm, which overestimates the convex
     * 1/sqrt. j, the largest count of double shifts that keeps m below 2^62 (at most 30), is
     * found by trying 32, 16, 8, 4 and 2 bits.
     * The reference computes in int64; here every value is non-negative and fits 32 bits, so
     * unsigned 32 x 32 -> 64-bit products give the same integers: mm < 2^31; y <= 2^30 + 1
     * (the chord's peak at mm = 1/4, and a Newton step y (3 - mm y^2) / 2 never exceeds
     * 1/sqrt(mm) <= 2); so y2 = y^2 / 2^29 < 2^32, and e = mm y^2 <= 1.42 in Q29 (the chord
     * is at most 19% high), which keeps 3 - e positive. */
    uint64_t m = (uint64_t)var;
    uint32_t mm, y;
    int32_t j = 0, step, i;
    for (step = 16; step > 0; step /= 2) {
        if (m < ((uint64_t)1 << (62 - 2 * step))) {
            m <<= 2 * step;
            j += step;
        }
    }
    mm = (uint32_t)(m >> 31);
    y = RSQRT_Y0_A - (uint32_t)(((uint64_t)RSQRT_Y0_B * mm) >> 31);
    for (i = 0; i < RSQRT_ITERATIONS; i++) {
        const uint32_t y2 = (uint32_t)(((uint64_t)y * y) >> 29);
        const uint32_t e = (uint32_t)(((uint64_t)mm * y2) >> 31);
        y = (uint32_t)(((uint64_t)y * (3u * Q29 - e)) >> 30);
    }
    y = y < Q29 ? Q29 : (y > 2u * Q29 - 1u ? 2u * Q29 - 1u : y);
    *mult = (int32_t)(2u * y);
    *shift = j - 30 + DLNET_NORM_BITS;
}
