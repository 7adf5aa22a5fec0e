/* The forward pass (reference.run, run_without_liquid) and the scratch plan it runs in
 * (qmodel.scratch_bytes). */
#include "dlnet_fixedpoint.h"

/* ---- Scratch plan (qmodel.scratch_bytes) ---- */

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

/* Mirrors qmodel.scratch_bytes. */
size_t dlnet_scratch_bytes(int32_t input_len, int32_t enc_hidden, int32_t width,
                           int32_t dec_hidden, int32_t dec_mid, int32_t rank)
{
    return region_a(input_len, enc_hidden, width, dec_hidden) +
           region_b(enc_hidden, width, dec_hidden, dec_mid) +
           round4(3u * (size_t)width + (size_t)rank);
}

/* Mirrors reference.run and reference.run_without_liquid. */
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
    h0 = b8 + region_b(m->enc_hidden, m->width, m->dec_hidden, m->dec_mid);
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
    dlnet_fc_s8_s8(&m->dec_inner, a8, b8);
    if (m->trend.length == 0) {
        dlnet_fc_s8_soh(&m->dec_out, b8, anchor, soh_out);
    } else {
        /* the forecast anchor is the parabola; the output layer adds the correction to it */
        dlnet_fc_s8_soh(&m->dec_out, b8, 0, soh_out);
        dlnet_add_trend(trend, anchor, m->output_len, soh_out);
    }
    return DLNET_OK;
}
