/* Bare-metal start-up for a Cortex-M4F image linked with nrf52840.ld and newlib's semihosting
 * library (rdimon): vector table, reset handler, and a fault handler that ends the run.
 *
 * Without crt0 (-nostartfiles) the reset handler does crt0's work: enable the FPU before any
 * code that might touch it, copy .data, zero .bss, open the semihosting stdio handles, run the
 * constructors, then exit(main()), which QEMU turns into its own exit status. */
#include <stdint.h>
#include <stdlib.h>

#define CPACR (*(volatile uint32_t *)0xE000ED88u)
#define CPACR_CP10_CP11_FULL (0xFu << 20)

/* The status a fault ends the run with; firmware/m4/main.c documents the others. */
#define EXIT_FAULT 5

extern uint32_t __data_load[], __data_start[], __data_end[], __bss_start[], __bss_end[];
extern uint32_t __StackTop[];

extern int main(void);
extern void initialise_monitor_handles(void);
extern void __libc_init_array(void);

/* __libc_init_array calls these; crt0 would provide them. */
void _init(void)
{
}

void _fini(void)
{
}

void Reset_Handler(void)
{
    const uint32_t *src = __data_load;
    uint32_t *dst;
    CPACR |= CPACR_CP10_CP11_FULL;
    __asm volatile("dsb\n\tisb" ::: "memory");
    for (dst = __data_start; dst < __data_end; dst++) {
        *dst = *src++;
    }
    for (dst = __bss_start; dst < __bss_end; dst++) {
        *dst = 0;
    }
    initialise_monitor_handles();
    __libc_init_array();
    exit(main());
}

/* Any fault or unexpected interrupt: a bad image must end the emulator, never hang it. */
void Fault_Handler(void)
{
    _Exit(EXIT_FAULT);
}

/* Cortex-M4 system exceptions; the image enables no peripheral interrupt. */
__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))(uintptr_t)__StackTop,
    Reset_Handler,
    Fault_Handler,  /* NMI */
    Fault_Handler,  /* HardFault */
    Fault_Handler,  /* MemManage */
    Fault_Handler,  /* BusFault */
    Fault_Handler,  /* UsageFault */
    0, 0, 0, 0,
    Fault_Handler,  /* SVCall */
    Fault_Handler,  /* DebugMonitor */
    0,
    Fault_Handler,  /* PendSV */
    Fault_Handler,  /* SysTick */
};
