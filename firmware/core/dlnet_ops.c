/* The int8 ops (reference.py): the scaled input and signals, fully connected layers, LayerNorm,
 * table lookup, the liquid cell's Euler step, the residual and the quadratic trend, each mirroring
 * the reference function it names. The dot products that the fully connected layers and the
 * cell share come first. */
/* This file holds every per-element loop of an inference, and the Arduino build compiles at
 * -Os: the loops are built for speed (-O2) and the other files, which hold none, for size
 * (benchmarks/core_speed.py --optimize compares whole builds at either level). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__OPTIMIZE_SIZE__)
#pragma GCC optimize("O2")
#endif
#include "dlnet_fixedpoint.h"

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

/* Mirrors reference.scale_input. */
void dlnet_scale_input(const dlnet_anchor_t *p, int32_t n, const int32_t *x, int16_t *d,
                       int32_t *anchor, int32_t *u_sum)
{
    int32_t a = p->constant, sum = 0, j = 0;
    /* d first holds x14, from which the anchor comes; the int64 sum keeps x + 2^9 exact */
    for (j = 0; j < n; j++) {
        d[j] = (int16_t)sat16((int32_t)asr64((int64_t)x[j] + (1 << (DLNET_INPUT_SHIFT - 1)),
                                             DLNET_INPUT_SHIFT));
    }
    if (p->kind == 1) {
        int32_t s = 0;
        for (j = n - p->length; j < n; j++) {
            s += d[j];
        }
        a = clamp32(requant(s, p->mult, p->shift), INT16_LO, INT16_HI);
    }
    j = 0;
#if DLNET_DSP
    {
        /* 2 values per step: QSUB16 is sat16(x14 - a) in both lanes, SMLAD by (1, 1) adds both */
        const int32_t aa = (int32_t)(((uint32_t)a & 0xFFFFu) * 0x00010001u);
        for (; j + 2 <= n; j += 2) {
            const int32_t dd = __qsub16(load4(d + j), aa);
            memcpy(d + j, &dd, sizeof dd);
            sum = __smlad(dd, 0x00010001, sum);
        }
    }
#endif
    for (; j < n; j++) {
        d[j] = (int16_t)clamp32((int32_t)d[j] - a, INT16_LO, INT16_HI);
        sum += d[j];
    }
    *anchor = a;
    *u_sum = sum;
}

