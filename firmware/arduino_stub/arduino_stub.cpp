/* Host driver for a sketch built against the Arduino stand-in (Arduino.h beside this file). */
#include "Arduino.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

StubSerial Serial;

void StubSerial::begin(unsigned long)
{
}

StubSerial::operator bool() const
{
    return true;
}

/* Blocks until stdin has a character or has ended, as a host has no serial line to poll. */
int StubSerial::available()
{
    const int c = getchar();
    if (c == EOF) {
        return 0;
    }
    ungetc(c, stdin);
    return 1;
}

int StubSerial::read()
{
    return getchar();
}

size_t StubSerial::print(const char *text)
{
    return fputs(text, stdout) < 0 ? 0 : strlen(text);
}

static unsigned long long now_us()
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (unsigned long long)t.tv_sec * 1000000ull + (unsigned long long)t.tv_nsec / 1000ull;
}

static const unsigned long long start_us = now_us();

unsigned long micros()
{
    return (unsigned long)(now_us() - start_us);
}

unsigned long millis()
{
    return micros() / 1000ul;
}

int main()
{
    setup();
    while (Serial.available() > 0) {
        loop();
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
