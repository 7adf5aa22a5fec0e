/* The input guard: a window of SOH values checked before it reaches the model. */
#include "dlnet_fixedpoint.h"

/* Mirrors guard.check_window. The median of the k values before soh[i] is compared doubled, so
 * that an even k's median (the mean of the middle two) stays an integer. */
int dlnet_check_window(const int32_t *soh, int32_t n, int32_t *bad)
{
    int32_t before[DLNET_JUMP_WINDOW];
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
            const int32_t v = soh[i - k + j];
            int32_t at = j;
            for (; at > 0 && before[at - 1] > v; at--) {
                before[at] = before[at - 1];
            }
            before[at] = v;
        }
        twice_median = (k % 2 != 0) ? 2 * before[k / 2] : before[k / 2 - 1] + before[k / 2];
        twice_step = 2 * soh[i] - twice_median;
        if (twice_step > 2 * DLNET_JUMP_MAX_Q || twice_step < -2 * DLNET_JUMP_MAX_Q) {
            if (bad != NULL) {
                *bad = i;
            }
            return DLNET_ERR_INPUT_JUMP;
        }
    }
    return DLNET_OK;
}
