/* DLNet on a bare-metal Cortex-M4F, for QEMU (mps2-an386, -icount shift=0, semihosting).
 *
 * Runs the compiled-in model on the compiled-in windows and prints, through semihosting stdout:
 *   calib ticks=T instructions=N     SysTick ticks of a loop of N instructions
 *   overhead ticks=T                 ticks between two back-to-back SysTick reads
 *   init rc=R ticks=T NAME           dlnet_model_init: return code, ticks, the code's name
 *   window I rc=R ticks=T stack=S y=V,V,...   dlnet_run on window I: return code, ticks,
 *                                    bytes of stack it used, its Q1.14 outputs
 *   guard I rc=R bad=B               dlnet_check_window on window I: its code, the bad index
 * Under -icount shift=0 every instruction advances virtual time by the same amount, so ticks
 * are proportional to executed instructions; the calibration line gives the ratio.
 *
 * Exit status: 0 done; 3 dlnet_model_init failed; 4 dlnet_run failed; 5 a fault (startup.c);
 * 6 a measurement outlasted one SysTick period (2^24 ticks) and cannot be timed.
 *
 * Build inputs, both generated: dlnet_model.h (the model) and dlnet_windows.h (DLNET_M4_WINDOWS
 * windows of DLNET_M4_WINDOW_LEN Q7.24 values in dlnet_windows[][] and, when DLNET_M4_SIGNALS
 * is not 0, their raw signals in dlnet_signals[][]).
 */
#include <stdint.h>
#include <stdio.h>

#include "dlnet_core.h"
#include "dlnet_model.h"
#include "dlnet_windows.h"

#if DLNET_M4_WINDOW_LEN != DLNET_INPUT_LEN
#error "dlnet_windows.h holds windows of another length than the model's input"
#endif
#if DLNET_M4_SIGNALS != DLNET_N_SIGNALS
#error "dlnet_windows.h holds another number of signals than the model reads"
#endif

/* C has no empty arrays: without signals there is no dlnet_signals, and dlnet_run gets NULL */
#if DLNET_M4_SIGNALS > 0
#define WINDOW_SIGNALS(w) (dlnet_signals[w])
#else
#define WINDOW_SIGNALS(w) NULL
#endif

#define EXIT_INIT 3
#define EXIT_RUN 4
#define EXIT_WRAPPED 6

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SYST_CSR_ENABLE 1u
#define SYST_CSR_CLKSOURCE_CPU 4u
#define SYST_CSR_COUNTFLAG (1u << 16)
#define SYST_MAX 0x00FFFFFFu

#define CALIB_LOOPS 100000u
#define STACK_PAINT 0xDEADBEEFu

extern uint32_t __StackLimit[];

/* What the inference needs in RAM besides its stack: nm reports each of these by name. */
static dlnet_model_t dlnet_model;
static int16_t dlnet_scratch[(DLNET_SCRATCH_BYTES + 1) / 2];
static int16_t dlnet_soh_out[DLNET_OUTPUT_LEN];

static void systick_start(void)
{
    SYST_RVR = SYST_MAX;
    SYST_CVR = 0;
    SYST_CSR = SYST_CSR_ENABLE | SYST_CSR_CLKSOURCE_CPU;
}

/* Ticks from `start` to now; reading CSR clears COUNTFLAG, so a set flag means the counter
 * reached zero since the previous read and the difference has lost a whole period. */
static int systick_elapsed(uint32_t start, uint32_t *ticks)
{
    const uint32_t now = SYST_CVR;
    *ticks = (start - now) & SYST_MAX;
    return (SYST_CSR & SYST_CSR_COUNTFLAG) == 0u;
}

static uint32_t systick_begin(void)
{
    (void)SYST_CSR;
    return SYST_CVR;
}

/* Exactly 2 * n instructions in the loop: the calibration of ticks against instructions. */
static void __attribute__((noinline)) spin(uint32_t n)
{
    __asm volatile("1:\n\tsubs %0, %0, #1\n\tbne 1b" : "+r"(n) : : "cc");
}

/* Fill the free stack below this function's frame with a pattern; runs with nothing below SP
 * in use, as no interrupt is enabled. */
static void __attribute__((noinline)) stack_paint(void)
{
    uint32_t *p = __StackLimit, *sp;
    __asm volatile("mov %0, sp" : "=r"(sp));
    while (p < sp) {
        *p++ = STACK_PAINT;
    }
}

/* Bytes between `top` and the deepest word that no longer holds the pattern. */
static uint32_t stack_depth(const uint32_t *top)
{
    const uint32_t *p = __StackLimit;
    while (p < top && *p == STACK_PAINT) {
        p++;
    }
    return (uint32_t)((uintptr_t)top - (uintptr_t)p);
}

/* dlnet_run on one window: its code in *rc, its ticks and stack. Returns 0 if it outlasted
 * one SysTick period. */
static int timed_run(const int32_t *soh_in, const int32_t *signals, int *rc, uint32_t *ticks,
                     uint32_t *stack)
{
    uint32_t *sp, start;
    __asm volatile("mov %0, sp" : "=r"(sp));
    stack_paint();
    start = systick_begin();
    *rc = dlnet_run(&dlnet_model, soh_in, signals, dlnet_soh_out, dlnet_scratch,
                    sizeof dlnet_scratch);
    if (!systick_elapsed(start, ticks)) {
        return 0;
    }
    *stack = stack_depth(sp);
    return 1;
}

int main(void)
{
    uint32_t start, ticks, stack, w;
    int32_t j, bad;
    int rc;

    systick_start();
    start = systick_begin();
    spin(CALIB_LOOPS);
    if (!systick_elapsed(start, &ticks)) {
        return EXIT_WRAPPED;
    }
    printf("calib ticks=%lu instructions=%lu\n", (unsigned long)ticks, 2ul * CALIB_LOOPS);
    start = systick_begin();
    (void)systick_elapsed(start, &ticks);
    printf("overhead ticks=%lu\n", (unsigned long)ticks);

    start = systick_begin();
    rc = dlnet_model_init(&dlnet_model, dlnet_model_data, DLNET_MODEL_BYTES);
    if (!systick_elapsed(start, &ticks)) {
        return EXIT_WRAPPED;
    }
    printf("init rc=%d ticks=%lu %s\n", rc, (unsigned long)ticks, dlnet_error_name(rc));
    if (rc != DLNET_OK) {
        return EXIT_INIT;
    }

    for (w = 0; w < DLNET_M4_WINDOWS; w++) {
        if (!timed_run(dlnet_windows[w], WINDOW_SIGNALS(w), &rc, &ticks, &stack)) {
            return EXIT_WRAPPED;
        }
        printf("window %lu rc=%d ticks=%lu stack=%lu y=", (unsigned long)w, rc,
               (unsigned long)ticks, (unsigned long)stack);
        if (rc != DLNET_OK) {
            printf("\n");
            return EXIT_RUN;
        }
        for (j = 0; j < DLNET_OUTPUT_LEN; j++) {
            printf(j + 1 < DLNET_OUTPUT_LEN ? "%d," : "%d\n", dlnet_soh_out[j]);
        }
        rc = dlnet_check_window(dlnet_windows[w], DLNET_INPUT_LEN, &bad);
        printf("guard %lu rc=%d bad=%ld\n", (unsigned long)w, rc, (long)bad);
    }
    return 0;
}
