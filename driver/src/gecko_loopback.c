/*
 * gecko_loopback.c — Gecko Sink's input stream: the loopback of what Gecko
 * plays, so recording apps get it on the device's own clock while the user
 * listens (docs/ARCHITECTURE.md, "Loopback").
 *
 * Two taps, chosen by the engine (GeckoShmReaderControl.loopback_tap):
 *   pre:  what apps played, at unity gain, before device volume and before the
 *         engine. WriteMix keeps a private copy of the mix indexed by sample
 *         time; ReadInput at input sample time t returns the frames WriteMix
 *         got for output sample time t (zero latency), silence for times no
 *         WriteMix covered.
 *   post: what the engine sends to the speakers, from the engine's loopback
 *         segment (gecko_shm_writer_read_post): a fixed distance behind its
 *         newest frame, validated and repaired sample by sample.
 *   off:  silence.
 * A change of tap, and every re-lock of the post tap, fades the new signal in
 * over GECKO_LOOPBACK_FADE_FRAMES; missing frames are silence (counted in
 * GeckoShmLoopbackCounters.silent_frames).
 *
 * ReadInput and WriteMix run on the device's one IO thread: nothing here
 * blocks, allocates, locks, logs or makes a syscall on that path.
 */
#include "gecko_driver.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

void gecko_loopback_init(GeckoDriver* d) {
    GeckoLoopback* lb = &d->loopback;
    if (!lb->pre) {
        lb->pre = calloc((size_t)GECKO_LOOPBACK_PRE_FRAMES * GECKO_CHANNELS, sizeof(float));
        if (!lb->pre) gecko_log(LOG_ERR, "no memory for the loopback's pre tap: it stays silent");
    }
    lb->pre_lo = lb->pre_hi = 0;
    lb->fade_left = 0;
    __atomic_store_n(&lb->tap, GECKO_LOOPBACK_TAP_PRE, __ATOMIC_RELAXED);
}

/** A sample time as whole frames; false when it is not usable (NaN, negative, huge). */
static inline bool whole_time(double t, uint64_t* out) {
    if (!(isfinite(t) && t >= 0.0 && t < 9.0e15)) return false;
    *out = (uint64_t)t;
    return true;
}

void gecko_loopback_capture(GeckoDriver* d, const float* src, uint32_t n, double sample_time) {
    GeckoLoopback* lb = &d->loopback;
    if (!lb->pre || __atomic_load_n(&lb->tap, __ATOMIC_RELAXED) != GECKO_LOOPBACK_TAP_PRE) return;
    uint64_t s;
    if (!whole_time(sample_time, &s) || n > GECKO_LOOPBACK_PRE_FRAMES) {
        lb->pre_lo = lb->pre_hi = 0;
        return;
    }
    /* A discontinuity (a gap, an overlap, IO restarted at sample time 0): the copy
     * starts again at this cycle. */
    if (s != lb->pre_hi || lb->pre_hi == lb->pre_lo) lb->pre_lo = s;
    const uint64_t mask = GECKO_LOOPBACK_PRE_FRAMES - 1u;
    const uint64_t idx = s & mask;
    const uint64_t first = (GECKO_LOOPBACK_PRE_FRAMES - idx) < n ? (GECKO_LOOPBACK_PRE_FRAMES - idx) : n;
    const size_t fb = GECKO_CHANNELS * sizeof(float);
    memcpy(lb->pre + idx * GECKO_CHANNELS, src, (size_t)first * fb);
    if (n > first) memcpy(lb->pre, src + first * GECKO_CHANNELS, (size_t)(n - first) * fb);
    lb->pre_hi = s + n;
    if (lb->pre_hi - lb->pre_lo > GECKO_LOOPBACK_PRE_FRAMES) lb->pre_lo = lb->pre_hi - GECKO_LOOPBACK_PRE_FRAMES;
}

/** Pre tap: frames for input sample times [t, t + n) from the copy; silence where it
 *  has none. Returns the frames of silence. */
