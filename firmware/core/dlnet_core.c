/* DLNet int8 inference core. The specification is dlnet/quant/reference.py and
 * dlnet/quant/fixedpoint.py; each function here names the reference function it mirrors. */
#include "dlnet_core.h"

#include <string.h>

#define INT16_LO (-32768)
#define INT16_HI 32767
#define INT8_LO (-128)
#define INT8_HI 127

/* ---- Fixed-point primitives (fixedpoint.py) ---- */

/* Little-endian int32 from bytes; written without implementation-defined conversions. */
static int32_t rd32(const uint8_t *p)
{
    const uint32_t u = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
                       ((uint32_t)p[3] << 24);
    return u <= 0x7FFFFFFFu ? (int32_t)u : -(int32_t)(~u) - 1;
}

/* floor(v / 2^n + 1/2) for n in [1, 62] and |v| < 2^62 (shift_round). A right shift of a
 * negative value is implementation-defined in C99, so negatives take the mirrored path. */
static int64_t shift_round(int64_t v, int32_t n)
{
    const int64_t t = v + ((int64_t)1 << (n - 1));
    if (t >= 0) {
        return t >> n;
    }
    return -(int64_t)((uint64_t)(-(t + 1)) >> n) - 1;
}

static int32_t clamp64(int64_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : (v > hi ? hi : (int32_t)v);
}

int32_t dlnet_requant(int32_t x, int32_t mult, int32_t shift)
{
    /* |x * mult| < 2^62, so the product and the rounding add cannot overflow. */
    return clamp64(shift_round((int64_t)x * mult, 31 - shift), INT32_MIN, INT32_MAX);
}

/* Channel i's requantization from little-endian multiplier and shift arrays. */
static int32_t requant_ch(int32_t x, const uint8_t *mult, const int8_t *shift, int32_t i)
{
    return dlnet_requant(x, rd32(mult + 4 * i), shift[i]);
}

/* A fine sum back to the output's integers (finish). */
static int32_t finish(int64_t total, int32_t offset, int32_t lo, int32_t hi)
{
    return clamp64(offset + shift_round(total, DLNET_FINE_BITS), lo, hi);
}

#define Q29 ((int64_t)1 << 29)
#define RSQRT_Y0_A 1252698795    /* round(7/3 * 2^29) */
#define RSQRT_Y0_B 715827883     /* round(4/3 * 2^29) */
#define RSQRT_ITERATIONS 4

void dlnet_rsqrt(int64_t var, int32_t *mult, int32_t *shift)
{
    /* var = m / 4^j with m in [2^60, 2^62); y = 1/sqrt(m / 2^62) in Q29 by Newton's iteration
     * from the chord 7/3 - 4/3 mm, which overestimates the convex 1/sqrt so the iteration
     * descends monotonically. All operands are non-negative: plain shifts are floors. */
    int64_t m = var, mm, y;
    int32_t j = 0, i;
    while (m < ((int64_t)1 << 60)) {
        m <<= 2;
        j++;
    }
    mm = m >> 31;
    y = RSQRT_Y0_A - ((RSQRT_Y0_B * mm) >> 31);
    for (i = 0; i < RSQRT_ITERATIONS; i++) {
        const int64_t y2 = (y * y) >> 29;
        const int64_t e = (mm * y2) >> 31;
        y = (y * (3 * Q29 - e)) >> 30;
    }
    if (y < Q29) {
        y = Q29;
    }
    if (y > 2 * Q29 - 1) {
        y = 2 * Q29 - 1;
    }
    *mult = (int32_t)(2 * y);
    *shift = j - 30 + DLNET_NORM_BITS;
}

/* ---- Ops (reference.py) ---- */

