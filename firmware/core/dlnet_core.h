/* DLNet int8 inference core: portable C99, freestanding, no malloc, no global mutable state.
 *
 * The arithmetic is specified by dlnet/quant/reference.py (NumPy); this core agrees with it bit
 * for bit. Only <stdint.h>, <stddef.h> and <string.h> are used (and <arm_acle.h> on the DSP
 * path below), and no floating point.
 *
 * Use
 *   #include "dlnet_core.h"
 *   #include "dlnet_model.h"        generated: dlnet_model_data[], DLNET_SCRATCH_BYTES, ...
 *
 *   static dlnet_model_t model;
 *   static int16_t scratch[(DLNET_SCRATCH_BYTES + 1) / 2];
 *   int rc = dlnet_model_init(&model, dlnet_model_data, DLNET_MODEL_BYTES);
 *   if (rc == DLNET_OK)
 *       rc = dlnet_run(&model, soh_in, signals, soh_out, scratch, sizeof scratch);
 *
 * Inputs and outputs: soh_in holds the last model.input_len SOH values of one cell, oldest first,
 * in Q7.24 (int32, SOH = q / 2^24); soh_out receives the next model.output_len values in Q1.14
 * (int16, SOH = q / 2^14, range [-2, 2)). The network reads the input rounded to Q1.14; the
 * quadratic trend reads all 24 bits, because a parabola through a few values extrapolated a
 * hundred cycles ahead multiplies an input's rounding by up to ~10^4.
 * signals holds the model.n_signals (DLNET_N_SIGNALS) raw int32 values
 * a battery management system knows of the window, each in its own unit, in the order of the
 * model's signals (dlnet/signals.py lists them; the default config's one is the cycle number of
 * the window's last SOH value); NULL when the model has none. The core applies the model's scaling to both itself.
 *
 * Model data: the blob written by dlnet/quant/blob.py (layout documented there), little-endian,
 * every field at a multiple of 4 bytes. It works at any address and on any endianness; on a
 * little-endian target a 4-byte-aligned blob (the generated header aligns its array) lets each
 * 32-bit field and each 4 weights be read with one aligned load.
 *
 * Code paths. Everything is portable C99, plus two fast paths that compute the same integers:
 *   little-endian targets (GCC/Clang's __BYTE_ORDER__) read a 32-bit field with one load
 *     instead of four byte loads;
 *   little-endian Arm cores with the DSP extension (__ARM_FEATURE_DSP: Cortex-M4, M7, M33,
 *     ...), compiled by GCC or Clang, take the dot products 4 columns of 2 rows at a time with
 *     SXTB16 and SMLAD (two 16 x 16 multiply-accumulates per instruction), in GNU inline asm.
 *     Rows and activations need not be 4-byte aligned: it relies on unaligned LDR, which
 *     ARMv7-M allows unless CCR.UNALIGN_TRP is set (CMSIS-NN relies on the same).
 * Compiling with -DDLNET_PORTABLE turns both off (for tests, or a target that cannot use them).
 */
#ifndef DLNET_CORE_H
#define DLNET_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DLNET_MAGIC 0x514E4C44u          /* "DLNQ" as little-endian bytes */
#define DLNET_FORMAT_VERSION 7
#define DLNET_MAX_DIM 1024               /* any vector; the scaled input adds the signals */
#define DLNET_MAX_NORM_DIM 512           /* LayerNorm width: keeps its int64 sum of squares exact */
#define DLNET_MAX_STEPS 64
#define DLNET_MAX_SIGNALS 8              /* the signals beside the SOH window */
#define DLNET_MAX_LAYERS 12              /* layers of a liquid network (its sequence has 11) */
#define DLNET_FINE_BITS 8                /* extra fraction bits of multi-term sums */
#define DLNET_NORM_BITS 16               /* fraction bits of LayerNorm's normalized values */
#define DLNET_INPUT_SHIFT 10              /* Q7.24 input -> Q1.14: 24 - 14 fraction bits */
#define DLNET_TREND_WEIGHT_BITS 26       /* |trend weight| < 2^26 (dlnet_model_init checks) */
/* fraction bits of the trend's level, slope and curvature (Q1.14 units per cycle^j) */
#define DLNET_TREND_BITS0 8
#define DLNET_TREND_BITS1 16
#define DLNET_TREND_BITS2 24

