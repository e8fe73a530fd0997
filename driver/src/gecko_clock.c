/*
 * gecko_clock.c — the host clock, and (non-Apple builds only) GeckoSim_Configure.
 *
 * macOS: host ticks are mach_absolute_time(); ticks per second from
 * mach_timebase_info (1e9 * denom / numer).
 * Linux: the clock given to GeckoSim_Configure; else mach_absolute_time() and
 * mach_timebase_info() when a library in the process provides them (the macOS
 * semantics emulation, scripts/macos-semantics/gecko_macsem.c: Apple silicon's
 * 24 MHz ticks, so tests see host ticks that are not nanoseconds); else
 * CLOCK_MONOTONIC in nanoseconds (1e9 ticks per second) read through the vDSO
 * (no real syscall).
 */
#define _GNU_SOURCE
#include "gecko_driver.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#ifdef __APPLE__

uint64_t gecko_host_time_now(void) { return mach_absolute_time(); }

double gecko_host_ticks_per_second(void) {
    mach_timebase_info_data_t tb;
    if (mach_timebase_info(&tb) != KERN_SUCCESS || tb.numer == 0) return 1e9;
    return 1e9 * (double)tb.denom / (double)tb.numer;
}

const char* gecko_configured_shm_name(void) { return GECKO_SHM_DEFAULT_NAME; }

bool gecko_configured_ignore_clock_requests(void) { return false; }

void gecko_config_freeze(void) {}

int gecko_shm_open(const char* name, int oflag, mode_t mode) { return shm_open(name, oflag, mode); }

#else /* simulated host on Linux */

#include "gecko_sim.h"

/* Weak: resolved only when the macOS-semantics emulation is preloaded. Same
 * signatures as <mach/mach_time.h> (mach_timebase_info_data_t is two uint32_t). */
typedef struct {
    uint32_t numer;
    uint32_t denom;
} GeckoMachTimebase;
extern uint64_t mach_absolute_time(void) __attribute__((weak));
extern int mach_timebase_info(GeckoMachTimebase* info) __attribute__((weak));

/** The configuration (GeckoSim_Configure); read on the IO thread after Initialize,
 *  never written after it, so no synchronisation beyond the freeze is needed. */
static struct {
    char shm_name[GECKO_SHM_NAME_MAX + 1];
    GeckoSimHostClockFn host_clock;
    void* host_clock_ctx;
    double host_ticks_per_second;
    bool ignore_clock_requests;
    bool deny_shm_create;
    bool mach_clock; /* default clock is mach_absolute_time (set at freeze) */
    bool frozen;
} gConfig = {GECKO_SHM_DEFAULT_NAME, NULL, NULL, 1e9, false, false, false, false};

static pthread_mutex_t gConfigMutex = PTHREAD_MUTEX_INITIALIZER;

/** Whether the process provides a mach host clock (the macOS-semantics emulation). */
static bool have_mach_clock(void) { return mach_absolute_time && mach_timebase_info; }

/** Ticks per second of the default clock: 1e9 (ns), or the mach timebase's. */
static double default_ticks_per_second(void) {
    GeckoMachTimebase tb = {0, 0};
    if (have_mach_clock() && mach_timebase_info(&tb) == 0 && tb.numer != 0 && tb.denom != 0)
        return 1e9 * (double)tb.denom / (double)tb.numer;
    return 1e9;
}

/** Validates a writer-segment name: '/' then 1..27 bytes, no other '/', no control chars. */
static bool valid_shm_name(const char* name, size_t len) {
    if (len < 2 || len > GECKO_SHM_WRITER_NAME_MAX || name[0] != '/') return false;
    for (size_t i = 1; i < len; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (ch == '/' || ch < 0x20 || ch == 0x7f) return false;
    }
    return true;
}

GECKO_EXPORT int GeckoSim_Configure(const GeckoSimConfig* config) {
    if (!config || config->struct_size != sizeof(GeckoSimConfig)) return -1;
    const char* nul = memchr(config->shm_name, '\0', sizeof config->shm_name);
    if (!nul) return -1;
    size_t len = (size_t)(nul - config->shm_name);
    if (len != 0 && !valid_shm_name(config->shm_name, len)) return -1;
    double tps = default_ticks_per_second();
    if (config->host_clock) {
        tps = config->host_ticks_per_second;
        if (!(tps > 0.0) || tps > 1e15) return -1; /* also rejects NaN */
    }
    pthread_mutex_lock(&gConfigMutex);
    if (gConfig.frozen) { /* must come before Initialize */
        pthread_mutex_unlock(&gConfigMutex);
        return -1;
    }
    if (len == 0)
        memcpy(gConfig.shm_name, GECKO_SHM_DEFAULT_NAME, sizeof GECKO_SHM_DEFAULT_NAME);
    else
        memcpy(gConfig.shm_name, config->shm_name, len + 1);
    gConfig.host_clock = config->host_clock;
    gConfig.host_clock_ctx = config->host_clock_ctx;
    gConfig.host_ticks_per_second = tps;
    gConfig.ignore_clock_requests = config->ignore_clock_requests != 0;
    gConfig.deny_shm_create = config->deny_shm_create != 0;
    pthread_mutex_unlock(&gConfigMutex);
    return 0;
}

void gecko_config_freeze(void) {
    pthread_mutex_lock(&gConfigMutex);
    if (!gConfig.frozen && !gConfig.host_clock && have_mach_clock()) {
        gConfig.mach_clock = true;
        gConfig.host_ticks_per_second = default_ticks_per_second();
    }
    gConfig.frozen = true;
    pthread_mutex_unlock(&gConfigMutex);
}

const char* gecko_configured_shm_name(void) { return gConfig.shm_name; }

bool gecko_configured_ignore_clock_requests(void) { return gConfig.ignore_clock_requests; }

int gecko_shm_open(const char* name, int oflag, mode_t mode) {
    if (gConfig.deny_shm_create && (oflag & O_CREAT)) {
        errno = EPERM;
        return -1;
    }
    return shm_open(name, oflag, mode);
}

uint64_t gecko_host_time_now(void) {
    if (gConfig.host_clock) return gConfig.host_clock(gConfig.host_clock_ctx);
    if (gConfig.mach_clock) return mach_absolute_time();
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* vDSO: no kernel entry */
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double gecko_host_ticks_per_second(void) { return gConfig.host_ticks_per_second; }

#endif
