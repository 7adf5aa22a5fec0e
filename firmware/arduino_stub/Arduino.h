/* A minimal stand-in for the Arduino core, so that a sketch compiles and runs on the host: the
 * parts of Serial, micros() and millis() that firmware/nano33ble uses, with Serial reading
 * stdin and writing stdout. arduino_stub.cpp holds main(), which calls setup() once and loop()
 * until stdin ends. */
#ifndef ARDUINO_STUB_H
#define ARDUINO_STUB_H

#include <stddef.h>
#include <stdint.h>

class StubSerial {
public:
    void begin(unsigned long baud);
    explicit operator bool() const;
    int available();
    int read();
    size_t print(const char *text);
};

extern StubSerial Serial;

unsigned long micros();
unsigned long millis();

void setup();
void loop();

#endif /* ARDUINO_STUB_H */
