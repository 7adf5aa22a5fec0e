/* DLNet battery state-of-health forecaster for the Arduino Nano 33 BLE Sense
 * (arduino:mbed_nano:nano33ble), on the int8 core (dlnet_*.c, its DSP path on this M4F).
 *
 * At start-up it validates the model (CRC-32 and every parameter), forecasts one stored real
 * test window (dlnet_sample.h) and compares the result with the NumPy int8 reference's, then
 * prints the forecast, the inference time and the memory the model uses. After that it answers
 * requests on Serial (115200 baud), one per line:
 *
 *   request  W v1 v2 ... vN        N = DLNET_INPUT_LEN past SOH values, oldest first, as plain
 *                                  decimals (0.912345678), separated by spaces, tabs or commas;
 *                                  send 8 decimals or more: a short parabola extrapolated 100
 *                                  cycles magnifies the rounding of the values it is sent
 *   request  W v1 ... vN | s1 ... sK
 *                                  the same for a model with signals, K = DLNET_N_SIGNALS > 0:
 *                                  after the SOH values a '|', then the K raw signals of the
 *                                  window (dlnet/signals.py, in the model's order; `cycle` is
 *                                  the cycle number of vN) as decimal integers in the int32
 *                                  range, separated the same way. A model without signals takes
 *                                  the first form only.
 *   answer   P v1 v2 ... vM us=T   M = DLNET_OUTPUT_LEN forecast SOH values with 6 decimals,
 *                                  and the time of dlnet_run in microseconds (micros())
 *   request  S                     repeat the self-test (its line, then its P answer)
 *   error    E <reason>
 *
 * Each value is rounded to the model's Q7.24 input (steps of 2^-24), halves up, and values
 * outside [-128, 128) saturate, as dlnet.quant.fixedpoint.soh_to_q_in does; the decimal is
 * read exactly, in integers, so the board, a host build and the reference agree bit for bit. An
 * answer's value v is the Q1.14 output q rounded to 6 decimals: round(v * 16384) gives q back.
 * The signals go to dlnet_run as they are: the model scales them itself. The '|' keeps the
 * SOH values' count, and its errors, the same as without signals.
 *
 * What is refused, with `E <reason>` and no forecast: a line that is not a request, text or
 * anything but a plain decimal (nan, inf, 1e-3), too few or too many values, a missing '|' or
 * too few or too many signals, a signal that is not a plain integer or is outside the int32
 * range (it is a raw counter: no rounding, no saturation), signals for a model without any, a
 * line longer than REQUEST_MAX, and a window the core's input guard refuses
 * (dlnet_check_window): a value outside (0, 1.25] SOH (a zero row, a 2.88 Ah spike, a huge
 * number), or, from the fourth value on, a value more than 0.05 SOH from the median of the up
 * to 10 before it (a one-cycle glitch). A window with missed cycles cannot be told from one
 * without: the sender leaves out a window across a logging gap, as the workflow leaves out one
 * across more than cleaning.max_cycle_gap missing cycles (it interpolates nothing).
 */
#include <Arduino.h>
#include <stdio.h>

#include "dlnet_core.h"
#include "dlnet_model.h"
#include "dlnet_sample.h"

#if DLNET_SAMPLE_INPUT_LEN != DLNET_INPUT_LEN || DLNET_SAMPLE_OUTPUT_LEN != DLNET_OUTPUT_LEN || \
    DLNET_SAMPLE_SIGNALS != DLNET_N_SIGNALS
#error "dlnet_sample.h belongs to another model: regenerate it with dlnet_model.h"
#endif

#define BAUD 115200
#define SERIAL_WAIT_MS 3000
#define SIGNALS_MARK '|'
/* "W", then up to 24 characters per value: a sign, a digit, 20 decimals, a separator;
 * with signals "| " and up to 16 per signal: a sign, 10 digits, a separator, spare */
#define REQUEST_MAX \
    (2 + 24 * DLNET_INPUT_LEN + (DLNET_N_SIGNALS > 0 ? 2 + 16 * DLNET_N_SIGNALS : 0))

