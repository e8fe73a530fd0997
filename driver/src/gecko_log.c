/*
 * gecko_log.c — logging for the control path and the attach thread.
 * Never called on the IO thread (syslog may lock and make syscalls).
 * syslog is available on both Linux and macOS; GECKO_LOG_STDERR=1 in the
 * environment (Linux tests) mirrors messages to stderr as well.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>

void gecko_log(int priority, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

void gecko_log(int priority, const char* fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    syslog(priority, "GeckoAudioDevice: %s", msg);
    const char* mirror = getenv("GECKO_LOG_STDERR");
    if (mirror && mirror[0] == '1') fprintf(stderr, "GeckoAudioDevice: %s\n", msg);
}