/* The network between the scaling and the output (blob.py, qmodel.NETWORKS). */
#define DLNET_NETWORK_LIQUID 0   /* a LiquidNet */
#define DLNET_NETWORK_LINEAR 1   /* one int8 layer from the scaled input to the output (ridge) */
#define DLNET_NETWORK_NONE 2     /* none: the anchor plus the trend (a polynomial baseline) */

/* A liquid network's layers, as the blob's layer records name them (dlnet/layers.py): the op
 * codes (an op's index in layers.OPS) and what a layer reads and writes (layers.S8, S16, SOH). */
#define DLNET_OP_LINEAR 0        /* dlnet_fc_*: int16 -> int16, int8 -> int8, int16 or SOH */
#define DLNET_OP_LAYER_NORM 1    /* dlnet_layer_norm: int16 -> int8 */
#define DLNET_OP_TANH 2          /* dlnet_lookup into the cell's starting state h0 */
#define DLNET_OP_LIQUID 3        /* dlnet_liquid_step, the model's cell's steps from h0 */
#define DLNET_OP_RESIDUAL 4      /* dlnet_residual: the cell's state plus r h0 */
#define DLNET_OP_COUNT 5
#define DLNET_S8 0
#define DLNET_S16 1
#define DLNET_SOH 2              /* Q1.14 SOH with the forecast anchor added: the last layer */

/* Return codes: DLNET_OK or a negative error. */
#define DLNET_OK 0
#define DLNET_ERR_ARG (-1)       /* a NULL pointer (signals: only a model without any) */
#define DLNET_ERR_MAGIC (-2)     /* not a DLNet model blob */
#define DLNET_ERR_VERSION (-3)   /* blob format version is not DLNET_FORMAT_VERSION */
#define DLNET_ERR_SIZE (-4)      /* size differs from the blob's own, truncated, or bad sizes */
#define DLNET_ERR_CHECKSUM (-5)  /* CRC-32 of the parameters does not match: corrupt data */
#define DLNET_ERR_PARAM (-6)     /* a parameter outside its valid range (see dlnet_model_init) */
#define DLNET_ERR_SCRATCH (-7)   /* scratch smaller than model.scratch_bytes, or odd address */
#define DLNET_ERR_MODEL (-8)     /* the model was not successfully initialized */
#define DLNET_ERR_INPUT_RANGE (-9)  /* dlnet_check_window: a value outside (0, 1.25] SOH */
#define DLNET_ERR_INPUT_JUMP (-10)  /* dlnet_check_window: a value far from the ones before it */
/* dlnet_check_window's limits, Q7.24 (dlnet/quant/guard.py holds the same numbers): SOH above 0
 * (a zero reading is a missed measurement) and at most 1.25 (above it, a capacity glitch such
 * as a 2.88 Ah reading of a 1.1 Ah cell), and at most 0.05 SOH from the median of the up to 10
 * values before it, once there are 3 (the workflow's cleaning in SOH units: a larger step from
 * one cycle to the next is a glitch, not fade). */
#define DLNET_SOH_MIN_Q 1
#define DLNET_SOH_MAX_Q 20971520
#define DLNET_JUMP_MAX_Q 838861
#define DLNET_JUMP_WINDOW 10
#define DLNET_JUMP_MIN_BEFORE 3

/* Fully connected layer: acc_i = bias_i + sum_j w_ij x_j in int32, then
 * clamp(output_offset + requant(acc_i, mult_i, shift_i), act_min, act_max). The input's zero
 * point zp is folded into the bias offline: bias_i = b_i - zp sum_j w_ij. */
typedef struct {
    int32_t in, out;
    int32_t output_offset;     /* zero_point of the output */
    int32_t act_min, act_max;  /* ReLU is act_min = output_offset */
    const int8_t *weight;      /* out x in, row-major */
    const uint8_t *bias;       /* out int32, little-endian */
    const uint8_t *mult;       /* out int32, little-endian */
    const int8_t *shift;       /* out */
} dlnet_fc_t;

