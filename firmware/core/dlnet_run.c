/* The forward pass (reference.run, run_without_liquid) over the blob's layer records, and the
 * scratch plan it runs in (qmodel.scratch_bytes). */
#include "dlnet_fixedpoint.h"

/* qmodel.STATE_OPS: the ops that write the cell's region (h0, h), not region a or b. */
static int writes_cell_region(int32_t op)
{
    return op == DLNET_OP_TANH || op == DLNET_OP_LIQUID;
}

/* Mirrors qmodel.scratch_bytes. The int16 scaled input (the SOH values, then the signals)
 * sits in region a; each layer's output goes to b when its input is in a, else to a; the last
 * layer writes the caller's soh_out.
 * The cell's region holds h0, h, the tanh input (width each) and the low-rank p (rank). */
void dlnet_plan_scratch(dlnet_model_t *m)
{
    size_t size[2] = {2u * ((size_t)m->input_len + (size_t)m->n_signals), 0u};
    int where = 0;
    int32_t i;
    for (i = 0; i + 1 < m->n_layers; i++) {
        const dlnet_layer_t *l = &m->layer[i];
        size_t bytes;
        if (writes_cell_region(l->op)) {
            where = 2;
            continue;
        }
        where = where == 0 ? 1 : 0;
        bytes = (size_t)l->n_out * (l->writes == DLNET_S16 ? 2u : 1u);
        size[where] = size[where] > bytes ? size[where] : bytes;
    }
    m->region_a = round4(size[0]);
    m->region_b = round4(size[1]);
    m->scratch_bytes = m->region_a + m->region_b + round4(3u * (size_t)m->width + (size_t)m->rank);
}

/* Mirrors reference.run_without_liquid up to the trend, and reference.run up to its layers. */
int dlnet_run_start(const dlnet_model_t *m, const int32_t *soh_in, const int32_t *signals,
                    int16_t *soh_out, void *scratch, size_t scratch_bytes, dlnet_run_state_t *s)
{
    int16_t *d = (int16_t *)scratch;
    if (m == NULL || soh_in == NULL || soh_out == NULL || scratch == NULL || s == NULL) {
        return DLNET_ERR_ARG;
    }
    if (m->ready != DLNET_MAGIC) {
        return DLNET_ERR_MODEL;
    }
    /* after the ready check: n_signals means something only in a ready model */
    if (signals == NULL && m->n_signals != 0) {
        return DLNET_ERR_ARG;
    }
    if (scratch_bytes < m->scratch_bytes || ((uintptr_t)scratch & 1u) != 0u) {
        return DLNET_ERR_SCRATCH;
    }
    s->region[0] = (uint8_t *)scratch;
    s->region[1] = s->region[0] + m->region_a;
    s->h0 = (int8_t *)(s->region[1] + m->region_b);
    s->h = s->h0 + m->width;
    s->pre = s->h + m->width;
    s->p = s->pre + m->width;
    s->soh_out = soh_out;
    s->where = 0;
    s->x = d;
    s->trend[0] = s->trend[1] = s->trend[2] = 0;
    dlnet_scale_input(&m->anchor, m->input_len, soh_in, d, &s->anchor, &s->u_sum);
    /* after the SOH values, so that u_sum and the trend, which read those alone, are as
     * without signals; the first layer reads all input_len + n_signals */
    if (m->n_signals != 0) {
        dlnet_scale_signals(&m->signals, m->n_signals, signals, d + m->input_len);
    }
    if (m->trend.length != 0) {
        dlnet_trend_coefficients(&m->trend, m->input_len, soh_in, s->anchor, s->trend);
    }
    /* with a trend the forecast anchor is the parabola, added after the network's correction */
    s->out_anchor = m->trend.length == 0 ? s->anchor : 0;
    if (m->network == DLNET_NETWORK_LINEAR) {
        dlnet_fc_s16_s16(&m->linear, d, soh_out);
    } else if (m->network == DLNET_NETWORK_NONE) {
        memset(soh_out, 0, (size_t)m->output_len * sizeof *soh_out);
    }
    return DLNET_OK;
}

/* Mirrors reference.OPS and output_soh: one case per op. */
void dlnet_run_layer(const dlnet_model_t *m, int32_t i, dlnet_run_state_t *s)
{
    const dlnet_layer_t *l = &m->layer[i];
    const void *in = s->x;
    void *out;
    int32_t step;
    if (writes_cell_region(l->op)) {
        s->where = 2;
        out = NULL;
    } else {
        s->where = s->where == 0 ? 1 : 0;
        out = s->region[s->where];
    }
    switch (l->op) {
    case DLNET_OP_LINEAR:
        if (l->reads == DLNET_S16) {
            dlnet_fc_s16_s16(&l->p.fc, (const int16_t *)in, (int16_t *)out);
        } else if (l->writes == DLNET_S16) {
            dlnet_fc_s8_s16(&l->p.fc, (const int8_t *)in, (int16_t *)out);
        } else if (l->writes == DLNET_S8) {
            dlnet_fc_s8_s8(&l->p.fc, (const int8_t *)in, (int8_t *)out);
        } else {
            dlnet_fc_s8_soh(&l->p.fc, (const int8_t *)in, s->out_anchor, s->soh_out);
            out = s->soh_out;
        }
        break;
    case DLNET_OP_LAYER_NORM:
        dlnet_layer_norm(&l->p.ln, (const int16_t *)in, (int8_t *)out);
        break;
    case DLNET_OP_TANH:
        /* reference.latent: h0, the cell's starting state, kept for the residual */
        dlnet_lookup(l->p.table, l->n_in, (const int8_t *)in, s->h0);
        out = s->h0;
        break;
    case DLNET_OP_LIQUID:
        memcpy(s->h, s->h0, (size_t)m->width);
        for (step = 0; step < m->steps; step++) {
            dlnet_liquid_step(&m->cell, s->h, s->pre, s->p, s->u_sum);
        }
        out = s->h;
        break;
    default: /* DLNET_OP_RESIDUAL: dlnet_model_init accepts no other op */
        dlnet_residual(&l->p.residual, m->width, m->cell.state_offset, (const int8_t *)in, s->h0,
                       (int8_t *)out);
        break;
    }
    s->x = out;
}

/* Mirrors the end of reference.run and reference.run_without_liquid: add_trend. */
void dlnet_run_finish(const dlnet_model_t *m, dlnet_run_state_t *s)
{
    /* add_trend with zero coefficients adds the anchor alone */
    if (m->network != DLNET_NETWORK_LIQUID || m->trend.length != 0) {
        dlnet_add_trend(s->trend, s->anchor, m->output_len, s->soh_out);
    }
}

/* Mirrors reference.run and reference.run_without_liquid. */
int dlnet_run(const dlnet_model_t *m, const int32_t *soh_in, const int32_t *signals,
              int16_t *soh_out, void *scratch, size_t scratch_bytes)
{
    dlnet_run_state_t s;
    int32_t i;
    const int rc = dlnet_run_start(m, soh_in, signals, soh_out, scratch, scratch_bytes, &s);
    if (rc != DLNET_OK) {
        return rc;
    }
    for (i = 0; i < m->n_layers; i++) {
        dlnet_run_layer(m, i, &s);
    }
    dlnet_run_finish(m, &s);
    return DLNET_OK;
}