/* Mirrors reference.scale_signals. */
void dlnet_scale_signals(const dlnet_signals_t *p, int32_t n, const int32_t *raw, int16_t *d)
{
    int32_t j;
    for (j = 0; j < n; j++) {
        /* in int64 the difference of two int32 is exact; sat32 then keeps a raw value far from
         * the offset (a counter at its limit, a garbled reading) at the int32 end, where
         * requant and sat16 pin it to the end of the int16 range instead of wrapping */
        const int64_t v = (int64_t)raw[j] - rd32(p->offset + 4 * j);
        const int32_t v32 = v < INT32_MIN ? INT32_MIN : (v > INT32_MAX ? INT32_MAX : (int32_t)v);
        d[j] = (int16_t)clamp32(requant_ch(v32, p->mult, p->shift, j), INT16_LO, INT16_HI);
    }
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
 * them, and the compiler would reload every one of them for every row. Inlined into each of
 * its three callers, whose output type is then known in the row loop. */
DLNET_INLINE void fc_rows_s8(const dlnet_fc_t *p, const int8_t *in, int32_t offset, int32_t lo,
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

/* Mirrors reference.fully_connected, int16 in and out (the first layer). */
void dlnet_fc_s16_s16(const dlnet_fc_t *p, const int16_t *in, int16_t *out)
{
    fc_rows_s16(p, in, out);
}

/* Mirrors reference.fully_connected, int8 in, int16 out (feeds a LayerNorm). */
void dlnet_fc_s8_s16(const dlnet_fc_t *p, const int8_t *in, int16_t *out)
{
    fc_rows_s8(p, in, p->output_offset, p->act_min, p->act_max, NULL, out);
}

/* Mirrors reference.fully_connected, int8 in and out. */
void dlnet_fc_s8_s8(const dlnet_fc_t *p, const int8_t *in, int8_t *out)
{
    fc_rows_s8(p, in, p->output_offset, p->act_min, p->act_max, out, NULL);
}

/* Mirrors reference.output_soh. */
void dlnet_fc_s8_soh(const dlnet_fc_t *p, const int8_t *in, int32_t anchor, int16_t *out)
{
    fc_rows_s8(p, in, anchor, INT16_LO, INT16_HI, NULL, out);
}

/* Mirrors reference.layer_norm. */
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

/* Mirrors reference.lookup. */
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

/* Mirrors reference.coupling and reference.liquid_step. */
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

/* Mirrors reference.residual. */
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

/* ---- The quadratic scaling's forecast anchor (reference.trend_coefficients, add_trend) ---- */

/* Mirrors reference.trend_coefficients. */
void dlnet_trend_coefficients(const dlnet_trend_t *p, int32_t n, const int32_t *x, int32_t anchor,
                              int32_t c[3])
{
    /* The three sums in one pass, each input loaded once for its three weights (an SMLAL
     * each). The pointers walk: given an index, GCC -Os recomputes the addresses and spills.
     * |w| < 2^26, |e| <= 2^25, length <= 1024: the int64 sums are exact. */
    const int32_t stride = 4 * p->length, stride2 = 2 * stride;
    const int64_t a24 = (int64_t)anchor * (1 << DLNET_INPUT_SHIFT);
    const int64_t lo = (int64_t)INT16_LO * (1 << DLNET_INPUT_SHIFT);
    const int64_t hi = ((int64_t)INT16_HI + 1) * (1 << DLNET_INPUT_SHIFT) - 1;
    const int32_t *v = x + (n - p->length), *const end = x + n;
    const uint8_t *w = p->weight;
    int64_t a0 = 0, a1 = 0, a2 = 0;
    int32_t j;
    while (v != end) {
        const int64_t e = *v++ - a24;
        const int32_t xi = (int32_t)(e < lo ? lo : (e > hi ? hi : e));
        a0 += (int64_t)rd32(w) * xi;
        a1 += (int64_t)rd32(w + stride) * xi;
        a2 += (int64_t)rd32(w + stride2) * xi;
        w += 4;
    }
    for (j = 0; j < 3; j++) {
        const int64_t acc[3] = {a0, a1, a2};
        const int64_t r = asr64(acc[j] + ((int64_t)1 << (p->shift[j] - 1)), p->shift[j]);
        c[j] = r < INT32_MIN ? INT32_MIN : (r > INT32_MAX ? INT32_MAX : (int32_t)r);
    }
}

/* Mirrors reference.add_trend. */
void dlnet_add_trend(const int32_t c[3], int32_t anchor, int32_t n, int16_t *out)
{
    /* level + slope t + curvature t^2 on the curvature's 2^-24 grid, |total| < 2^52, with the
     * rounding's half added once. Built up by exact differences instead of multiplied out for
     * each t: the step from t - 1 to t is slope + curvature (2t - 1), and each step is
     * 2 curvature more than the last. No product per t, and the same integers. */
    const int64_t half = (int64_t)1 << (DLNET_TREND_BITS2 - 1);
    const int64_t slope = (int64_t)c[1] * ((int64_t)1 << (DLNET_TREND_BITS2 - DLNET_TREND_BITS1));
    const int64_t curve2 = 2 * (int64_t)c[2];
    int64_t total = (int64_t)c[0] * ((int64_t)1 << (DLNET_TREND_BITS2 - DLNET_TREND_BITS0)) + half;
    int64_t step = slope + c[2];
    int32_t t;
    for (t = 0; t < n; t++) {
        total += step;
        step += curve2;
        out[t] = (int16_t)sat16(out[t] + sat16(anchor + (int32_t)asr64(total, DLNET_TREND_BITS2)));
    }
}
