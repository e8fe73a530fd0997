/*
 * gecko_sim.h — hooks the simulated coreaudiod host uses on non-Apple builds.
 *
 * On macOS the driver takes its shm name and its host clock from the system
 * (GECKO_SHM_DEFAULT_NAME, mach_absolute_time). The Linux build of the same
 * driver additionally exports GeckoSim_Configure so that the simulated host
 * (crates/gecko-simhost) can:
 *   - give each driver instance its own shm name (parallel tests), and
 *   - supply the host clock, so "fast" runs use simulated time that stays
 *     consistent with the sample time (and later, skewed clocks).
 * It is never compiled into the macOS bundle.
 */
#ifndef GECKO_SIM_H
#define GECKO_SIM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Returns the current host time in host ticks. Called on the IO thread: must not block. */
typedef uint64_t (*GeckoSimHostClockFn)(void* ctx);

/** Configuration passed to GeckoSim_Configure. */
typedef struct GeckoSimConfig {
    /** sizeof(GeckoSimConfig); the driver rejects other values. */
    uint32_t struct_size;
    /** NUL-terminated writer-segment name, e.g. "/GeckoAudioShm"; at most
     *  GECKO_SHM_WRITER_NAME_MAX bytes, starts with '/', no other '/'.
     *  Empty string = GECKO_SHM_DEFAULT_NAME. */
    char shm_name[32];
    /** Host clock; NULL = CLOCK_MONOTONIC in nanoseconds. */
    GeckoSimHostClockFn host_clock;
    void* host_clock_ctx;
    /** Ticks per second of host_clock (ignored when host_clock is NULL: 1e9). */
    double host_ticks_per_second;
    /** Non-zero: the driver never applies the engine's clock requests and its
     *  clock stays at nominal — a driver that cannot steer (an older build, or
     *  one that cannot see the engine's reader segment), so the engine's
     *  fallback to adaptive resampling can be tested. 0 = steering works. */
    uint32_t ignore_clock_requests;
    /** Non-zero: play the plug-in sandbox that refuses to create POSIX shared
     *  memory — every shm_open with O_CREAT fails with EPERM, as XNU's MAC
     *  check (mac_posixshm_check_create) refuses it whenever O_CREAT is given —
     *  so the driver's fallback (open a pre-created segment) and its silent,
     *  log-once behaviour can be tested. 0 = creation allowed. */
    uint32_t deny_shm_create;
} GeckoSimConfig;

/** Name of the exported symbol, for dlsym. */
#define GECKO_SIM_CONFIGURE_SYMBOL "GeckoSim_Configure"

/**
 * Sets the configuration of this driver instance. Call before the host calls
 * Initialize. Returns 0 on success, -1 if the config is invalid (bad size,
 * bad name) — the previous configuration is then kept.
 */
int GeckoSim_Configure(const GeckoSimConfig* config);

#ifdef __cplusplus
}
#endif

#endif /* GECKO_SIM_H */
