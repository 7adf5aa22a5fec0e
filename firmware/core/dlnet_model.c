/* A model blob read and checked (blob.from_bytes, qmodel.check): every value the ops rely
 * on is checked here once, so that the forward pass needs no check of its own. */
#include "dlnet_fixedpoint.h"

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

/* Mirrors blob.py's signals section and qmodel.check's checks of it: any offset (the int64
 * difference in dlnet_scale_signals cannot overflow), a multiplier like every other. */
static void read_signals(reader_t *r, dlnet_signals_t *s, int32_t n)
{
    s->offset = take(r, 4u * (size_t)n);
    s->mult = take(r, 4u * (size_t)n);
    s->shift = (const int8_t *)take(r, (size_t)n);
    check_mults(r, s->mult, s->shift, n);
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

/* Whether the layer records chain from the scaled input (input_len SOH values, then the
 * signals) to the SOH output with ops the core has, each reading and writing what its
 * functions take; fills in what each layer reads and its input size (its predecessor's
 * output) and sets m->width from the cell. The tanh writes
 * the cell's starting state, so the liquid layer comes right after it and the residual right
 * after the liquid layer, once each. Accepts the records blob.from_bytes accepts (those of
 * layers.SEQUENCE) and any other chain these rules allow. */
static int records_ok(dlnet_model_t *m)
{
    int32_t i, n = m->input_len + m->n_signals, type = DLNET_S16, ops_seen = 0;
    for (i = 0; i < m->n_layers; i++) {
        dlnet_layer_t *l = &m->layer[i];
        const int32_t before = i > 0 ? m->layer[i - 1].op : -1;
        int same, s8, ok;
        l->n_in = (uint16_t)n;
        l->reads = (uint8_t)type;
        same = l->n_in == l->n_out;
        s8 = l->reads == DLNET_S8 && l->writes == DLNET_S8;
        if (!in_range(l->n_out, 1, DLNET_MAX_DIM) ||
            (l->writes == DLNET_SOH) != (i + 1 == m->n_layers)) {
            return 0;
        }
        switch (l->op) {
        case DLNET_OP_LINEAR:
            ok = l->reads == DLNET_S16 ? l->writes == DLNET_S16
                                       : in_range(l->writes, DLNET_S8, DLNET_SOH);
            break;
        case DLNET_OP_LAYER_NORM:
            ok = same && l->reads == DLNET_S16 && l->writes == DLNET_S8 &&
                 l->n_in <= DLNET_MAX_NORM_DIM;
            break;
        case DLNET_OP_TANH:
            ok = same && s8;
            m->width = l->n_out;
            break;
        case DLNET_OP_LIQUID:
        case DLNET_OP_RESIDUAL:
            /* the op just before in DLNET_OP_* order: the tanh, then the liquid layer */
            ok = same && s8 && before == l->op - 1 && l->n_in == m->width;
            break;
        default:
            return 0;
        }
        if (!ok || (l->op >= DLNET_OP_TANH && (ops_seen & (1 << l->op)) != 0)) {
            return 0;
        }
        ops_seen |= 1 << l->op;
        n = l->n_out;
        type = l->writes;
    }
    return n == m->output_len && (ops_seen & (1 << DLNET_OP_LIQUID)) != 0;
}

/* Mirrors blob.SECTIONS: one case per op. */
static void read_layer(reader_t *r, dlnet_model_t *m, dlnet_layer_t *l, int32_t coupling)
{
    switch (l->op) {
    case DLNET_OP_LINEAR:
        read_fc(r, &l->p.fc, l->n_in, l->n_out, l->reads == DLNET_S16, l->writes != DLNET_S8);
        break;
    case DLNET_OP_LAYER_NORM:
        read_ln(r, &l->p.ln, l->n_in);
        break;
    case DLNET_OP_TANH:
        l->p.table = (const int8_t *)take(r, 256);
        break;
    case DLNET_OP_LIQUID:
        m->cell.width = m->width;
        m->cell.rank = m->rank;
        m->cell.steps = m->steps;
        m->cell.coupling = coupling;
        read_cell(r, &m->cell);
        break;
    default: { /* DLNET_OP_RESIDUAL (records_ok) */
        dlnet_residual_t *res = &l->p.residual;
        res->output_offset = take_i32(r);
        res->h_mult = take_i32(r);
        res->h_shift = take_i32(r);
        res->h0_mult = take_i32(r);
        res->h0_shift = take_i32(r);
        need(r, in_range(res->output_offset, INT8_LO, INT8_HI) &&
                    mult_ok(res->h_mult, res->h_shift) && mult_ok(res->h0_mult, res->h0_shift));
    }
    }
}

static int read_model(reader_t *r, dlnet_model_t *m)
{
    int32_t coupling, scratch, j, i, liquid;
    m->network = take_i32(r);
    m->input_len = take_i32(r);
    m->output_len = take_i32(r);
    coupling = take_i32(r);
    m->rank = take_i32(r);
    m->steps = take_i32(r);
    m->trend.length = take_i32(r);
    scratch = take_i32(r);
    m->n_layers = take_i32(r);
    m->n_signals = take_i32(r);
    if (r->err != DLNET_OK) {
        return r->err;
    }
    /* Sizes first: everything below trusts them for pointer arithmetic. */
    liquid = m->network == DLNET_NETWORK_LIQUID;
    if (!in_range(m->network, DLNET_NETWORK_LIQUID, DLNET_NETWORK_NONE) ||
        !in_range(m->input_len, 1, DLNET_MAX_DIM) || !in_range(m->output_len, 1, DLNET_MAX_DIM) ||
        !in_range(m->trend.length, 0, m->input_len) ||
        !in_range(m->n_signals, 0, DLNET_MAX_SIGNALS)) {
        return DLNET_ERR_SIZE;
    }
    /* a polynomial baseline has nothing that could read a signal */
    if (m->network == DLNET_NETWORK_NONE && m->n_signals != 0) {
        return DLNET_ERR_SIZE;
    }
    if (liquid ? (!in_range(m->n_layers, 1, DLNET_MAX_LAYERS) || !in_range(coupling, 0, 1) ||
                  !in_range(m->steps, 1, DLNET_MAX_STEPS))
               : (coupling | m->rank | m->steps | m->n_layers) != 0) {
        return DLNET_ERR_SIZE;
    }
    for (i = 0; i < m->n_layers; i++) {
        /* blob.pack_record: bits 0-7 the op, 8-15 what it writes, 16-31 its output size */
        const uint32_t word = (uint32_t)take_i32(r);
        m->layer[i].op = (uint8_t)(word & 0xFFu);
        m->layer[i].writes = (uint8_t)((word >> 8) & 0xFFu);
        m->layer[i].n_out = (uint16_t)(word >> 16);
    }
    if (r->err != DLNET_OK) {
        return r->err;
    }
    if (liquid && (!records_ok(m) ||
                   !(coupling == 0 ? m->rank == 0 : in_range(m->rank, 1, m->width)))) {
        return DLNET_ERR_SIZE;
    }
    dlnet_plan_scratch(m);
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
    if (m->n_signals != 0) {
        read_signals(r, &m->signals, m->n_signals);
    }
    if (m->network == DLNET_NETWORK_LINEAR) {
        read_fc(r, &m->linear, m->input_len + m->n_signals, m->output_len, 1, 1);
    }
    for (i = 0; i < m->n_layers; i++) {
        read_layer(r, m, &m->layer[i], coupling);
    }
    if (m->trend.length != 0) {
        m->trend.weight = take(r, 12u * (size_t)m->trend.length);
        if (m->trend.weight != NULL) {
            /* keeps dlnet_trend_coefficients' int64 sums exact */
            for (i = 0; i < 3 * m->trend.length; i++) {
                need(r, in_range(rd32(m->trend.weight + 4 * i), 1 - (1 << DLNET_TREND_WEIGHT_BITS),
                                 (1 << DLNET_TREND_WEIGHT_BITS) - 1));
            }
        }
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

/* Mirrors blob.from_bytes and qmodel.check. */
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
    case DLNET_ERR_INPUT_RANGE: return "DLNET_ERR_INPUT_RANGE";
    case DLNET_ERR_INPUT_JUMP: return "DLNET_ERR_INPUT_JUMP";
    default: return "DLNET_ERR_UNKNOWN";
    }
}
