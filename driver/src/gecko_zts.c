/*
 * gecko_zts.c — the device clock: zero timestamps (sample time, host time,
 * seed) on a grid of GECKO_ZTS_PERIOD_FRAMES frames, anchored at StartIO,
 * steered by the engine's clock request within
 * +-GECKO_SHM_MAX_CLOCK_ADJUST_PPM, and published for every thread that asks.
 *
 * IO-thread code (gecko_zts_tick, gecko_clock_request_sample,
 * gecko_zts_published) never allocates, locks, blocks, logs or makes syscalls.
 */
#include "gecko_driver.h"

#include <math.h>
#include <string.h>

/* ---- the clock's grid -------------------------------------------------------------- */

uint64_t gecko_zts_host_time(const GeckoDriver* d, uint64_t k) {
    const uint64_t periods = k >= d->zts_anchor_count ? k - d->zts_anchor_count : 0u;
    return d->zts_anchor_host_time +
           (uint64_t)((double)periods * (double)GECKO_ZTS_PERIOD_FRAMES * d->zts_ticks_per_frame);
}

void gecko_clock_reset(GeckoDriver* d, uint64_t now) {
    d->zts_count = 0;
    d->zts_anchor_count = 0;
    d->zts_anchor_host_time = now;
    /* The applied steering survives a StartIO re-anchor (the engine is still
     * following the same generation); it restarts at nominal on a rate change. */
    d->zts_ticks_per_frame = d->host_ticks_per_frame / (1.0 + gecko_clock_adjust_ppm(d) * 1e-6);
    gecko_zts_publish(d);
}

/* ---- zero timestamps from several IO threads -----------------------------------
 *
 * The HAL may call GetZeroTimeStamp from two threads at once: a device used
 * directly and inside an aggregate device has two IO threads. Apple's
 * reference drivers (NullAudio, BlackHole) take a mutex there; the IO path
 * here takes no lock. Instead:
 *
 *  - zts_busy is a try-flag (atomic exchange, acquire; released with a release
 *    store). The thread that gets it owns the clock's private state for the
 *    call: it advances the clock (at most one period), steers it, publishes the
 *    new stamp and returns it. A thread that does not get it never waits: it
 *    returns the last published stamp.
 *  - The published stamp is double-buffered behind a sequence number
 *    (zts_pub_seq, zts_pub[2]). Publication k is written into zts_pub[k & 1]
 *    between seq = 2k-1 (release store, then a release fence) and seq = 2k
 *    (release store). A reader takes k = seq / 2 (acquire load: the last
 *    complete publication), reads zts_pub[k & 1], issues an acquire fence and
 *    re-reads seq: the triple is consistent unless publication k + 2 (the next
 *    one to reuse that slot) has begun, i.e. unless seq > 2k + 2, in which case
 *    it reads again. The writer never writes the slot a reader is directed to,
 *    so a reader never waits for a writer; it retries only if the writer
 *    finished a whole publication and began another while it read (one period
 *    is 16384 frames, a third of a second at 48 kHz).
 *  - The engine's clock request lives in the reader segment, whose mapping
 *    belongs to the thread that does WriteMix (gecko_shm_writer.h: the IO
 *    thread). That thread reads the request each cycle and leaves the clamped
 *    target in clock_request_bits (a relaxed 64-bit atomic); the clock's owner
 *    steers towards it at a period boundary. So GetZeroTimeStamp on another
 *    thread never touches the reader mapping.
 */

void gecko_zts_publish(GeckoDriver* d) {
    const uint64_t k = __atomic_load_n(&d->zts_pub_seq, __ATOMIC_RELAXED) / 2u + 1u;
    GeckoZtsStamp* slot = &d->zts_pub[k & 1u];
    __atomic_store_n(&d->zts_pub_seq, 2u * k - 1u, __ATOMIC_RELEASE);
    __atomic_thread_fence(__ATOMIC_RELEASE); /* the odd seq before the slot's stores */
    __atomic_store_n(&slot->count, d->zts_count, __ATOMIC_RELAXED);
    __atomic_store_n(&slot->host_time, gecko_zts_host_time(d, d->zts_count), __ATOMIC_RELAXED);
    __atomic_store_n(&slot->seed, d->zts_seed, __ATOMIC_RELAXED);
    __atomic_store_n(&d->zts_pub_seq, 2u * k, __ATOMIC_RELEASE);
}

GeckoZtsStamp gecko_zts_published(const GeckoDriver* d) {
    for (;;) {
        const uint64_t k = __atomic_load_n(&d->zts_pub_seq, __ATOMIC_ACQUIRE) / 2u;
        const GeckoZtsStamp* slot = &d->zts_pub[k & 1u];
        GeckoZtsStamp z;
        z.count = __atomic_load_n(&slot->count, __ATOMIC_RELAXED);
        z.host_time = __atomic_load_n(&slot->host_time, __ATOMIC_RELAXED);
        z.seed = __atomic_load_n(&slot->seed, __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_ACQUIRE); /* the slot's loads before the re-check */
        if (__atomic_load_n(&d->zts_pub_seq, __ATOMIC_RELAXED) <= 2u * k + 2u) return z;
    }
}

