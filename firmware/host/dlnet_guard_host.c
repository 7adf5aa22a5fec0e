/* Host driver of dlnet_check_window, for its check against dlnet/quant/guard.py.
 *
 *   dlnet_guard_host N INPUT OUTPUT
 *
 * INPUT   int32 little-endian Q7.24 SOH, N values per window, windows back to back
 * OUTPUT  per window two int32 little-endian: dlnet_check_window's code and the bad index
 *
 * Exit status: 0 done; 2 usage or file error.
 */
#include <stdio.h>
#include <stdlib.h>

#include "dlnet_core.h"

static int put_i32(FILE *f, int32_t v)
{
    const uint32_t u = (uint32_t)v;
    int b;
    for (b = 0; b < 4; b++) {
        if (fputc((int)((u >> (8 * b)) & 0xFFu), f) == EOF) {
            return 0;
        }
    }
    return 1;
}

int main(int argc, char **argv)
{
    FILE *fi, *fo;
    int32_t *window;
    long n;
    int32_t i, bad, rc;
    int status = 0, b, c;
    unsigned long v;
    if (argc != 4 || (n = strtol(argv[1], NULL, 10)) <= 0 || n > DLNET_MAX_DIM) {
        fprintf(stderr, "usage: dlnet_guard_host N INPUT OUTPUT (0 < N <= %d)\n", DLNET_MAX_DIM);
        return 2;
    }
    fi = fopen(argv[2], "rb");
    fo = fopen(argv[3], "wb");
    window = malloc(sizeof *window * (size_t)n);
    if (fi == NULL || fo == NULL || window == NULL) {
        fprintf(stderr, "dlnet_guard_host: cannot read %s or write %s\n", argv[2], argv[3]);
        status = 2;
    }
    while (status == 0) {
        for (i = 0; i < n; i++) {
            v = 0;
            for (b = 0; b < 4 && (c = fgetc(fi)) != EOF; b++) {
                v |= (unsigned long)c << (8 * b);
            }
            if (b < 4) {
                break;
            }
            /* without implementation-defined conversions, as dlnet_fixedpoint.h's rd32 */
            window[i] = v <= 0x7FFFFFFFul ? (int32_t)v : -(int32_t)(~v & 0x7FFFFFFFul) - 1;
        }
        if (i == 0) {
            break;
        }
        if (i < n) {
            fprintf(stderr, "dlnet_guard_host: %s is not a whole number of windows\n", argv[2]);
            status = 2;
            break;
        }
        rc = dlnet_check_window(window, (int32_t)n, &bad);
        if (!put_i32(fo, rc) || !put_i32(fo, bad)) {
            status = 2;
        }
    }
    if (fi != NULL) {
        fclose(fi);
    }
    if (fo != NULL && fclose(fo) != 0) {
        status = 2;
    }
    free(window);
    return status;
}