static dlnet_model_t model;
static int16_t scratch[(DLNET_SCRATCH_BYTES + 1) / 2];
static int32_t soh_in[DLNET_INPUT_LEN];
/* C++ has no empty arrays: without signals there is no buffer, and dlnet_run gets NULL */
#if DLNET_N_SIGNALS > 0
static int32_t signals_in[DLNET_N_SIGNALS];
#define SIGNALS_IN signals_in
#define SIGNALS_BYTES sizeof signals_in
#else
#define SIGNALS_IN NULL
#define SIGNALS_BYTES 0u
#endif
static int16_t soh_out[DLNET_OUTPUT_LEN];
static char line[REQUEST_MAX + 1];
static size_t line_len;
static bool line_too_long;

static void print_line(const char *text)
{
    Serial.print(text);
    Serial.print("\n");
}

static bool is_separator(char c)
{
    return c == ' ' || c == '\t' || c == ',';
}

static const char *skip_separators(const char *s)
{
    while (is_separator(*s)) {
        s++;
    }
    return s;
}

/* Where a number may end: "0.9|1200" needs no separator before the mark. */
static bool ends_number(char c)
{
    return c == '\0' || is_separator(c) || c == SIGNALS_MARK;
}

/* The decimal at *s as Q7.24, q = round half up of v * 2^24, saturated to int32; advances *s.
 * Read exactly, in integers: a tie (k / 2^25) has 25 fraction digits, so those 25 are kept, in
 * two parts (hi the first 12, lo the next 13), and any later nonzero digit only marks the value
 * inexact. With 10^25 = 2^25 5^25, frac 2^25 = hi 2^13 / 5^12 + lo / 5^25: the integer part M
 * of |v| 2^25 comes from two divisions that fit in 64 bits, and q = floor((M + 1) / 2) for
 * v >= 0; a negative value rounds its ties toward zero, |q| = M / 2 when |v| 2^25 is exact. */
static bool parse_q24(const char **s, int32_t *q)
{
    const uint64_t five12 = 244140625u, five13 = 1220703125u, five25 = 298023223876953125u;
    const char *p = *s;
    const bool negative = *p == '-';
    uint64_t whole = 0, hi = 0, lo = 0, t, u, m, mag;
    int digits = 0, kept = 0;
    bool inexact = false;
    if (*p == '-' || *p == '+') {
        p++;
    }
    for (; *p >= '0' && *p <= '9'; p++, digits++) {
        whole = whole < 128u ? whole * 10u + (uint64_t)(*p - '0') : 128u;
    }
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++, digits++, kept++) {
            if (kept < 12) {
                hi = hi * 10u + (uint64_t)(*p - '0');
            } else if (kept < 25) {
                lo = lo * 10u + (uint64_t)(*p - '0');
            } else if (*p != '0') {
                inexact = true;
            }
        }
    }
    if (digits == 0 || !ends_number(*p)) {
        return false;
    }
    for (; kept < 25; kept++) {                  /* the digits not sent are zeros */
        if (kept < 12) {
            hi *= 10u;
        } else {
            lo *= 10u;
        }
    }
    t = hi << 13;                                /* below 10^12 2^13 < 2^53 */
    u = (t % five12) * five13 + lo;              /* below 5^25 + 10^13 < 2^59 */
    m = (t / five12) + u / five25;
    inexact = inexact || u % five25 != 0u;
    /* |v| >= 128 saturates either way */
    mag = whole >= 128u ? 0x80000000u
                        : ((whole << 25) + m + (negative && !inexact ? 0u : 1u)) / 2u;
    *q = negative ? (mag >= 0x80000000u ? INT32_MIN : -(int32_t)mag)
                  : (mag > 0x7FFFFFFFu ? INT32_MAX : (int32_t)mag);
    *s = p;
    return true;
}

#if DLNET_N_SIGNALS > 0
enum { SIGNAL_OK, SIGNAL_NOT_INTEGER, SIGNAL_OUT_OF_RANGE };

/* The decimal integer at *s as an int32; advances *s. A raw signal is a count, so a value
 * outside the int32 range is refused rather than saturated: it is not what the device has. */