static uint32_t read_pre(GeckoLoopback* lb, float* dst, uint32_t n, double sample_time) {
    const size_t fb = GECKO_CHANNELS * sizeof(float);
    uint64_t t;
    if (!lb->pre || !whole_time(sample_time, &t)) {
        memset(dst, 0, (size_t)n * fb);
        return n;
    }
    const uint64_t lo = t > lb->pre_lo ? t : lb->pre_lo;
    const uint64_t hi = (t + n) < lb->pre_hi ? (t + n) : lb->pre_hi;
    if (lo >= hi) {
        memset(dst, 0, (size_t)n * fb);
        return n;
    }
    const uint64_t mask = GECKO_LOOPBACK_PRE_FRAMES - 1u;
    if (lo > t) memset(dst, 0, (size_t)(lo - t) * fb);
    for (uint64_t at = lo; at < hi;) {
        const uint64_t idx = at & mask;
        const uint64_t run = (GECKO_LOOPBACK_PRE_FRAMES - idx) < (hi - at) ? (GECKO_LOOPBACK_PRE_FRAMES - idx) : (hi - at);
        memcpy(dst + (size_t)(at - t) * GECKO_CHANNELS, lb->pre + idx * GECKO_CHANNELS, (size_t)run * fb);
        at += run;
    }
    if (hi < t + n) memset(dst + (size_t)(hi - t) * GECKO_CHANNELS, 0, (size_t)(t + n - hi) * fb);
    return (uint32_t)(n - (hi - lo));
}

/** Applies what is left of the fade-in to `dst` (n frames): a linear ramp from the
 *  frame after the switch, continuing across cycles. */
static void fade_in(GeckoLoopback* lb, float* dst, uint32_t n) {
    const uint32_t done = GECKO_LOOPBACK_FADE_FRAMES - lb->fade_left;
    const uint32_t k = lb->fade_left < n ? lb->fade_left : n;
    for (uint32_t i = 0; i < k; i++) {
        const float g = (float)(done + i) / (float)GECKO_LOOPBACK_FADE_FRAMES;
        for (uint32_t c = 0; c < GECKO_CHANNELS; c++) dst[(size_t)i * GECKO_CHANNELS + c] *= g;
    }
    lb->fade_left -= k;
}

void gecko_loopback_read(GeckoDriver* d, float* dst, uint32_t n, double sample_time) {
    GeckoLoopback* lb = &d->loopback;
    uint32_t tap = __atomic_load_n(&lb->tap, __ATOMIC_RELAXED);
    const uint32_t want = gecko_shm_writer_tap_request(&d->shm);
    if (want != GECKO_LOOPBACK_TAP_UNSET && want != tap) {
        tap = want;
        __atomic_store_n(&lb->tap, tap, __ATOMIC_RELAXED);
        lb->fade_left = GECKO_LOOPBACK_FADE_FRAMES;
        lb->pre_lo = lb->pre_hi = 0; /* the copy restarts at the next WriteMix */
        gecko_shm_writer_post_unsync(&d->shm);
    }
    uint32_t silent = n;
    switch (tap) {
    case GECKO_LOOPBACK_TAP_PRE:
        silent = read_pre(lb, dst, n, sample_time);
        break;
    case GECKO_LOOPBACK_TAP_POST: {
        /* The nominal rate changes only while IO is stopped (PerformDeviceConfigurationChange). */
        const GeckoTapRead r = gecko_shm_writer_read_post(&d->shm, dst, n, sample_time, d->sample_rate);
        if (r == GECKO_TAP_RESYNCED) lb->fade_left = GECKO_LOOPBACK_FADE_FRAMES;
        silent = r == GECKO_TAP_SILENT ? n : 0;
        break;
    }
    default:
        memset(dst, 0, (size_t)n * GECKO_CHANNELS * sizeof(float));
        break;
    }
    /* The fade waits for the first frames with sound to fade. */
    if (lb->fade_left && silent < n) fade_in(lb, dst, n);
    gecko_shm_writer_loopback_done(&d->shm, tap, n, silent);
}

uint32_t gecko_loopback_latency_frames(const GeckoDriver* d) {
    if (__atomic_load_n(&d->loopback.tap, __ATOMIC_RELAXED) != GECKO_LOOPBACK_TAP_POST) return 0;
    const GeckoShmWriterSegment* seg = __atomic_load_n(&d->shm.seg, __ATOMIC_ACQUIRE);
    uint32_t behind = seg ? __atomic_load_n(&seg->loopback.post_delay_frames, __ATOMIC_RELAXED) : 0;
    if (behind == 0) behind = 2u * 512u + GECKO_TAP_MARGIN_FRAMES; /* not locked yet: the usual */
    return __atomic_load_n(&d->engine_latency_frames, __ATOMIC_RELAXED) + behind;
}
