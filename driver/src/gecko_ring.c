/*
 * gecko_ring.c — the driver's side of the shared-memory ring (the writer itself
 * is gecko_shm_writer.c): what the driver publishes in the writer segment, and
 * the hooks the writer's attach thread calls (re-opening a segment that
 * appeared, the engine's latency).
 */
#include "gecko_driver.h"

#include <math.h>
#include <string.h>
#include <syslog.h>

void gecko_fill_shm_params(GeckoShmParams* out, uint32_t io_running) {
    GeckoDriver* d = &gGeckoDriver;
    /* The published stamp, not the clock's private state: safe also from a thread
     * other than the clock's owner while IO runs (the attach thread's re-open). */
    const GeckoZtsStamp z = gecko_zts_published(d);
    memset(out, 0, sizeof *out);
    out->sample_rate = d->sample_rate;
    out->zts_sample_time = (double)(z.count * GECKO_ZTS_PERIOD_FRAMES);
    out->zts_host_time = z.host_time;
    out->zts_seed = z.seed;
    out->host_ticks_per_frame = d->host_ticks_per_frame;
    out->host_ticks_per_second = d->host_ticks_per_second;
    out->volume_scalar = gecko_volume_scalar_to_gain(d->volume_scalar);
    out->mute = d->mute;
    out->io_running = io_running;
    out->zts_period_frames = GECKO_ZTS_PERIOD_FRAMES;
    out->clock_adjust_ppm = gecko_clock_adjust_ppm(d);
}

/** The writer's re-open hook (GeckoShmWriter.reopen): called by the shm attach
 *  thread while IO runs and no writer segment is mapped. Never blocks: if the
 *  driver's lock is busy (a control call, or StopIO joining that very thread)
 *  it gives up until the next try. */
static void reopen_writer_segment(void* ctx) {
    GeckoDriver* d = ctx;
    if (pthread_mutex_trylock(&d->mutex) != 0) return;
    if (d->shm.seg == NULL && __atomic_load_n(&d->io_client_count, __ATOMIC_RELAXED) > 0) {
        GeckoShmParams p;
        gecko_fill_shm_params(&p, 1);
        if (gecko_shm_writer_open(&d->shm, &p, gecko_host_time_now()) == 0)
            gecko_log(LOG_NOTICE, "shared memory %s appeared while IO runs: attached", d->shm.name);
    }
    pthread_mutex_unlock(&d->mutex);
}

/** The writer's latency hook (GeckoShmWriter.latency), attach thread: the attached
 *  engine reports `frames` of latency after the ring. When that differs from what
 *  the device reports by more than GECKO_LATENCY_CHANGE_MIN_SECONDS, ask the host
 *  to change it (AudioServerPlugIn.h: latency is changed through
 *  RequestDeviceConfigurationChange; PerformDeviceConfigurationChange applies it).
 *  Never blocks: the host pointer is read under a try-lock and called after it is
 *  released (StopIO holds the lock while it joins this thread). */
static bool engine_latency_changed(void* ctx, uint32_t frames) {
    GeckoDriver* d = ctx;
    if (pthread_mutex_trylock(&d->mutex) != 0) return false;
    const double current = (double)__atomic_load_n(&d->engine_latency_frames, __ATOMIC_RELAXED);
    const double threshold = d->sample_rate * GECKO_LATENCY_CHANGE_MIN_SECONDS;
    AudioServerPlugInHostRef h = d->host;
    pthread_mutex_unlock(&d->mutex);
    if (fabs((double)frames - current) <= threshold) return true;
    if (!h || !h->RequestDeviceConfigurationChange) return true;
    OSStatus st = h->RequestDeviceConfigurationChange(h, GECKO_OBJECT_DEVICE, GECKO_CONFIG_ACTION_LATENCY + frames, NULL);
    gecko_log(st == kAudioHardwareNoError ? LOG_INFO : LOG_WARNING,
              "the engine holds %u frames: asked the host to report that latency (status %d)", frames, (int)st);
    return true;
}

/** The writer's tick hook (GeckoShmWriter.tick), attach thread, about every 500 ms:
 *  when the loopback's latency (gecko_loopback_latency_frames: the tap switched, the
 *  post tap re-locked at another distance, the engine's latency changed) differs
 *  from what the device reports by more than GECKO_LATENCY_CHANGE_MIN_SECONDS, ask
 *  the host to change it (latency changes go through RequestDeviceConfigurationChange,
 *  AudioServerPlugIn.h), once per value. Never blocks (as engine_latency_changed). */
static void input_latency_tick(void* ctx) {
    GeckoDriver* d = ctx;
    const uint32_t want = gecko_loopback_latency_frames(d);
    const uint32_t now = __atomic_load_n(&d->input_latency_frames, __ATOMIC_RELAXED);
    if (pthread_mutex_trylock(&d->mutex) != 0) return;
    const double threshold = d->sample_rate * GECKO_LATENCY_CHANGE_MIN_SECONDS;
    AudioServerPlugInHostRef h = d->host;
    pthread_mutex_unlock(&d->mutex);
    if (fabs((double)want - (double)now) <= threshold) {
        d->input_latency_requested = UINT32_MAX; /* in effect: nothing pending */
        return;
    }
    if (want == d->input_latency_requested) return; /* asked already; the host performs it */
    if (!h || !h->RequestDeviceConfigurationChange) return;
    OSStatus st = h->RequestDeviceConfigurationChange(h, GECKO_OBJECT_DEVICE, GECKO_CONFIG_ACTION_INPUT_LATENCY + want,
                                                      NULL);
    d->input_latency_requested = want;
    gecko_log(st == kAudioHardwareNoError ? LOG_INFO : LOG_WARNING,
              "the loopback's latency is %u frames: asked the host to report it (status %d)", want, (int)st);
}

void gecko_ring_init(GeckoDriver* d) {
    gecko_shm_writer_init(&d->shm, gecko_configured_shm_name(), GECKO_CHANNELS,
                          GECKO_SHM_DEFAULT_CAPACITY_FRAMES);
    d->shm.reopen = reopen_writer_segment;
    d->shm.latency = engine_latency_changed;
    d->shm.tick = input_latency_tick;
    d->shm.reopen_ctx = d;
}