/* LayerNorm over int16 inputs to int8 outputs (see dlnet_layer_norm). */
typedef struct {
    int32_t n;
    int64_t eps;               /* eps * n^2 / s_in^2 */
    int32_t output_offset, act_min, act_max;
    const uint8_t *gain_mult;  /* n int32: gamma / s_out * 2^(FINE - NORM) as multipliers */
    const int8_t *gain_shift;  /* n */
    const uint8_t *offset;     /* n int32: beta / s_out * 2^FINE */
} dlnet_ln_t;

/* Liquid cell: coupling (full or diagonal + low rank), input drive, tanh table, Euler update. */
typedef struct {
    int32_t width, rank, steps;
    int32_t coupling;          /* 0 full, 1 lowrank */
    int32_t state_offset;      /* zero point of h */
    int32_t pre_offset;        /* zero point of the tanh input */
    const int8_t *W;           /* full: width x width */
    const uint8_t *W_bias;     /* -state_offset sum_j W_kj: sum_j W_kj (h_j - state_offset) */
    const uint8_t *W_mult;
    const int8_t *W_shift;
    dlnet_fc_t V;              /* lowrank: p = V^T h, rank outputs */
    const uint8_t *diag_mult;
    const int8_t *diag_shift;
    const int8_t *U;           /* lowrank: width x rank */
    const uint8_t *U_bias;     /* -zero_point of p times sum_j U_kj */
    const uint8_t *U_mult;
    const int8_t *U_shift;
    const uint8_t *bias;       /* width int32 in fine units of the tanh input */
    const uint8_t *drive_mult; /* w_u * u, applied to the sum of the scaled inputs */
    const int8_t *drive_shift;
    const int8_t *tanh;        /* 256 entries, indexed by pre + 128, output scale 1/128 */
    const uint8_t *keep_mult;  /* 1 - dt alpha */
    const int8_t *keep_shift;
    const uint8_t *gain_mult;  /* dt beta, from the tanh scale to h's */
    const int8_t *gain_shift;
} dlnet_cell_t;

/* h + r h0 into the residual's int8 scale. */
typedef struct {
    int32_t output_offset, h_mult, h_shift, h0_mult, h0_shift;
} dlnet_residual_t;

/* The Scaler's anchor: kind 0 = constant (minmax offset), 1 = mean of the last `length` inputs. */
typedef struct {
    int32_t kind, length, constant, mult, shift;
} dlnet_anchor_t;

/* The signals' scaling (reference.scale_signals): raw value r_j to the scaled input
 * sat16(requant(sat32(r_j - offset_j), mult_j, shift_j)). The shift may be positive: a signal's
 * unit can be coarser than the scaled input's step. */
typedef struct {
    const uint8_t *offset;     /* n_signals int32, little-endian */
    const uint8_t *mult;       /* n_signals int32, little-endian */
    const int8_t *shift;       /* n_signals, -31..30 */
} dlnet_signals_t;

/* Quadratic scaling and polynomial baselines: the forecast anchor is the least-squares
 * polynomial (degree <= 2) through the last `length` inputs (length 0: no trend, the forecast
 * anchor is the input anchor). */
typedef struct {
    int32_t length;
    const uint8_t *weight;     /* 3 x length int32, each |w| < 2^26: level, slope, curvature */
    int32_t shift[3];          /* rounding shift of each coefficient, 1..62 */
} dlnet_trend_t;

/* One layer of a liquid network: its blob record and its parameters. The record's fields are
 * narrow because the model handle holds DLNET_MAX_LAYERS of them in RAM. */
typedef struct {
    uint8_t op;                /* DLNET_OP_* */
    uint8_t reads, writes;     /* DLNET_S8, DLNET_S16, DLNET_SOH; the blob records what it writes */
    uint16_t n_in, n_out;      /* at most DLNET_MAX_DIM */
    union {
        dlnet_fc_t fc;             /* linear */
        dlnet_ln_t ln;             /* layer_norm */
        const int8_t *table;       /* tanh: 256 entries */
        dlnet_residual_t residual; /* residual */
    } p;                       /* liquid: the model's one cell, dlnet_model_t.cell */
} dlnet_layer_t;