void dlnet_scale_input(const dlnet_anchor_t *p, int32_t n, const int16_t *x, int16_t *d,
                       int32_t *anchor, int32_t *u_sum)
{
    int32_t a = p->constant, sum = 0, j;
    if (p->kind == 1) {
        int32_t s = 0;
        for (j = n - p->length; j < n; j++) {
            s += x[j];
        }
        a = clamp64(dlnet_requant(s, p->mult, p->shift), INT16_LO, INT16_HI);
    }
    for (j = 0; j < n; j++) {
        d[j] = (int16_t)clamp64((int32_t)x[j] - a, INT16_LO, INT16_HI);
        sum += d[j];
    }
    *anchor = a;
    *u_sum = sum;
}

static int32_t dot_s8(const int8_t *w, const int8_t *x, int32_t n, int32_t x_offset, int32_t acc)
{
    int32_t j;
    for (j = 0; j < n; j++) {
        acc += (int32_t)w[j] * ((int32_t)x[j] + x_offset);
    }
    return acc;
}

static int32_t dot_s16(const int8_t *w, const int16_t *x, int32_t n, int32_t x_offset, int32_t acc)
{
    int32_t j;
    for (j = 0; j < n; j++) {
        acc += (int32_t)w[j] * ((int32_t)x[j] + x_offset);
    }
    return acc;
}

/* clamp(output_offset + requant(acc_i)) of one output row (fully_connected). */
static int32_t fc_out(const dlnet_fc_t *p, int32_t i, int32_t acc)
{
    return clamp64((int64_t)p->output_offset + requant_ch(acc, p->mult, p->shift, i), p->act_min,
                   p->act_max);
}

void dlnet_fc_s16_s16(const dlnet_fc_t *p, const int16_t *in, int16_t *out)
{
    int32_t i;
    for (i = 0; i < p->out; i++) {
        const int32_t acc = dot_s16(p->weight + i * p->in, in, p->in, p->input_offset,
                                    rd32(p->bias + 4 * i));
        out[i] = (int16_t)fc_out(p, i, acc);
    }
}

void dlnet_fc_s8_s16(const dlnet_fc_t *p, const int8_t *in, int16_t *out)
{
    int32_t i;
    for (i = 0; i < p->out; i++) {
        const int32_t acc = dot_s8(p->weight + i * p->in, in, p->in, p->input_offset,
                                   rd32(p->bias + 4 * i));
        out[i] = (int16_t)fc_out(p, i, acc);
    }
}

void dlnet_fc_s8_s8(const dlnet_fc_t *p, const int8_t *in, int8_t *out)
{
    int32_t i;
    for (i = 0; i < p->out; i++) {
        const int32_t acc = dot_s8(p->weight + i * p->in, in, p->in, p->input_offset,
                                   rd32(p->bias + 4 * i));
        out[i] = (int8_t)fc_out(p, i, acc);
    }
}

void dlnet_fc_s8_soh(const dlnet_fc_t *p, const int8_t *in, int32_t anchor, int16_t *out)
{
    int32_t i;
    for (i = 0; i < p->out; i++) {
        const int32_t acc = dot_s8(p->weight + i * p->in, in, p->in, p->input_offset,
                                   rd32(p->bias + 4 * i));
        out[i] = (int16_t)clamp64((int64_t)anchor + requant_ch(acc, p->mult, p->shift, i), INT16_LO,
                                  INT16_HI);
    }
}

void dlnet_layer_norm(const dlnet_ln_t *p, const int16_t *in, int8_t *out)
{
    /* d_i = n x_i - sum x keeps the mean exact (no rounded mean); |d_i| < 2^25 for n <= 512,
     * so sum d_i^2 < 2^59 in int64. */
    const int32_t n = p->n;
    int32_t sum = 0, i, mult, shift;
    int64_t sumsq = 0;
    for (i = 0; i < n; i++) {
        sum += in[i];
    }
    for (i = 0; i < n; i++) {
        const int32_t d = n * in[i] - sum;
        sumsq += (int64_t)d * d;
    }
    dlnet_rsqrt(sumsq / n + p->eps, &mult, &shift);
    for (i = 0; i < n; i++) {
        const int32_t norm = dlnet_requant(n * in[i] - sum, mult, shift);
        const int64_t total = (int64_t)requant_ch(norm, p->gain_mult, p->gain_shift, i) +
                              rd32(p->offset + 4 * i);
        out[i] = (int8_t)finish(total, p->output_offset, p->act_min, p->act_max);
    }
}