static int parse_int32(const char **s, int32_t *v)
{
    const char *p = *s;
    const bool negative = *p == '-';
    /* capped above 2^31, so that any number of digits cannot overflow */
    const uint64_t cap = (uint64_t)1 << 32;
    uint64_t mag = 0;
    int digits = 0;
    if (*p == '-' || *p == '+') {
        p++;
    }
    for (; *p >= '0' && *p <= '9'; p++, digits++) {
        mag = mag < cap ? mag * 10u + (uint64_t)(*p - '0') : cap;
    }
    if (digits == 0 || !ends_number(*p)) {
        return SIGNAL_NOT_INTEGER;
    }
    if (mag > (negative ? (uint64_t)1 << 31 : ((uint64_t)1 << 31) - 1u)) {
        return SIGNAL_OUT_OF_RANGE;
    }
    /* -(mag - 1) - 1 reaches INT32_MIN without overflow */
    *v = negative ? (mag == 0u ? 0 : -(int32_t)(mag - 1u) - 1) : (int32_t)mag;
    *s = p;
    return SIGNAL_OK;
}
#endif

/* q / 2^14 with 6 decimals, the magnitude rounded half up. */
static void format_q14(int16_t q, char *buf, size_t size)
{
    const uint64_t mag = (uint64_t)(q < 0 ? -(int32_t)q : q);
    const uint64_t micro = (mag * 1000000u + 8192u) >> 14;
    snprintf(buf, size, "%s%lu.%06lu", q < 0 ? "-" : "", (unsigned long)(micro / 1000000u),
             (unsigned long)(micro % 1000000u));
}

/* Forecast soh_in into soh_out; returns dlnet_run's code and the time it took. */
static int forecast(unsigned long *us)
{
    const unsigned long start = micros();
    const int rc = dlnet_run(&model, soh_in, SIGNALS_IN, soh_out, scratch, sizeof scratch);
    *us = micros() - start;
    return rc;
}

static void print_error(const char *what, int rc)
{
    char buf[96];
    snprintf(buf, sizeof buf, "E %s: %s (%d)", what, dlnet_error_name(rc), rc);
    print_line(buf);
}

static void print_forecast(unsigned long us)
{
    char buf[32];
    int32_t i;
    Serial.print("P");
    for (i = 0; i < DLNET_OUTPUT_LEN; i++) {
        buf[0] = ' ';
        format_q14(soh_out[i], buf + 1, sizeof buf - 1);
        Serial.print(buf);
    }
    snprintf(buf, sizeof buf, " us=%lu", us);
    print_line(buf);
}

static void self_test(void)
{
    char buf[160];
    unsigned long us;
    int32_t i, differ = 0;
    int rc;
    for (i = 0; i < DLNET_INPUT_LEN; i++) {
        soh_in[i] = dlnet_sample_in[i];
    }
#if DLNET_N_SIGNALS > 0
    for (i = 0; i < DLNET_N_SIGNALS; i++) {
        signals_in[i] = dlnet_sample_signals[i];
    }
#endif
    rc = forecast(&us);
    if (rc != DLNET_OK) {
        print_error("dlnet_run", rc);
        return;
    }
    for (i = 0; i < DLNET_OUTPUT_LEN; i++) {
        differ += soh_out[i] != dlnet_sample_expected[i];
    }
    if (differ == 0) {
        snprintf(buf, sizeof buf, "self-test ok: %d values match the NumPy int8 reference (%s)",
                 DLNET_OUTPUT_LEN, DLNET_SAMPLE_SOURCE);
    } else {
        snprintf(buf, sizeof buf, "self-test FAILED: %ld of %d values differ from the reference",
                 (long)differ, DLNET_OUTPUT_LEN);
    }
    print_line(buf);
    print_forecast(us);
}