typedef struct {
    uint32_t ready;            /* DLNET_MAGIC once dlnet_model_init succeeded, else 0 */
    int32_t network;           /* DLNET_NETWORK_*; the liquid sizes below are 0 without one */
    int32_t input_len, output_len, width, rank, steps;
    int32_t n_signals;         /* 0..DLNET_MAX_SIGNALS; the scaled input is input_len + n_signals */
    size_t scratch_bytes;      /* bytes dlnet_run needs; equals the header's DLNET_SCRATCH_BYTES */
    size_t region_a, region_b; /* its two activation regions (dlnet_run.c's plan) */
    dlnet_anchor_t anchor;
    dlnet_signals_t signals;   /* NULL pointers without signals */
    int32_t n_layers;          /* the liquid network's layers, in the order they run */
    dlnet_layer_t layer[DLNET_MAX_LAYERS];
    dlnet_cell_t cell;
    dlnet_fc_t linear;         /* linear network: int16 scaled input (and signals) -> Q1.14 SOH */
    dlnet_trend_t trend;
} dlnet_model_t;

/* Parse and validate a model blob of `size` bytes; fill `m` with pointers into `data`, which
 * must stay valid while `m` is used. Checks, in order: size >= 16 (DLNET_ERR_SIZE), magic
 * (DLNET_ERR_MAGIC), format version (DLNET_ERR_VERSION), the blob's own size field equals
 * `size` (DLNET_ERR_SIZE), CRC-32 of the parameters (DLNET_ERR_CHECKSUM), dimensions and exact
 * layout size (DLNET_ERR_SIZE; among them more than DLNET_MAX_SIGNALS signals, or any for a
 * network-free model), then every parameter (DLNET_ERR_PARAM): multipliers normalized (the
 * signals' too), shifts in -31..30, zero points and clamps in range, and every int32
 * accumulator bounded for any input. A model that passes cannot overflow or read out of bounds
 * for any input.
 * Runs once at start-up (the CRC reads every byte). On failure m->ready is 0. */
int dlnet_model_init(dlnet_model_t *m, const uint8_t *data, size_t size);

/* DLNET_OK if the n values of soh (Q7.24, oldest first) are a window a model may forecast
 * from; otherwise DLNET_ERR_INPUT_RANGE or DLNET_ERR_INPUT_JUMP for the first value that is not,
 * its index in *bad (when bad is not NULL; -1 when the window is fine), DLNET_ERR_ARG for a NULL
 * soh or n < 0. dlnet_run forecasts from any values; a device calls this first, so that a
 * glitch in its stream is reported instead of forecast from. */
int dlnet_check_window(const int32_t *soh, int32_t n, int32_t *bad);

/* One forecast. soh_in: m->input_len values in Q7.24, soh_out: m->output_len values in Q1.14;
 * signals: m->n_signals raw values (any int32), or NULL when m->n_signals is 0.
 * scratch: at least m->scratch_bytes (DLNET_SCRATCH_BYTES) bytes, 2-byte aligned (declare it as
 * int16_t[]); it holds every activation, nothing survives between calls. Returns DLNET_OK, or
 * DLNET_ERR_ARG / DLNET_ERR_MODEL / DLNET_ERR_SCRATCH without touching soh_out. */
int dlnet_run(const dlnet_model_t *m, const int32_t *soh_in, const int32_t *signals,
              int16_t *soh_out, void *scratch, size_t scratch_bytes);

/* One forecast in progress: dlnet_run is dlnet_run_start, dlnet_run_layer for each layer of a
 * liquid network, then dlnet_run_finish; the parts are public for per-layer profiling. */
typedef struct {
    int32_t anchor;            /* the input's anchor a */
    int32_t out_anchor;        /* what the last layer adds: a, or 0 when the trend adds it */
    int32_t u_sum;             /* the sum of the scaled SOH inputs: the cell's drive */
    int32_t trend[3];          /* the parabola's coefficients (0 without a trend) */
    uint8_t *region[2];        /* the scratch's activation regions a and b */
    int where;                 /* where x is: 0 region a, 1 region b, 2 the cell's region */
    const void *x;             /* the last output: the next layer's input */
    int8_t *h0, *h, *pre, *p;  /* the cell's region: starting state, state, work buffers */
    int16_t *soh_out;
} dlnet_run_state_t;