void dlnet_lookup(const int8_t *table, int32_t n, const int8_t *in, int8_t *out)
{
    int32_t i;
    for (i = 0; i < n; i++) {
        out[i] = table[(int32_t)in[i] + 128];
    }
}

void dlnet_liquid_step(const dlnet_cell_t *c, int8_t *h, int8_t *pre, int8_t *p, int32_t u_sum)
{
    const int32_t w = c->width;
    int32_t k;
    if (c->coupling == 1) {
        dlnet_fc_s8_s8(&c->V, h, p);
    }
    /* Every pre-activation reads the whole old h, so all of them come before the update. */
    for (k = 0; k < w; k++) {
        int64_t total = (int64_t)rd32(c->bias + 4 * k) +
                        requant_ch(u_sum, c->drive_mult, c->drive_shift, k);
        if (c->coupling == 0) {
            const int32_t acc = dot_s8(c->W + k * w, h, w, -c->state_offset, 0);
            total += requant_ch(acc, c->W_mult, c->W_shift, k);
        } else {
            const int32_t acc = dot_s8(c->U + k * c->rank, p, c->rank, c->U_input_offset, 0);
            total += requant_ch(acc, c->U_mult, c->U_shift, k);
            total += requant_ch((int32_t)h[k] - c->state_offset, c->diag_mult, c->diag_shift, k);
        }
        pre[k] = (int8_t)finish(total, c->pre_offset, INT8_LO, INT8_HI);
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
            (int64_t)dlnet_requant((int32_t)h[k] - state_offset, p->h_mult, p->h_shift) +
            dlnet_requant((int32_t)h0[k] - state_offset, p->h0_mult, p->h0_shift);
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
    dlnet_fc_s8_soh(&m->dec_out, b8, anchor, soh_out);
    return DLNET_OK;
}

/* ---- Model parsing and validation (blob.py, qmodel.check) ---- */

static uint32_t crc32(const uint8_t *p, size_t n)
{
    /* zlib's CRC-32 (reflected, polynomial 0xEDB88320), bitwise: no 1 KB table in flash. */
    uint32_t c = 0xFFFFFFFFu;
    while (n--) {
        int k;
        c ^= *p++;
        for (k = 0; k < 8; k++) {
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
        }
    }
    return ~c;
}

typedef struct {
    const uint8_t *p;
    size_t left;
    int err;                   /* first error met, DLNET_OK while all is well */
} reader_t;

static const uint8_t *take(reader_t *r, size_t n)
{
    const uint8_t *q = r->p;
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

/* sum_j |w_ij| max|x_j + offset| + |b_i| <= INT32_MAX for every row: no accumulator overflows. */
static void check_acc(reader_t *r, const int8_t *w, const uint8_t *bias, int32_t rows, int32_t cols,
                      int64_t x_peak)
{
    int32_t i, j;
    for (i = 0; w != NULL && i < rows; i++) {
        int64_t s = 0, b = bias ? rd32(bias + 4 * i) : 0;
        for (j = 0; j < cols; j++) {
            s += w[i * cols + j] < 0 ? -(int64_t)w[i * cols + j] : w[i * cols + j];
        }
        need(r, s * x_peak + (b < 0 ? -b : b) <= INT32_MAX);
    }
}

static int64_t peak(int64_t lo, int64_t hi, int64_t offset)
{
    const int64_t a = lo + offset < 0 ? -(lo + offset) : lo + offset;
    const int64_t b = hi + offset < 0 ? -(hi + offset) : hi + offset;
    return a > b ? a : b;
}

/* in16/out16: the layer's input and output are int16 (else int8). */
static void read_fc(reader_t *r, dlnet_fc_t *f, int32_t in, int32_t out, int in16, int out16)
{
    const int32_t lo = out16 ? INT16_LO : INT8_LO, hi = out16 ? INT16_HI : INT8_HI;
    f->in = in;
    f->out = out;
    f->input_offset = take_i32(r);
    f->output_offset = take_i32(r);
    f->act_min = take_i32(r);
    f->act_max = take_i32(r);
    f->weight = (const int8_t *)take(r, (size_t)in * (size_t)out);
    f->bias = take(r, 4u * (size_t)out);
    f->mult = take(r, 4u * (size_t)out);
    f->shift = (const int8_t *)take(r, (size_t)out);
    need(r, in_range(f->input_offset, -127, 128));
    need(r, in_range(f->output_offset, lo, hi) && in_range(f->act_min, lo, hi) &&
                in_range(f->act_max, f->act_min, hi));
    check_mults(r, f->mult, f->shift, out);
    check_acc(r, f->weight, f->bias, out, in,
              in16 ? peak(INT16_LO, INT16_HI, f->input_offset)
                   : peak(INT8_LO, INT8_HI, f->input_offset));
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
        c->W_mult = take(r, 4u * w);
        c->W_shift = (const int8_t *)take(r, w);
        check_mults(r, c->W_mult, c->W_shift, c->width);
        check_acc(r, c->W, NULL, c->width, c->width, peak(INT8_LO, INT8_HI, -c->state_offset));
    } else {
        read_fc(r, &c->V, c->width, c->rank, 0, 0);
        c->diag_mult = take(r, 4u * w);
        c->diag_shift = (const int8_t *)take(r, w);
        c->U_input_offset = take_i32(r);
        c->U = (const int8_t *)take(r, w * (size_t)c->rank);
        c->U_mult = take(r, 4u * w);
        c->U_shift = (const int8_t *)take(r, w);
        need(r, in_range(c->U_input_offset, -127, 128));
        check_mults(r, c->diag_mult, c->diag_shift, c->width);
        check_mults(r, c->U_mult, c->U_shift, c->width);
        check_acc(r, c->U, NULL, c->width, c->rank, peak(INT8_LO, INT8_HI, c->U_input_offset));
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

static int read_model(reader_t *r, dlnet_model_t *m)
{
    dlnet_residual_t *res = &m->residual;
    int32_t coupling, scratch;
    m->input_len = take_i32(r);
    m->output_len = take_i32(r);
    m->enc_hidden = take_i32(r);
    m->width = take_i32(r);
    m->dec_hidden = take_i32(r);
    m->dec_mid_size = take_i32(r);
    coupling = take_i32(r);
    m->rank = take_i32(r);
    m->steps = take_i32(r);
    scratch = take_i32(r);
    if (r->err != DLNET_OK) {
        return r->err;
    }
    /* Sizes first: everything below trusts them for pointer arithmetic. */
    if (!in_range(m->input_len, 1, DLNET_MAX_DIM) || !in_range(m->output_len, 1, DLNET_MAX_DIM) ||
        !in_range(m->enc_hidden, 1, DLNET_MAX_NORM_DIM) ||
        !in_range(m->width, 1, DLNET_MAX_NORM_DIM) ||
        !in_range(m->dec_hidden, 1, DLNET_MAX_NORM_DIM) ||
        !in_range(m->dec_mid_size, 1, DLNET_MAX_DIM) || !in_range(coupling, 0, 1) ||
        !in_range(m->steps, 1, DLNET_MAX_STEPS) ||
        !(coupling == 0 ? m->rank == 0 : in_range(m->rank, 1, m->width))) {
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
    if (r->err == DLNET_OK && r->left != 0) {
        r->err = DLNET_ERR_SIZE;
    }
    return r->err;
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
    default: return "DLNET_ERR_UNKNOWN";
    }
}
