/* DLNet int8 inference core. The specification is dlnet/quant/reference.py and
 * dlnet/quant/fixedpoint.py; each function here names the reference function it mirrors.
 *
 * Where the time goes, and what keeps it low (instruction counts: benchmarks/core_speed.py):
 *   dot products  every input zero point is folded into the biases offline (blob.py), so the
 *                 inner loop is a bare multiply-accumulate; two rows share each load of the
 *                 input; with the DSP extension 4 int8 weights are one load, two SXTB16 and
 *                 two SMLAD (about 1.9 instructions per multiply-accumulate).
 *   requant       inlined; for factors below 1/2 (most of them) one SMULL and 32-bit
 *                 arithmetic, no 64-bit shift and no saturation.
 *   LayerNorm     one pass of sums; the variance needs no division (reference.layer_norm).
 * The int32 accumulator checks of dlnet_model_init bound every partial sum, so the order in
 * which products are added cannot change a result: every path gives the same integers. */
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

/* ---- Fixed-point primitives (fixedpoint.py) ---- */

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

/* requant for n = 31 - shift in [1, 31]: factors of 2^-1 and more, where the result can
 * exceed the int32 range. */
static int32_t requant_wide(int64_t prod, int32_t n)
{
    const int64_t r = asr64(prod + ((int64_t)1 << (n - 1)), n);
    return r < INT32_MIN ? INT32_MIN : (r > INT32_MAX ? INT32_MAX : (int32_t)r);
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

int32_t dlnet_requant(int32_t x, int32_t mult, int32_t shift)
{
    return requant(x, mult, shift);
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

#define Q29 (1u << 29)
#define RSQRT_Y0_A 1252698795u   /* round(7/3 * 2^29) */
#define RSQRT_Y0_B 715827883u    /* round(4/3 * 2^29) */
#define RSQRT_ITERATIONS 4

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

/* ---- Dot products: acc_r = bias_r + sum_j w_rj x_j over the rows of an int8 matrix ---- */

#if DLNET_DSP
/* 4 bytes from any address as one word (ARMv7-M allows an unaligned LDR). */
DLNET_INLINE int32_t load4(const void *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Bytes 1 and 3 of v sign-extended into two int16 lanes: SXTB16 with its rotation, which
 * GCC's <arm_acle.h> does not offer (__sxtb16 takes bytes 0 and 2). */
DLNET_INLINE int32_t sxtb16_ror8(int32_t v)
{
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

/* acc + the 4 products of the int8 weights in w with x, given as int16 lanes x02 = (x0, x2)
 * and x13 = (x1, x3): each SMLAD adds both of its lane products to acc. */
DLNET_INLINE int32_t mac4(int32_t w, int32_t x02, int32_t x13, int32_t acc)
{
    return __smlad(sxtb16_ror8(w), x13, __smlad(__sxtb16(w), x02, acc));
}

/* Lanes (x0, x2) and (x1, x3) of 4 int16 at x (PKHBT, PKHTB). */
DLNET_INLINE int32_t even16(const int16_t *x)
{
    return (int32_t)(((uint32_t)load4(x) & 0xFFFFu) | ((uint32_t)load4(x + 2) << 16));
}

DLNET_INLINE int32_t odd16(const int16_t *x)
{
    return (int32_t)(((uint32_t)load4(x) >> 16) | ((uint32_t)load4(x + 2) & 0xFFFF0000u));
}

/* The two-row loops below do what mac4 does, twice per step, as one asm loop: in C, GCC -Os
 * (the Arduino build) recomputes the four pointers from a shared index on every iteration and
 * spills, about 2.6 instructions per multiply-accumulate instead of 1.9. The loop uses 10
 * registers, so it also builds without optimization, where r7 is the frame pointer. */
#define DLNET_ROW_STEP(w, a)                                                                   \
    "ldr    %[t], [%[" w "]], #4\n\t"       /* 4 weights */                                   \
    "sxtb16 %[u], %[t], ror #8\n\t"         /* (w1, w3) */                                    \
    "sxtb16 %[t], %[t]\n\t"                 /* (w0, w2) */                                    \
    "smlad  %[" a "], %[t], %[x02], %[" a "]\n\t"                                              \
    "smlad  %[" a "], %[u], %[x13], %[" a "]\n\t"
#endif

/* One row: acc + sum_j w_j x_j. */
static int32_t row_s8(const int8_t *w, int32_t n, const int8_t *x, int32_t acc)
{
    int32_t j = 0;
#if DLNET_DSP
    for (; j + 4 <= n; j += 4) {
        const int32_t xv = load4(x + j);
        acc = mac4(load4(w + j), __sxtb16(xv), sxtb16_ror8(xv), acc);
    }
#endif
    for (; j < n; j++) {
        acc += w[j] * x[j];
    }
    return acc;
}

static int32_t row_s16(const int8_t *w, int32_t n, const int16_t *x, int32_t acc)
{
    int32_t j = 0;
#if DLNET_DSP
    for (; j + 4 <= n; j += 4) {
        acc = mac4(load4(w + j), even16(x + j), odd16(x + j), acc);
    }
#endif
    for (; j < n; j++) {
        acc += w[j] * x[j];
    }
    return acc;
}

/* Two consecutive rows of length n at w, sharing each load of x: acc[r] += sum_j w_rj x_j. */
DLNET_INLINE void rows2_s8(const int8_t *w, int32_t n, const int8_t *x, int32_t acc[2])
{
    const int8_t *w0 = w, *w1 = w + n;
    int32_t a0 = acc[0], a1 = acc[1], j;
#if DLNET_DSP
    int32_t groups = n >> 2, x02, x13, t, u;
    if (groups > 0) {
        __asm__("1:\n\t"
                "ldr    %[x13], [%[x]], #4\n\t"     /* 4 inputs */
                "sxtb16 %[x02], %[x13]\n\t"         /* (x0, x2) */
                "sxtb16 %[x13], %[x13], ror #8\n\t" /* (x1, x3) */
                DLNET_ROW_STEP("w0", "a0")
                DLNET_ROW_STEP("w1", "a1")
                "subs   %[groups], %[groups], #1\n\t"
                "bne    1b"
                : [x] "+r"(x), [w0] "+r"(w0), [w1] "+r"(w1), [groups] "+r"(groups),
                  [a0] "+r"(a0), [a1] "+r"(a1), [x02] "=&r"(x02), [x13] "=&r"(x13),
                  [t] "=&r"(t), [u] "=&r"(u)
                :
                : "cc", "memory");
    }
    n &= 3;                    /* the pointers now stand at the last n % 4 columns */
#endif
    for (j = 0; j < n; j++) {
        const int32_t xj = x[j];
        a0 += w0[j] * xj;
        a1 += w1[j] * xj;
    }
    acc[0] = a0;
    acc[1] = a1;
}

DLNET_INLINE void rows2_s16(const int8_t *w, int32_t n, const int16_t *x, int32_t acc[2])
{
    const int8_t *w0 = w, *w1 = w + n;
    int32_t a0 = acc[0], a1 = acc[1], j;
#if DLNET_DSP
    int32_t groups = n >> 2, x02, x13, t, u;
    if (groups > 0) {
        __asm__("1:\n\t"
                "ldr    %[t], [%[x]], #4\n\t"               /* (x0, x1) */
                "ldr    %[u], [%[x]], #4\n\t"               /* (x2, x3) */
                "pkhbt  %[x02], %[t], %[u], lsl #16\n\t"    /* (x0, x2) */
                "pkhtb  %[x13], %[u], %[t], asr #16\n\t"    /* (x1, x3) */
                DLNET_ROW_STEP("w0", "a0")
                DLNET_ROW_STEP("w1", "a1")
                "subs   %[groups], %[groups], #1\n\t"
                "bne    1b"
                : [x] "+r"(x), [w0] "+r"(w0), [w1] "+r"(w1), [groups] "+r"(groups),
                  [a0] "+r"(a0), [a1] "+r"(a1), [x02] "=&r"(x02), [x13] "=&r"(x13),
                  [t] "=&r"(t), [u] "=&r"(u)
                :
                : "cc", "memory");
    }
    n &= 3;
#endif
    for (j = 0; j < n; j++) {
        const int32_t xj = x[j];
        a0 += w0[j] * xj;
        a1 += w1[j] * xj;
    }
    acc[0] = a0;
    acc[1] = a1;
}

/* The accumulators of the next rows of a matrix (w and bias at the first of them, `left` rows
 * remain): 2 rows while 2 remain, then 1. Returns how many rows it put in acc. For the cell,
 * whose rows feed a fine sum rather than one output each. */
DLNET_INLINE int32_t rows_s8(const int8_t *w, const uint8_t *bias, int32_t n, int32_t left,
                             const int8_t *x, int32_t acc[2])
{
    if (left < 2) {
        acc[0] = row_s8(w, n, x, rd32(bias));
        return 1;
    }
    acc[0] = rd32(bias);
    acc[1] = rd32(bias + 4);
    rows2_s8(w, n, x, acc);
    return 2;
}

/* ---- Ops (reference.py) ---- */

void dlnet_scale_input(const dlnet_anchor_t *p, int32_t n, const int16_t *x, int16_t *d,
                       int32_t *anchor, int32_t *u_sum)
{
    int32_t a = p->constant, sum = 0, j = 0;
    if (p->kind == 1) {
        int32_t s = 0;
        for (j = n - p->length; j < n; j++) {
            s += x[j];
        }
        a = clamp32(requant(s, p->mult, p->shift), INT16_LO, INT16_HI);
    }
    j = 0;
#if DLNET_DSP
    {
        /* 2 values per step: QSUB16 is sat16(x - a) in both lanes, SMLAD by (1, 1) adds both */
        const int32_t aa = (int32_t)(((uint32_t)a & 0xFFFFu) * 0x00010001u);
        for (; j + 2 <= n; j += 2) {
            const int32_t dd = __qsub16(load4(x + j), aa);
            memcpy(d + j, &dd, sizeof dd);
            sum = __smlad(dd, 0x00010001, sum);
        }
    }
#endif
    for (; j < n; j++) {
        d[j] = (int16_t)clamp32((int32_t)x[j] - a, INT16_LO, INT16_HI);
        sum += d[j];
    }
    *anchor = a;
    *u_sum = sum;
}

/* Row i's output: offset + requant(acc, mult_i, shift_i) clamped to [lo, hi], stored to out8
 * (int8) or, if that is NULL, out16 (int16) (fully_connected, output_soh). The caller passes
 * lo and hi less the offset: clamping requant's int32 to [lo - offset, hi - offset] before
 * adding the offset gives the same value and cannot overflow when requant saturates. */
DLNET_INLINE void fc_store(int32_t i, int32_t acc, const uint8_t *mult, const int8_t *shift,
                           int32_t offset, int32_t lo, int32_t hi, int8_t *out8, int16_t *out16)
{
    const int32_t v = offset + clamp32(requant_ch(acc, mult, shift, i), lo, hi);
    if (out8 != NULL) {
        out8[i] = (int8_t)v;
    } else {
        out16[i] = (int16_t)v;
    }
}

/* A fully connected layer, two rows at a time (the last one alone when their number is odd),
 * int8 inputs. The layer's fields are copied to locals first: the int8 stores could alias
 * them, and the compiler would reload every one of them for every row. */
static void fc_rows_s8(const dlnet_fc_t *p, const int8_t *in, int32_t offset, int32_t lo,
                       int32_t hi, int8_t *out8, int16_t *out16)
{
    const int32_t n = p->in, rows = p->out;
    const int8_t *const weight = p->weight, *const shift = p->shift;
    const uint8_t *const bias = p->bias, *const mult = p->mult;
    int32_t i;
    lo -= offset;
    hi -= offset;
    for (i = 0; i + 2 <= rows; i += 2) {
        int32_t acc[2];
        acc[0] = rd32(bias + 4 * i);
        acc[1] = rd32(bias + 4 * i + 4);
        rows2_s8(weight + i * n, n, in, acc);
        fc_store(i, acc[0], mult, shift, offset, lo, hi, out8, out16);
        fc_store(i + 1, acc[1], mult, shift, offset, lo, hi, out8, out16);
    }
    if (i < rows) {
        fc_store(i, row_s8(weight + i * n, n, in, rd32(bias + 4 * i)), mult, shift, offset, lo,
                 hi, out8, out16);
    }
}

/* The same for int16 inputs and int16 outputs (the first layer). */
static void fc_rows_s16(const dlnet_fc_t *p, const int16_t *in, int16_t *out)
{
    const int32_t n = p->in, rows = p->out, offset = p->output_offset;
    const int32_t lo = p->act_min - offset, hi = p->act_max - offset;
    const int8_t *const weight = p->weight, *const shift = p->shift;
    const uint8_t *const bias = p->bias, *const mult = p->mult;
    int32_t i;
    for (i = 0; i + 2 <= rows; i += 2) {
        int32_t acc[2];
        acc[0] = rd32(bias + 4 * i);
        acc[1] = rd32(bias + 4 * i + 4);
        rows2_s16(weight + i * n, n, in, acc);
        fc_store(i, acc[0], mult, shift, offset, lo, hi, NULL, out);
        fc_store(i + 1, acc[1], mult, shift, offset, lo, hi, NULL, out);
    }
    if (i < rows) {
        fc_store(i, row_s16(weight + i * n, n, in, rd32(bias + 4 * i)), mult, shift, offset, lo,
                 hi, NULL, out);
    }
}

void dlnet_fc_s16_s16(const dlnet_fc_t *p, const int16_t *in, int16_t *out)
{
    fc_rows_s16(p, in, out);
}

void dlnet_fc_s8_s16(const dlnet_fc_t *p, const int8_t *in, int16_t *out)
{
    fc_rows_s8(p, in, p->output_offset, p->act_min, p->act_max, NULL, out);
}

void dlnet_fc_s8_s8(const dlnet_fc_t *p, const int8_t *in, int8_t *out)
{
    fc_rows_s8(p, in, p->output_offset, p->act_min, p->act_max, out, NULL);
}

void dlnet_fc_s8_soh(const dlnet_fc_t *p, const int8_t *in, int32_t anchor, int16_t *out)
{
    fc_rows_s8(p, in, anchor, INT16_LO, INT16_HI, NULL, out);
}

void dlnet_layer_norm(const dlnet_ln_t *p, const int16_t *in, int8_t *out)
{
    /* With S = sum x and d_i = n x_i - S (exact, no rounded mean), the variance term
     * sum d_i^2 / n is n sum x^2 - S^2 exactly (reference.layer_norm): one pass of sums, no
     * division. For n <= 512: |S| < 2^24, sum x^2 < 2^39, |d_i| < 2^25.
     * Fields in locals: the int8 stores could alias them (see fc_rows_s8). */
    const int32_t n = p->n, offset = p->output_offset, lo = p->act_min, hi = p->act_max;
    const uint8_t *const gain_mult = p->gain_mult, *const beta = p->offset;
    const int8_t *const gain_shift = p->gain_shift;
    int32_t s = 0, i, mult, shift;
    int64_t sq = 0;
    for (i = 0; i < n; i++) {
        const int32_t x = in[i];
        s += x;
        sq += x * x;
    }
    dlnet_rsqrt(n * sq - (int64_t)s * s + p->eps, &mult, &shift);
    for (i = 0; i < n; i++) {
        const int32_t norm = requant(n * in[i] - s, mult, shift);
        const int64_t total =
            (int64_t)requant_ch(norm, gain_mult, gain_shift, i) + rd32(beta + 4 * i);
        out[i] = (int8_t)finish(total, offset, lo, hi);
    }
}

void dlnet_lookup(const int8_t *table, int32_t n, const int8_t *in, int8_t *out)
{
    int32_t i;
    for (i = 0; i < n; i++) {
        out[i] = table[(int32_t)in[i] + 128];
    }
}

/* Unit k's tanh input from its coupling accumulator: coupling + drive + bias as one fine sum
 * (liquid_step). */
static int32_t pre_activation(const dlnet_cell_t *c, int32_t k, int32_t acc, const int8_t *h,
                              int32_t u_sum)
{
    int64_t total = (int64_t)rd32(c->bias + 4 * k) +
                    requant_ch(u_sum, c->drive_mult, c->drive_shift, k);
    if (c->coupling == 0) {
        total += requant_ch(acc, c->W_mult, c->W_shift, k);
    } else {
        total += requant_ch(acc, c->U_mult, c->U_shift, k);
        total += requant_ch((int32_t)h[k] - c->state_offset, c->diag_mult, c->diag_shift, k);
    }
    return finish(total, c->pre_offset, INT8_LO, INT8_HI);
}

void dlnet_liquid_step(const dlnet_cell_t *c, int8_t *h, int8_t *pre, int8_t *p, int32_t u_sum)
{
    const int32_t w = c->width;
    int32_t acc[2], k, r, rows;
    if (c->coupling == 1) {
        dlnet_fc_s8_s8(&c->V, h, p);
    }
    /* Every pre-activation reads the whole old h, so all of them come before the update. */
    for (k = 0; k < w; k += rows) {
        rows = c->coupling == 0
                   ? rows_s8(c->W + k * w, c->W_bias + 4 * k, w, w - k, h, acc)
                   : rows_s8(c->U + k * c->rank, c->U_bias + 4 * k, c->rank, w - k, p, acc);
        for (r = 0; r < rows; r++) {
            pre[k + r] = (int8_t)pre_activation(c, k + r, acc[r], h, u_sum);
        }
    }
    dlnet_lookup(c->tanh, w, pre, pre);
    for (k = 0; k < w; k++) {
        const int64_t total =
            (int64_t)requant_ch((int32_t)h[k] - c->state_offset, c->keep_mult, c->keep_shift, k) +
            requant_ch(pre[k], c->gain_mult, c->gain_shift, k);
        h[k] = (int8_t)finish(total, c->state_offset, INT8_LO, INT8_HI);
    }
}

void dlnet_residual(const dlnet_residual_t *p, int32_t width, int32_t state_offset,
                    const int8_t *h, const int8_t *h0, int8_t *out)
{
    int32_t k;
    for (k = 0; k < width; k++) {
        const int64_t total =
            (int64_t)requant((int32_t)h[k] - state_offset, p->h_mult, p->h_shift) +
            requant((int32_t)h0[k] - state_offset, p->h0_mult, p->h0_shift);
        out[k] = (int8_t)finish(total, p->output_offset, INT8_LO, INT8_HI);
    }
}

/* ---- Scratch plan (qmodel.scratch_bytes) ---- */

static size_t round4(size_t n)
{
    return (n + 3u) / 4u * 4u;
}

static size_t max4(size_t a, size_t b, size_t c, size_t d)
{
    size_t m = a > b ? a : b;
    m = m > c ? m : c;
    return m > d ? m : d;
}

/* Region a: the int16 scaled input, each LayerNorm's int8 output, the residual.
 * Region b: each int16 Linear output that feeds a LayerNorm, the int8 decoder middle layer.
 * Region c: the cell's h0, h, tanh input and the low-rank projection. */
static size_t region_a(int32_t n_in, int32_t e, int32_t w, int32_t d1)
{
    return round4(max4(2u * (size_t)n_in, (size_t)e, (size_t)w, (size_t)d1));
}

static size_t region_b(int32_t e, int32_t w, int32_t d1, int32_t d2)
{
    return round4(max4(2u * (size_t)e, 2u * (size_t)w, 2u * (size_t)d1, (size_t)d2));
}

size_t dlnet_scratch_bytes(int32_t input_len, int32_t enc_hidden, int32_t width,
                           int32_t dec_hidden, int32_t dec_mid, int32_t rank)
{
    return region_a(input_len, enc_hidden, width, dec_hidden) +
           region_b(enc_hidden, width, dec_hidden, dec_mid) +
           round4(3u * (size_t)width + (size_t)rank);
}

int dlnet_run(const dlnet_model_t *m, const int16_t *soh_in, int16_t *soh_out, void *scratch,
              size_t scratch_bytes)
{
    int16_t *a16, *b16;
    int8_t *a8, *b8, *h0, *h, *pre, *p;
    int32_t anchor, u_sum, step;
    int32_t trend[3] = {0, 0, 0};
    if (m == NULL || soh_in == NULL || soh_out == NULL || scratch == NULL) {
        return DLNET_ERR_ARG;
    }
    if (m->ready != DLNET_MAGIC) {
        return DLNET_ERR_MODEL;
    }
    if (scratch_bytes < m->scratch_bytes || ((uintptr_t)scratch & 1u) != 0u) {
        return DLNET_ERR_SCRATCH;
    }
    a16 = (int16_t *)scratch;
    a8 = (int8_t *)scratch;
    b8 = a8 + region_a(m->input_len, m->enc_hidden, m->width, m->dec_hidden);
    b16 = (int16_t *)(void *)b8;
    h0 = b8 + region_b(m->enc_hidden, m->width, m->dec_hidden, m->dec_mid_size);
    h = h0 + m->width;
    pre = h + m->width;
    p = pre + m->width;

    dlnet_scale_input(&m->anchor, m->input_len, soh_in, a16, &anchor, &u_sum);
    if (m->trend.length != 0) {
        dlnet_trend_coefficients(&m->trend, m->input_len, a16, trend);
    }
    if (m->network != DLNET_NETWORK_LIQUID) {
        /* reference.run_without_liquid: the linear layer's output or zeros, then the anchor
         * and the trend (zero coefficients without one) */
        if (m->network == DLNET_NETWORK_LINEAR) {
            dlnet_fc_s16_s16(&m->linear, a16, soh_out);
        } else {
            memset(soh_out, 0, (size_t)m->output_len * sizeof *soh_out);
        }
        dlnet_add_trend(trend, anchor, m->output_len, soh_out);
        return DLNET_OK;
    }
    dlnet_fc_s16_s16(&m->enc_in, a16, b16);
    dlnet_layer_norm(&m->enc_norm, b16, a8);
    dlnet_fc_s8_s16(&m->enc_out, a8, b16);
    dlnet_layer_norm(&m->lat_norm, b16, h0);
    dlnet_lookup(m->lat_tanh, m->width, h0, h0);
    memcpy(h, h0, (size_t)m->width);
    for (step = 0; step < m->steps; step++) {
        dlnet_liquid_step(&m->cell, h, pre, p, u_sum);
    }
    dlnet_residual(&m->residual, m->width, m->cell.state_offset, h, h0, a8);
    dlnet_fc_s8_s16(&m->dec_in, a8, b16);
    dlnet_layer_norm(&m->dec_norm, b16, a8);
    dlnet_fc_s8_s8(&m->dec_mid, a8, b8);
    if (m->trend.length == 0) {
        dlnet_fc_s8_soh(&m->dec_out, b8, anchor, soh_out);
    } else {
        /* the forecast anchor is the parabola; the output layer adds the correction to it */
        dlnet_fc_s8_soh(&m->dec_out, b8, 0, soh_out);
        dlnet_add_trend(trend, anchor, m->output_len, soh_out);
    }
    return DLNET_OK;
}

/* ---- The quadratic scaling's forecast anchor (reference.trend_coefficients, add_trend) ---- */

void dlnet_trend_coefficients(const dlnet_trend_t *p, int32_t n, const int16_t *d, int32_t c[3])
{
    const int16_t *x = d + (n - p->length);
    int32_t j, i;
    for (j = 0; j < 3; j++) {
        /* |w| < 2^31, |d| <= 2^15, length <= 1024: the int64 sum is exact */
        const uint8_t *w = p->weight + 4 * (size_t)j * (size_t)p->length;
        int64_t acc = 0, r;
        for (i = 0; i < p->length; i++) {
            acc += (int64_t)rd32(w + 4 * i) * x[i];
        }
        r = asr64(acc + ((int64_t)1 << (p->shift[j] - 1)), p->shift[j]);
        c[j] = r < INT32_MIN ? INT32_MIN : (r > INT32_MAX ? INT32_MAX : (int32_t)r);
    }
}

void dlnet_add_trend(const int32_t c[3], int32_t anchor, int32_t n, int16_t *out)
{
    /* level, slope and curvature on the curvature's 2^-24 grid: |total| < 2^52 */
    const int64_t level = (int64_t)c[0] * ((int64_t)1 << (DLNET_TREND_BITS2 - DLNET_TREND_BITS0));
    const int64_t slope = (int64_t)c[1] * ((int64_t)1 << (DLNET_TREND_BITS2 - DLNET_TREND_BITS1));
    int32_t t;
    for (t = 1; t <= n; t++) {
        const int64_t total = level + slope * t + (int64_t)c[2] * ((int64_t)t * t);
        const int32_t b = clamp32(
            anchor + (int32_t)asr64(total + ((int64_t)1 << (DLNET_TREND_BITS2 - 1)), DLNET_TREND_BITS2),
            INT16_LO, INT16_HI);
        out[t - 1] = (int16_t)clamp32((int32_t)out[t - 1] + b, INT16_LO, INT16_HI);
    }
}

/* ---- Model parsing and validation (blob.py, qmodel.check) ---- */

static uint32_t crc32(const uint8_t *p, size_t n)
{
    /* zlib's CRC-32 (reflected, polynomial 0xEDB88320), a nibble at a time: a 64-byte table
     * instead of a 1 KB one, and a quarter of the bitwise loop's work at start-up.
     * table[i] is the CRC register after shifting the nibble i through 4 steps. */
    static const uint32_t table[16] = {
        0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u,
        0x4DB26158u, 0x5005713Cu, 0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu,
        0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu};
    uint32_t c = 0xFFFFFFFFu;
    while (n--) {
        c ^= *p++;
        c = (c >> 4) ^ table[c & 15u];
        c = (c >> 4) ^ table[c & 15u];
    }
    return ~c;
}

typedef struct {
    const uint8_t *p;
    size_t left;
    int err;                   /* first error met, DLNET_OK while all is well */
} reader_t;

/* The next field of n bytes; every field fills a multiple of 4 bytes, the rest padding. */
static const uint8_t *take(reader_t *r, size_t n)
{
    const uint8_t *q = r->p;
    n = round4(n);
    if (r->err != DLNET_OK || n > r->left) {
        if (r->err == DLNET_OK) {
            r->err = DLNET_ERR_SIZE;
        }
        return NULL;
    }
    r->p += n;
    r->left -= n;
    return q;
}

static int32_t take_i32(reader_t *r)
{
    const uint8_t *q = take(r, 4);
    return q ? rd32(q) : 0;
}

static void need(reader_t *r, int ok)
{
    if (!ok && r->err == DLNET_OK) {
        r->err = DLNET_ERR_PARAM;
    }
}

static int in_range(int64_t v, int64_t lo, int64_t hi)
{
    return v >= lo && v <= hi;
}

static int mult_ok(int32_t mult, int32_t shift)
{
    const int32_t lo = 0x40000000;
    const int normalized = mult == 0 || mult >= lo || (mult <= -lo && mult != INT32_MIN);
    return normalized && in_range(shift, -31, 30);
}

static void check_mults(reader_t *r, const uint8_t *mult, const int8_t *shift, int32_t n)
{
    int32_t i;
    for (i = 0; mult != NULL && shift != NULL && i < n; i++) {
        need(r, mult_ok(rd32(mult + 4 * i), shift[i]));
    }
}

/* |b_i| + sum_j |w_ij| max|x_j| <= INT32_MAX for every row: then no partial sum of a row can
 * overflow an int32 accumulator, in whatever order its products are added. */
static void check_acc(reader_t *r, const int8_t *w, const uint8_t *bias, int32_t rows, int32_t cols,
                      int64_t x_peak)
{
    int32_t i, j;
    for (i = 0; w != NULL && bias != NULL && i < rows; i++) {
        const int8_t *row = w + i * cols;
        const int64_t b = rd32(bias + 4 * i);
        int32_t s = 0;         /* at most 1024 * 128 */
        for (j = 0; j < cols; j++) {
            s += row[j] < 0 ? -row[j] : row[j];
        }
        need(r, s * x_peak + (b < 0 ? -b : b) <= INT32_MAX);
    }
}

/* in16/out16: the layer's input and output are int16 (else int8). */
static void read_fc(reader_t *r, dlnet_fc_t *f, int32_t in, int32_t out, int in16, int out16)
{
    const int32_t lo = out16 ? INT16_LO : INT8_LO, hi = out16 ? INT16_HI : INT8_HI;
    f->in = in;
    f->out = out;
    f->output_offset = take_i32(r);
    f->act_min = take_i32(r);
    f->act_max = take_i32(r);
    f->weight = (const int8_t *)take(r, (size_t)in * (size_t)out);
    f->bias = take(r, 4u * (size_t)out);
    f->mult = take(r, 4u * (size_t)out);
    f->shift = (const int8_t *)take(r, (size_t)out);
    need(r, in_range(f->output_offset, lo, hi) && in_range(f->act_min, lo, hi) &&
                in_range(f->act_max, f->act_min, hi));
    check_mults(r, f->mult, f->shift, out);
    check_acc(r, f->weight, f->bias, out, in, in16 ? -INT16_LO : -INT8_LO);
}

static void read_ln(reader_t *r, dlnet_ln_t *l, int32_t n)
{
    const uint8_t *eps = take(r, 8);
    l->n = n;
    l->eps = 0;
    if (eps != NULL) {
        const uint32_t hi = (uint32_t)rd32(eps + 4);
        /* eps in [1, 2^61): the high word is below 2^29, so it is non-negative. */
        need(r, hi < (1u << 29));
        l->eps = (int64_t)(uint32_t)rd32(eps) + ((int64_t)(hi & 0x1FFFFFFFu) << 32);
        need(r, l->eps >= 1);
    }
    l->output_offset = take_i32(r);
    l->act_min = take_i32(r);
    l->act_max = take_i32(r);
    l->gain_mult = take(r, 4u * (size_t)n);
    l->gain_shift = (const int8_t *)take(r, (size_t)n);
    l->offset = take(r, 4u * (size_t)n);
    need(r, in_range(l->output_offset, INT8_LO, INT8_HI) &&
                in_range(l->act_min, INT8_LO, INT8_HI) &&
                in_range(l->act_max, l->act_min, INT8_HI));
    check_mults(r, l->gain_mult, l->gain_shift, n);
}

static void read_cell(reader_t *r, dlnet_cell_t *c)
{
    const size_t w = (size_t)c->width;
    c->state_offset = take_i32(r);
    c->pre_offset = take_i32(r);
    need(r, in_range(c->state_offset, INT8_LO, INT8_HI) &&
                in_range(c->pre_offset, INT8_LO, INT8_HI));
    if (c->coupling == 0) {
        c->W = (const int8_t *)take(r, w * w);
        c->W_bias = take(r, 4u * w);
        c->W_mult = take(r, 4u * w);
        c->W_shift = (const int8_t *)take(r, w);
        check_mults(r, c->W_mult, c->W_shift, c->width);
        check_acc(r, c->W, c->W_bias, c->width, c->width, -INT8_LO);
    } else {
        read_fc(r, &c->V, c->width, c->rank, 0, 0);
        c->diag_mult = take(r, 4u * w);
        c->diag_shift = (const int8_t *)take(r, w);
        c->U = (const int8_t *)take(r, w * (size_t)c->rank);
        c->U_bias = take(r, 4u * w);
        c->U_mult = take(r, 4u * w);
        c->U_shift = (const int8_t *)take(r, w);
        check_mults(r, c->diag_mult, c->diag_shift, c->width);
        check_mults(r, c->U_mult, c->U_shift, c->width);
        check_acc(r, c->U, c->U_bias, c->width, c->rank, -INT8_LO);
    }
    c->bias = take(r, 4u * w);
    c->drive_mult = take(r, 4u * w);
    c->drive_shift = (const int8_t *)take(r, w);
    c->tanh = (const int8_t *)take(r, 256);
    c->keep_mult = take(r, 4u * w);
    c->keep_shift = (const int8_t *)take(r, w);
    c->gain_mult = take(r, 4u * w);
    c->gain_shift = (const int8_t *)take(r, w);
    check_mults(r, c->drive_mult, c->drive_shift, c->width);
    check_mults(r, c->keep_mult, c->keep_shift, c->width);
    check_mults(r, c->gain_mult, c->gain_shift, c->width);
}

static void read_liquid(reader_t *r, dlnet_model_t *m, int32_t coupling);

static int read_model(reader_t *r, dlnet_model_t *m)
{
    int32_t coupling, scratch, j, liquid;
    m->network = take_i32(r);
    m->input_len = take_i32(r);
    m->output_len = take_i32(r);
    m->enc_hidden = take_i32(r);
    m->width = take_i32(r);
    m->dec_hidden = take_i32(r);
    m->dec_mid_size = take_i32(r);
    coupling = take_i32(r);
    m->rank = take_i32(r);
    m->steps = take_i32(r);
    m->trend.length = take_i32(r);
    scratch = take_i32(r);
    if (r->err != DLNET_OK) {
        return r->err;
    }
    /* Sizes first: everything below trusts them for pointer arithmetic. */
    liquid = m->network == DLNET_NETWORK_LIQUID;
    if (!in_range(m->network, DLNET_NETWORK_LIQUID, DLNET_NETWORK_NONE) ||
        !in_range(m->input_len, 1, DLNET_MAX_DIM) || !in_range(m->output_len, 1, DLNET_MAX_DIM) ||
        !in_range(m->trend.length, 0, m->input_len)) {
        return DLNET_ERR_SIZE;
    }
    if (liquid ? (!in_range(m->enc_hidden, 1, DLNET_MAX_NORM_DIM) ||
                  !in_range(m->width, 1, DLNET_MAX_NORM_DIM) ||
                  !in_range(m->dec_hidden, 1, DLNET_MAX_NORM_DIM) ||
                  !in_range(m->dec_mid_size, 1, DLNET_MAX_DIM) || !in_range(coupling, 0, 1) ||
                  !in_range(m->steps, 1, DLNET_MAX_STEPS) ||
                  !(coupling == 0 ? m->rank == 0 : in_range(m->rank, 1, m->width)))
               : (m->enc_hidden | m->width | m->dec_hidden | m->dec_mid_size | coupling |
                  m->rank | m->steps) != 0) {
        return DLNET_ERR_SIZE;
    }
    m->scratch_bytes = dlnet_scratch_bytes(m->input_len, m->enc_hidden, m->width, m->dec_hidden,
                                           m->dec_mid_size, m->rank);
    if ((size_t)scratch != m->scratch_bytes) {
        return DLNET_ERR_SIZE;
    }
    m->anchor.kind = take_i32(r);
    m->anchor.length = take_i32(r);
    m->anchor.constant = take_i32(r);
    m->anchor.mult = take_i32(r);
    m->anchor.shift = take_i32(r);
    need(r, in_range(m->anchor.kind, 0, 1) && in_range(m->anchor.constant, INT16_LO, INT16_HI) &&
                mult_ok(m->anchor.mult, m->anchor.shift) &&
                (m->anchor.kind == 0 || in_range(m->anchor.length, 1, m->input_len)));
    if (m->network == DLNET_NETWORK_LINEAR) {
        read_fc(r, &m->linear, m->input_len, m->output_len, 1, 1);
    } else if (liquid) {
        read_liquid(r, m, coupling);
    }
    if (m->trend.length != 0) {
        m->trend.weight = take(r, 12u * (size_t)m->trend.length);
        for (j = 0; j < 3; j++) {
            m->trend.shift[j] = take_i32(r);
            need(r, in_range(m->trend.shift[j], 1, 62));
        }
        need(r, m->anchor.kind == 1);
    }
    if (r->err == DLNET_OK && r->left != 0) {
        r->err = DLNET_ERR_SIZE;
    }
    return r->err;
}

/* The liquid network's sections, from enc_in to dec_out (blob._liquid). */
static void read_liquid(reader_t *r, dlnet_model_t *m, int32_t coupling)
{
    dlnet_residual_t *res = &m->residual;
    read_fc(r, &m->enc_in, m->input_len, m->enc_hidden, 1, 1);
    read_ln(r, &m->enc_norm, m->enc_hidden);
    read_fc(r, &m->enc_out, m->enc_hidden, m->width, 0, 1);
    read_ln(r, &m->lat_norm, m->width);
    m->lat_tanh = (const int8_t *)take(r, 256);
    m->cell.width = m->width;
    m->cell.rank = m->rank;
    m->cell.steps = m->steps;
    m->cell.coupling = coupling;
    read_cell(r, &m->cell);
    res->output_offset = take_i32(r);
    res->h_mult = take_i32(r);
    res->h_shift = take_i32(r);
    res->h0_mult = take_i32(r);
    res->h0_shift = take_i32(r);
    need(r, in_range(res->output_offset, INT8_LO, INT8_HI) && mult_ok(res->h_mult, res->h_shift) &&
                mult_ok(res->h0_mult, res->h0_shift));
    read_fc(r, &m->dec_in, m->width, m->dec_hidden, 0, 1);
    read_ln(r, &m->dec_norm, m->dec_hidden);
    read_fc(r, &m->dec_mid, m->dec_hidden, m->dec_mid_size, 0, 0);
    read_fc(r, &m->dec_out, m->dec_mid_size, m->output_len, 0, 1);
}

int dlnet_model_init(dlnet_model_t *m, const uint8_t *data, size_t size)
{
    reader_t r;
    int err;
    if (m == NULL || data == NULL) {
        return DLNET_ERR_ARG;
    }
    memset(m, 0, sizeof *m);
    if (size < 16u) {
        return DLNET_ERR_SIZE;
    }
    if ((uint32_t)rd32(data) != DLNET_MAGIC) {
        return DLNET_ERR_MAGIC;
    }
    if (rd32(data + 4) != DLNET_FORMAT_VERSION) {
        return DLNET_ERR_VERSION;
    }
    if ((uint32_t)rd32(data + 8) != size) {
        return DLNET_ERR_SIZE;
    }
    if (crc32(data + 16, size - 16u) != (uint32_t)rd32(data + 12)) {
        return DLNET_ERR_CHECKSUM;
    }
    r.p = data + 16;
    r.left = size - 16u;
    r.err = DLNET_OK;
    err = read_model(&r, m);
    if (err != DLNET_OK) {
        memset(m, 0, sizeof *m);
        return err;
    }
    m->ready = DLNET_MAGIC;
    return DLNET_OK;
}

/* Mirrors guard.check_window. The median of the k values before soh[i] is compared doubled, so
 * that an even k's median (the mean of the middle two) stays an integer. */
int dlnet_check_window(const int16_t *soh, int32_t n, int32_t *bad)
{
    int16_t before[DLNET_JUMP_WINDOW];
    int32_t i, j, k, twice_median, twice_step;
    if (bad != NULL) {
        *bad = -1;
    }
    if (soh == NULL || n < 0) {
        return DLNET_ERR_ARG;
    }
    for (i = 0; i < n; i++) {
        if (soh[i] < DLNET_SOH_MIN_Q || soh[i] > DLNET_SOH_MAX_Q) {
            if (bad != NULL) {
                *bad = i;
            }
            return DLNET_ERR_INPUT_RANGE;
        }
        k = i < DLNET_JUMP_WINDOW ? i : DLNET_JUMP_WINDOW;
        if (k < DLNET_JUMP_MIN_BEFORE) {
            continue;
        }
        for (j = 0; j < k; j++) {              /* insertion sort of the k values before */
            const int16_t v = soh[i - k + j];
            int32_t at = j;
            for (; at > 0 && before[at - 1] > v; at--) {
                before[at] = before[at - 1];
            }
            before[at] = v;
        }
        twice_median = (k % 2 != 0) ? 2 * (int32_t)before[k / 2]
                                    : (int32_t)before[k / 2 - 1] + (int32_t)before[k / 2];
        twice_step = 2 * (int32_t)soh[i] - twice_median;
        if (twice_step > 2 * DLNET_JUMP_MAX_Q || twice_step < -2 * DLNET_JUMP_MAX_Q) {
            if (bad != NULL) {
                *bad = i;
            }
            return DLNET_ERR_INPUT_JUMP;
        }
    }
    return DLNET_OK;
}

const char *dlnet_error_name(int code)
{
    switch (code) {
    case DLNET_OK: return "DLNET_OK";
    case DLNET_ERR_ARG: return "DLNET_ERR_ARG";
    case DLNET_ERR_MAGIC: return "DLNET_ERR_MAGIC";
    case DLNET_ERR_VERSION: return "DLNET_ERR_VERSION";
    case DLNET_ERR_SIZE: return "DLNET_ERR_SIZE";
    case DLNET_ERR_CHECKSUM: return "DLNET_ERR_CHECKSUM";
    case DLNET_ERR_PARAM: return "DLNET_ERR_PARAM";
    case DLNET_ERR_SCRATCH: return "DLNET_ERR_SCRATCH";
    case DLNET_ERR_MODEL: return "DLNET_ERR_MODEL";
    case DLNET_ERR_INPUT_RANGE: return "DLNET_ERR_INPUT_RANGE";
    case DLNET_ERR_INPUT_JUMP: return "DLNET_ERR_INPUT_JUMP";
    default: return "DLNET_ERR_UNKNOWN";
    }
}
