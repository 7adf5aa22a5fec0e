/* Host driver of the DLNet core: runs a model on windows from a file, for bit-exact checks.
 *
 *   dlnet_host [--null-signals] MODEL INPUT OUTPUT [SCRATCH_BYTES]
 *
 * MODEL   a model blob file (dlnet/quant/blob.py), or "builtin" for the dlnet_model.h compiled in
 *         with -DDLNET_MODEL_HEADER='"path/dlnet_model.h"'
 * INPUT   windows back to back, each the model's n_signals raw signals (int32 little-endian),
 *         then its input_len SOH values (int32 little-endian Q7.24): signals first, as in
 *         reference.predict's rows (dlnet/quant/host.py writes it)
 * OUTPUT  int16 little-endian Q1.14 SOH, output_len values per window
 * SCRATCH_BYTES  scratch to allocate and pass (default: the model's own scratch_bytes); the
 *         buffer is malloc'ed at exactly that size so that AddressSanitizer catches any overrun
 * --null-signals  INPUT holds no signals and dlnet_run gets NULL for them, which it must
 *         refuse (DLNET_ERR_ARG) for a model with signals. Without it dlnet_run gets a buffer
 *         malloc'ed at exactly n_signals values (one, unread, for a model without signals).
 *
 * Exit status: 0 done; 2 usage or file error; 3 the model failed dlnet_model_init; 4 dlnet_run
 * failed. Errors go to stderr as "dlnet_host: <what>: <DLNET_ERR_NAME> (<code>)".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlnet_core.h"

#ifdef DLNET_MODEL_HEADER
#include DLNET_MODEL_HEADER
#endif

static unsigned char *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long n;
    if (f == NULL) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n + 1u);
        if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        *size = (size_t)n;
    }
    fclose(f);
    return buf;
}

/* 4 bytes little-endian, written without implementation-defined conversions, as
 * dlnet_fixedpoint.h's rd32 */
static int32_t le32(const unsigned char *p)
{
    const unsigned long v = (unsigned long)p[0] | ((unsigned long)p[1] << 8) |
                            ((unsigned long)p[2] << 16) | ((unsigned long)p[3] << 24);
    return v <= 0x7FFFFFFFul ? (int32_t)v : -(int32_t)(~v & 0x7FFFFFFFul) - 1;
}

static int fail(const char *what, int code, int status)
{
    fprintf(stderr, "dlnet_host: %s: %s (%d)\n", what, dlnet_error_name(code), code);
    return status;
}

int main(int argc, char **argv)
{
    dlnet_model_t model;
    unsigned char *blob = NULL, *raw = NULL;
    const uint8_t *data;
    size_t blob_size = 0, raw_size = 0, n_windows, w, scratch_bytes, record, k;
    int16_t *out, *scratch;
    int32_t *in;
    int32_t *sig = NULL;
    FILE *fo;
    int rc, status = 0, null_signals = 0;

    if (argc > 1 && strcmp(argv[1], "--null-signals") == 0) {
        null_signals = 1;
        argc--;
        argv++;
    }
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: dlnet_host [--null-signals] MODEL|builtin INPUT OUTPUT "
                "[SCRATCH_BYTES]\n");
        return 2;
    }
    if (strcmp(argv[1], "builtin") == 0) {
#ifdef DLNET_MODEL_HEADER
        data = dlnet_model_data;
        blob_size = DLNET_MODEL_BYTES;
#else
        fprintf(stderr, "dlnet_host: built without -DDLNET_MODEL_HEADER\n");
        return 2;
#endif
    } else {
        blob = read_file(argv[1], &blob_size);
        if (blob == NULL) {
            fprintf(stderr, "dlnet_host: cannot read %s\n", argv[1]);
            return 2;
        }
        data = blob;
    }
    rc = dlnet_model_init(&model, data, blob_size);
    if (rc != DLNET_OK) {
        free(blob);
        return fail("dlnet_model_init", rc, 3);
    }
    k = null_signals ? 0u : (size_t)model.n_signals;
    record = 4u * k + 4u * (size_t)model.input_len;
    raw = read_file(argv[2], &raw_size);
    if (raw == NULL || raw_size % record != 0u) {
        fprintf(stderr, "dlnet_host: %s is missing or not a whole number of windows of %d "
                "signals and %d values\n", argv[2], (int)k, (int)model.input_len);
        free(blob);
        free(raw);
        return 2;
    }
    n_windows = raw_size / record;
    in = malloc(sizeof *in * (size_t)model.input_len);
    out = malloc(sizeof *out * (size_t)model.output_len);
    if (!null_signals) {
        sig = malloc(sizeof *sig * (k > 0u ? k : 1u));
    }
    scratch_bytes = argc == 5 ? (size_t)strtoul(argv[4], NULL, 10) : model.scratch_bytes;
    scratch = malloc(scratch_bytes > 0u ? scratch_bytes : 1u);
    fo = fopen(argv[3], "wb");
    if (in == NULL || out == NULL || scratch == NULL || fo == NULL ||
        (!null_signals && sig == NULL)) {
        fprintf(stderr, "dlnet_host: out of memory or cannot write %s\n", argv[3]);
        status = 2;
    }
    for (w = 0; status == 0 && w < n_windows; w++) {
        const unsigned char *p = raw + record * w;
        size_t i;
        int32_t j;
        for (i = 0; i < k; i++, p += 4) {
            sig[i] = le32(p);
        }
        for (j = 0; j < model.input_len; j++, p += 4) {
            in[j] = le32(p);
        }
        rc = dlnet_run(&model, in, sig, out, scratch, scratch_bytes);
        if (rc != DLNET_OK) {
            status = fail("dlnet_run", rc, 4);
            break;
        }
        for (j = 0; j < model.output_len; j++) {
            const unsigned v = (unsigned)(out[j] < 0 ? out[j] + 0x10000L : out[j]);
            fputc((int)(v & 0xFFu), fo);
            fputc((int)(v >> 8), fo);
        }
    }
    if (fo != NULL && fclose(fo) != 0 && status == 0) {
        status = 2;
    }
    free(in);
    free(sig);
    free(out);
    free(scratch);
    free(raw);
    free(blob);
    return status;
}