/** Bits of a double (the mailbox holds a double in a 64-bit atomic). */
static inline uint64_t f64_bits(double v) {
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

/**
 * WriteMix thread, once per cycle: reads the engine's clock request (ppm) and
 * leaves the target for clock_steer (gecko_zts_tick) in clock_request_bits. Target: the request
 * clamped to +-GECKO_SHM_MAX_CLOCK_ADJUST_PPM while the engine's reader is
 * attached to the current generation, else 0 (nominal); a non-finite request
 * leaves NaN, meaning "keep the applied value" (garbage is ignored).
 */
void gecko_clock_request_sample(GeckoDriver* d) {
    double target = 0.0;
    double req;
    if (!gecko_configured_ignore_clock_requests() && gecko_shm_writer_clock_request(&d->shm, &req)) {
        if (!isfinite(req)) {
            target = NAN;
        } else {
            target = req;
            if (target > GECKO_SHM_MAX_CLOCK_ADJUST_PPM) target = GECKO_SHM_MAX_CLOCK_ADJUST_PPM;
            if (target < -GECKO_SHM_MAX_CLOCK_ADJUST_PPM) target = -GECKO_SHM_MAX_CLOCK_ADJUST_PPM;
        }
    }
    __atomic_store_n(&d->clock_request_bits, f64_bits(target), __ATOMIC_RELAXED);
}

/**
 * Clock steering (the clock's owner, once per zero-timestamp period, at the
 * boundary of period d->zts_count), towards the target gecko_clock_request_sample
 * left (ppm; NaN = keep the applied value). The target is approached by at
 * most GECKO_SHM_MAX_CLOCK_SLEW_PPM per period. A new rate re-anchors the
 * clock at the current period boundary (its host time is kept), so
 * timestamps stay continuous and monotonic; ticks per frame = nominal /
 * (1 + ppm * 1e-6) (+ppm = faster: more frames per host second), always > 0.
 */
static void clock_steer(GeckoDriver* d) {
    const uint64_t bits = __atomic_load_n(&d->clock_request_bits, __ATOMIC_RELAXED);
    double target;
    memcpy(&target, &bits, sizeof target);
    if (!isfinite(target)) return; /* garbage from the engine: ignored */
    const double cur = gecko_clock_adjust_ppm(d);
    double step = target - cur;
    if (step > GECKO_SHM_MAX_CLOCK_SLEW_PPM) step = GECKO_SHM_MAX_CLOCK_SLEW_PPM;
    if (step < -GECKO_SHM_MAX_CLOCK_SLEW_PPM) step = -GECKO_SHM_MAX_CLOCK_SLEW_PPM;
    const double next = cur + step;
    if (next == cur) return;
    d->zts_anchor_host_time = gecko_zts_host_time(d, d->zts_count);
    d->zts_anchor_count = d->zts_count;
    gecko_clock_adjust_ppm_set(d, next);
    d->zts_ticks_per_frame = d->host_ticks_per_frame / (1.0 + next * 1e-6);
}

/**
 * The clock core of GetZeroTimeStamp (IO threads, possibly two at once; see
 * the comment at the top): the thread that gets zts_busy advances the clock at
 * most one period, once host time `now` (host ticks) has passed the next
 * period's host time (as Apple's NullAudio sample does), steers it at that
 * boundary, publishes the stamp for the other threads and to the shm state
 * (via its seqlock); a thread that does not get zts_busy gets the last
 * published stamp, never waiting. No lock, allocation or syscall.
 */
GeckoZtsStamp gecko_zts_tick(GeckoDriver* d, uint64_t now) {
    GeckoZtsStamp z;
    if (__atomic_exchange_n(&d->zts_busy, 1u, __ATOMIC_ACQUIRE) != 0u) return gecko_zts_published(d);
    if (gecko_zts_host_time(d, d->zts_count + 1u) <= now) {
        d->zts_count++;
        clock_steer(d);
        gecko_zts_publish(d);
    }
    z.count = d->zts_count;
    z.host_time = gecko_zts_host_time(d, d->zts_count);
    z.seed = d->zts_seed;
    if (d->zts_count != d->zts_published_count &&
        gecko_shm_writer_try_publish_zts(&d->shm, (double)z.count * (double)GECKO_ZTS_PERIOD_FRAMES,
                                         z.host_time, z.seed, gecko_clock_adjust_ppm(d)))
        d->zts_published_count = d->zts_count;
    __atomic_store_n(&d->zts_busy, 0u, __ATOMIC_RELEASE);
    return z;
}
