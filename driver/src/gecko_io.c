/*
 * gecko_io.c — StartIO/StopIO, the zero-timestamp clock and the IO operations.
 *
 * IO thread functions (GetZeroTimeStamp, Will/Begin/Do/EndIOOperation) never
 * allocate, lock, block, log or make syscalls; the Linux default host clock is
 * clock_gettime(CLOCK_MONOTONIC) through the vDSO.
 */
#include "gecko_driver.h"

#include <math.h>
#include <string.h>
#include <syslog.h>

/** true when the call addresses our driver and our device. */
static inline bool is_our_device(const void* inDriver, AudioObjectID inDeviceObjectID) {
    return gecko_is_our_driver(inDriver) && inDeviceObjectID == GECKO_OBJECT_DEVICE;
}

/**
 * StartIO: counts clients. The first one (re)anchors the clock at the current
 * host time (sample time 0), maps the shm writer segment if Initialize could
 * not, publishes io_running = 1 (same generation: the ring goes on) and starts the reader
 * attach thread. Control path (may block).
 */
OSStatus gecko_StartIO(AudioServerPlugInDriverRef inDriver, AudioObjectID inDeviceObjectID,
                       UInt32 inClientID) {
    (void)inClientID;
    if (!is_our_device(inDriver, inDeviceObjectID)) return kAudioHardwareBadObjectError;
    GeckoDriver* d = &gGeckoDriver;
    OSStatus status = kAudioHardwareNoError;
    pthread_mutex_lock(&d->mutex);
    uint32_t count = __atomic_load_n(&d->io_client_count, __ATOMIC_RELAXED);
    if (!d->initialized) {
        status = kAudioHardwareNotRunningError; /* Initialize first */
    } else if (count == UINT32_MAX) {
        status = kAudioHardwareIllegalOperationError;
    } else {
        if (count == 0) {
            gecko_clock_reset(d, gecko_host_time_now());
            d->zts_published_count = 0; /* published just below */
            GeckoShmParams p;
            gecko_fill_shm_params(&p, 1);
            /* Retried here while it fails; gecko_shm_writer_open logs a failure
             * only when it differs from the last one (no log flood at StartIO). */
            if (d->shm.seg == NULL) (void)gecko_shm_writer_open(&d->shm, &p, gecko_host_time_now());
            /* The clock re-anchors (sample time 0 again) but the ring goes on: keep the
             * generation, so an attached engine stays attached and keeps flow control;
             * only the writer's sample-time tracking restarts. */
            gecko_shm_writer_io_restart(&d->shm);
            gecko_shm_writer_publish(&d->shm, &p, false);
            gecko_shm_writer_attach_start(&d->shm);
        }
        __atomic_store_n(&d->io_client_count, count + 1u, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&d->mutex);
    return status;
}

/**
 * StopIO: the last client stops the attach thread (unmapping the reader
 * segment) and publishes io_running = 0. Control path (may block).
 */
OSStatus gecko_StopIO(AudioServerPlugInDriverRef inDriver, AudioObjectID inDeviceObjectID,
                      UInt32 inClientID) {
    (void)inClientID;
    if (!is_our_device(inDriver, inDeviceObjectID)) return kAudioHardwareBadObjectError;
    GeckoDriver* d = &gGeckoDriver;
    OSStatus status = kAudioHardwareNoError;
    pthread_mutex_lock(&d->mutex);
    uint32_t count = __atomic_load_n(&d->io_client_count, __ATOMIC_RELAXED);
    if (count == 0) {
        status = kAudioHardwareNotRunningError;
    } else {
        __atomic_store_n(&d->io_client_count, count - 1u, __ATOMIC_RELEASE);
        if (count == 1) {
            gecko_shm_writer_attach_stop(&d->shm);
            GeckoShmParams p;
            gecko_fill_shm_params(&p, 0);
            gecko_shm_writer_publish(&d->shm, &p, false);
        }
    }
    pthread_mutex_unlock(&d->mutex);
    return status;
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
 * leaves the target for clock_steer in clock_request_bits. Target: the request
 * clamped to +-GECKO_SHM_MAX_CLOCK_ADJUST_PPM while the engine's reader is
 * attached to the current generation, else 0 (nominal); a non-finite request
 * leaves NaN, meaning "keep the applied value" (garbage is ignored).
 */
static void clock_request_sample(GeckoDriver* d) {
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
 * boundary of period d->zts_count), towards the target clock_request_sample
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
 * GetZeroTimeStamp (IO threads, possibly two at once): the latest zero
 * timestamp. Sample times are multiples of GECKO_ZTS_PERIOD_FRAMES (frames);
 * host times (host ticks) follow the (steered) clock, see clock_steer. The
 * thread that gets zts_busy advances the clock at most one period per call,
 * once the host clock has passed the next period's host time (as Apple's
 * NullAudio sample does), steers it at that boundary, publishes the stamp for
 * the other threads and to the shm state (via its seqlock); a thread that
 * does not get zts_busy returns the last published stamp, never waiting.
 * The seed changes only on a performed rate change.
 */
OSStatus gecko_GetZeroTimeStamp(AudioServerPlugInDriverRef inDriver,
                                AudioObjectID inDeviceObjectID, UInt32 inClientID,
                                Float64* outSampleTime, UInt64* outHostTime, UInt64* outSeed) {
    (void)inClientID;
    if (!is_our_device(inDriver, inDeviceObjectID)) return kAudioHardwareBadObjectError;
    if (!outSampleTime || !outHostTime || !outSeed) return kAudioHardwareIllegalOperationError;
    GeckoDriver* d = &gGeckoDriver;
    const uint64_t now = gecko_host_time_now();
    GeckoZtsStamp z;
    if (__atomic_exchange_n(&d->zts_busy, 1u, __ATOMIC_ACQUIRE) == 0u) {
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
    } else {
        z = gecko_zts_published(d);
    }
    *outSampleTime = (double)z.count * (double)GECKO_ZTS_PERIOD_FRAMES;
    *outHostTime = z.host_time;
    *outSeed = z.seed;
    return kAudioHardwareNoError;
}

/** WillDoIOOperation: only WriteMix ('rite'), performed in place. */
OSStatus gecko_WillDoIOOperation(AudioServerPlugInDriverRef inDriver,
                                 AudioObjectID inDeviceObjectID, UInt32 inClientID,
                                 UInt32 inOperationID, Boolean* outWillDo,
                                 Boolean* outWillDoInPlace) {
    (void)inClientID;
    if (!is_our_device(inDriver, inDeviceObjectID)) return kAudioHardwareBadObjectError;
    if (!outWillDo || !outWillDoInPlace) return kAudioHardwareIllegalOperationError;
    *outWillDo = (inOperationID == kAudioServerPlugInIOOperationWriteMix) ? 1 : 0;
    *outWillDoInPlace = 1;
    return kAudioHardwareNoError;
}

/** BeginIOOperation: nothing to prepare. */
OSStatus gecko_BeginIOOperation(AudioServerPlugInDriverRef inDriver,
                                AudioObjectID inDeviceObjectID, UInt32 inClientID,
                                UInt32 inOperationID, UInt32 inIOBufferFrameSize,
                                const AudioServerPlugInIOCycleInfo* inIOCycleInfo) {
    (void)inClientID;
    (void)inOperationID;
    (void)inIOBufferFrameSize;
    (void)inIOCycleInfo;
    if (!is_our_device(inDriver, inDeviceObjectID)) return kAudioHardwareBadObjectError;
    return kAudioHardwareNoError;
}

/**
 * DoIOOperation (IO thread). WriteMix: ioMainBuffer holds inIOBufferFrameSize
 * frames of interleaved float32 (frames x GECKO_CHANNELS) for device sample
 * time inIOCycleInfo->mOutputTime.mSampleTime; they go into the shm ring.
 * Then the engine's clock request is read for the clock (clock_request_sample).
 * WriteMix comes from one IO thread: the ring writer's state is that thread's.
 * Other operations are not performed (WillDoIOOperation declined them).
 * Returns kAudioHardwareIllegalOperationError only for structurally invalid
 * arguments (NULL buffer or cycle info, more frames than the ring holds).
 */
OSStatus gecko_DoIOOperation(AudioServerPlugInDriverRef inDriver, AudioObjectID inDeviceObjectID,
                             AudioObjectID inStreamObjectID, UInt32 inClientID,
                             UInt32 inOperationID, UInt32 inIOBufferFrameSize,
                             const AudioServerPlugInIOCycleInfo* inIOCycleInfo,
                             void* ioMainBuffer, void* ioSecondaryBuffer) {
    (void)inClientID;
    (void)ioSecondaryBuffer;
    if (!is_our_device(inDriver, inDeviceObjectID)) return kAudioHardwareBadObjectError;
    if (inStreamObjectID != GECKO_OBJECT_STREAM_OUTPUT) return kAudioHardwareBadObjectError;
    if (inOperationID != kAudioServerPlugInIOOperationWriteMix) return kAudioHardwareNoError;
    if (!ioMainBuffer || !inIOCycleInfo) return kAudioHardwareIllegalOperationError;
    if (inIOBufferFrameSize == 0) return kAudioHardwareNoError;
    GeckoDriver* d = &gGeckoDriver;
    if (inIOBufferFrameSize > d->shm.capacity_frames) return kAudioHardwareIllegalOperationError;
    gecko_shm_writer_write_mix(&d->shm, (const float*)ioMainBuffer, inIOBufferFrameSize,
                               inIOCycleInfo->mOutputTime.mSampleTime,
                               inIOCycleInfo->mCurrentTime.mHostTime);
    clock_request_sample(d);
    return kAudioHardwareNoError;
}

/** EndIOOperation: nothing to finish. */
OSStatus gecko_EndIOOperation(AudioServerPlugInDriverRef inDriver, AudioObjectID inDeviceObjectID,
                              UInt32 inClientID, UInt32 inOperationID,
                              UInt32 inIOBufferFrameSize,
                              const AudioServerPlugInIOCycleInfo* inIOCycleInfo) {
    (void)inClientID;
    (void)inOperationID;
    (void)inIOBufferFrameSize;
    (void)inIOCycleInfo;
    if (!is_our_device(inDriver, inDeviceObjectID)) return kAudioHardwareBadObjectError;
    return kAudioHardwareNoError;
}