/* Checks the arguments as dlnet_run does (same return codes), scales the input and the signals
 * into the scratch and, without a liquid network, computes the output before the trend. */
int dlnet_run_start(const dlnet_model_t *m, const int32_t *soh_in, const int32_t *signals,
                    int16_t *soh_out, void *scratch, size_t scratch_bytes,
                    dlnet_run_state_t *s);

/* Runs layer i of a liquid network on s->x into the region its op writes; s->x is then its
 * output. */
void dlnet_run_layer(const dlnet_model_t *m, int32_t i, dlnet_run_state_t *s);

/* Adds the anchor and trend where the last layer did not. */
void dlnet_run_finish(const dlnet_model_t *m, dlnet_run_state_t *s);

/* A short constant name for a return code, for logs ("DLNET_ERR_CHECKSUM"). */
const char *dlnet_error_name(int code);

/* ---- Ops, which dlnet_run_layer calls as the layer records say; public for tests. ---- */

/* x * M * 2^(shift - 31), rounded half up, saturated to int32 (TFLite single rounding).
 * The ops inline the same function; this entry point is for tests. */
int32_t dlnet_requant(int32_t x, int32_t mult, int32_t shift);

/* (M, shift) such that dlnet_requant(d, M, shift) = d * 2^DLNET_NORM_BITS / sqrt(var), var >= 1. */
void dlnet_rsqrt(int64_t var, int32_t *mult, int32_t *shift);

/* d_j = sat16(x14_j - a), x14_j = sat16(round(x_j / 2^10)) the Q7.24 input in Q1.14,
 * *u_sum = sum_j d_j, *anchor = a. */
void dlnet_scale_input(const dlnet_anchor_t *p, int32_t n, const int32_t *x, int16_t *d,
                       int32_t *anchor, int32_t *u_sum);

/* d_j = sat16(requant(sat32((int64)raw_j - offset_j), mult_j, shift_j)), j < n. */
void dlnet_scale_signals(const dlnet_signals_t *p, int32_t n, const int32_t *raw, int16_t *d);

void dlnet_fc_s16_s16(const dlnet_fc_t *p, const int16_t *in, int16_t *out);
void dlnet_fc_s8_s16(const dlnet_fc_t *p, const int8_t *in, int16_t *out);
void dlnet_fc_s8_s8(const dlnet_fc_t *p, const int8_t *in, int8_t *out);
/* Last layer: out_i = sat16(anchor + requant(acc_i, mult_i, shift_i)), Q1.14 SOH. */
void dlnet_fc_s8_soh(const dlnet_fc_t *p, const int8_t *in, int32_t anchor, int16_t *out);

void dlnet_layer_norm(const dlnet_ln_t *p, const int16_t *in, int8_t *out);

/* out_i = table[in_i + 128]; in and out may be the same buffer. */
void dlnet_lookup(const int8_t *table, int32_t n, const int8_t *in, int8_t *out);

/* One Euler step, h updated in place; pre (width) and p (rank) are work buffers. */
void dlnet_liquid_step(const dlnet_cell_t *c, int8_t *h, int8_t *pre, int8_t *p, int32_t u_sum);

void dlnet_residual(const dlnet_residual_t *p, int32_t width, int32_t state_offset,
                    const int8_t *h, const int8_t *h0, int8_t *out);

/* c_j = sat32(round(sum_i w_ji e_i / 2^shift_j)), e_i = sat(x_i - anchor 2^10, +-2^25) over the
 * last p->length of the n Q7.24 inputs x: the parabola, in 2^-DLNET_TREND_BITSj Q1.14 units. */
void dlnet_trend_coefficients(const dlnet_trend_t *p, int32_t n, const int32_t *x, int32_t anchor,
                              int32_t c[3]);

/* out_t = sat16(out_t + sat16(anchor + round((c0 2^16 + c1 t 2^8 + c2 t^2) / 2^24))),
 * t = 1..n: the parabola added to the model's correction. */
void dlnet_add_trend(const int32_t c[3], int32_t anchor, int32_t n, int16_t *out);

#ifdef __cplusplus
}
#endif

#endif /* DLNET_CORE_H */
