/*
 * gecko_loopback.c — Gecko Sink's input stream: the loopback of what Gecko
 * plays, so recording apps get it on the device's own clock while the user
 * listens (docs/ARCHITECTURE.md, "Loopback").
 *
 * Two taps, chosen by the engine (GeckoShmReaderControl.loopback_tap):
 *   pre:  what apps played, at unity gain, before device volume and before the
 *         engine: the ring itself holds exactly that. ReadInput at input
 *         sample time t reads back the frames WriteMix wrote for output sample
 *         time t (zero latency; gecko_shm_writer_read_pre), silence for times
 *         no WriteMix covered. No copy is kept: playback alone costs nothing.
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

#include <string.h>

void gecko_loopback_init(GeckoDriver* d) {
    GeckoLoopback* lb = &d->loopback;
    lb->fade_left = 0;
    __atomic_store_n(&lb->tap, GECKO_LOOPBACK_TAP_PRE, __ATOMIC_RELAXED);
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
        gecko_shm_writer_post_unsync(&d->shm);
    }
    uint32_t silent = n;
    switch (tap) {
    case GECKO_LOOPBACK_TAP_PRE:
        silent = gecko_shm_writer_read_pre(&d->shm, dst, n, sample_time);
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
    const uint32_t behind = seg ? __atomic_load_n(&seg->loopback.post_delay_frames, __ATOMIC_RELAXED) : 0;
    /* Not locked yet (no engine feeds it): no distance to report; keep what is reported. */
    if (behind == 0) return __atomic_load_n(&d->input_latency_frames, __ATOMIC_RELAXED);
    return __atomic_load_n(&d->engine_latency_frames, __ATOMIC_RELAXED) + behind;
}