static void answer(const char *s)
{
    char buf[96];
    unsigned long us;
    int32_t i, bad;
    int rc;
    s = skip_separators(s);
    if (*s == '\0') {
        return;
    }
    if (s[0] == 'S' && *skip_separators(s + 1) == '\0') {
        self_test();
        return;
    }
    if (s[0] != 'W' || !is_separator(s[1])) {
        print_line("E a request is a line 'W v1 v2 ...' of past SOH values, or 'S'");
        return;
    }
    s++;
    for (i = 0; i < DLNET_INPUT_LEN; i++) {
        s = skip_separators(s);
        if (*s == '\0' || *s == SIGNALS_MARK) {
            snprintf(buf, sizeof buf, "E expected %d values, got %ld", DLNET_INPUT_LEN, (long)i);
            print_line(buf);
            return;
        }
        if (!parse_q24(&s, &soh_in[i])) {
            snprintf(buf, sizeof buf, "E value %ld is not a plain decimal number", (long)i + 1);
            print_line(buf);
            return;
        }
    }
    s = skip_separators(s);
#if DLNET_N_SIGNALS > 0
    if (*s == '\0') {
        snprintf(buf, sizeof buf, "E expected '%c' and %d signals after the %d values",
                 SIGNALS_MARK, DLNET_N_SIGNALS, DLNET_INPUT_LEN);
        print_line(buf);
        return;
    }
#else
    if (*s == SIGNALS_MARK) {
        print_line("E this model takes no signals");
        return;
    }
#endif
    if (*s != '\0' && *s != SIGNALS_MARK) {
        snprintf(buf, sizeof buf, "E more than %d values", DLNET_INPUT_LEN);
        print_line(buf);
        return;
    }
#if DLNET_N_SIGNALS > 0
    s++;
    for (i = 0; i < DLNET_N_SIGNALS; i++) {
        int got;
        s = skip_separators(s);
        if (*s == '\0') {
            snprintf(buf, sizeof buf, "E expected %d signals, got %ld", DLNET_N_SIGNALS, (long)i);
            print_line(buf);
            return;
        }
        got = parse_int32(&s, &signals_in[i]);
        if (got != SIGNAL_OK) {
            snprintf(buf, sizeof buf, got == SIGNAL_NOT_INTEGER
                     ? "E signal %ld is not a plain integer"
                     : "E signal %ld is outside the int32 range", (long)i + 1);
            print_line(buf);
            return;
        }
    }
    if (*skip_separators(s) != '\0') {
        snprintf(buf, sizeof buf, "E more than %d signals", DLNET_N_SIGNALS);
        print_line(buf);
        return;
    }
#endif
    rc = dlnet_check_window(soh_in, DLNET_INPUT_LEN, &bad);
    if (rc == DLNET_ERR_INPUT_RANGE) {
        snprintf(buf, sizeof buf, "E value %ld is outside (0, 1.25] SOH", (long)bad + 1);
        print_line(buf);
        return;
    }
    if (rc == DLNET_ERR_INPUT_JUMP) {
        snprintf(buf, sizeof buf, "E value %ld is more than 0.05 SOH from the median of the "
                 "values before it", (long)bad + 1);
        print_line(buf);
        return;
    }
    rc = forecast(&us);
    if (rc != DLNET_OK) {
        print_error("dlnet_run", rc);
        return;
    }
    print_forecast(us);
}

void setup()
{
    char buf[160];
    const unsigned long start = millis();
    int rc;
    Serial.begin(BAUD);
    /* USB serial: wait for a monitor a little, so the start-up report is seen, but run without */
    while (!Serial && millis() - start < SERIAL_WAIT_MS) {
    }
    snprintf(buf, sizeof buf, "DLNet: model %d bytes in flash; RAM %lu bytes static "
             "(model handle %lu, scratch %lu, input and output %lu), plus the stack",
             DLNET_MODEL_BYTES,
             (unsigned long)(sizeof model + sizeof scratch + sizeof soh_in + SIGNALS_BYTES +
                             sizeof soh_out),
             (unsigned long)sizeof model, (unsigned long)sizeof scratch,
             (unsigned long)(sizeof soh_in + SIGNALS_BYTES + sizeof soh_out));
    print_line(buf);
    rc = dlnet_model_init(&model, dlnet_model_data, DLNET_MODEL_BYTES);
    if (rc != DLNET_OK) {
        print_error("dlnet_model_init", rc);
        return;
    }
    self_test();
#if DLNET_N_SIGNALS > 0
    snprintf(buf, sizeof buf, "ready: send 'W v1 ... v%d | s1 ... s%d' (past SOH values, oldest "
             "first, then the raw signals) or 'S'", DLNET_INPUT_LEN, DLNET_N_SIGNALS);
#else
    snprintf(buf, sizeof buf, "ready: send 'W v1 ... v%d' (past SOH values, oldest first) or 'S'",
             DLNET_INPUT_LEN);
#endif
    print_line(buf);
}

void loop()
{
    while (Serial.available() > 0) {
        const int c = Serial.read();
        if (c == '\n') {
            line[line_len] = '\0';
            if (line_too_long) {
                print_line("E line too long");
            } else {
                answer(line);
            }
            line_len = 0;
            line_too_long = false;
        } else if (c != '\r' && c >= 0) {
            if (line_len < REQUEST_MAX) {
                line[line_len++] = (char)c;
            } else {
                line_too_long = true;
            }
        }
    }
}
