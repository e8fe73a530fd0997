/*
 * gecko_io.c — StartIO/StopIO, GetZeroTimeStamp and the IO operations. The
 * device clock behind GetZeroTimeStamp is gecko_zts.c.
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
    const GeckoZtsStamp z = gecko_zts_tick(&gGeckoDriver, gecko_host_time_now());
    *outSampleTime = (double)z.count * (double)GECKO_ZTS_PERIOD_FRAMES;
    *outHostTime = z.host_time;
    *outSeed = z.seed;
    return kAudioHardwareNoError;
}

/** WillDoIOOperation: WriteMix ('rite') and ReadInput ('read', the loopback), in place. */
OSStatus gecko_WillDoIOOperation(AudioServerPlugInDriverRef inDriver,
                                 AudioObjectID inDeviceObjectID, UInt32 inClientID,
                                 UInt32 inOperationID, Boolean* outWillDo,
                                 Boolean* outWillDoInPlace) {
    (void)inClientID;
    if (!is_our_device(inDriver, inDeviceObjectID)) return kAudioHardwareBadObjectError;
    if (!outWillDo || !outWillDoInPlace) return kAudioHardwareIllegalOperationError;
    *outWillDo = (inOperationID == kAudioServerPlugInIOOperationWriteMix ||
                  inOperationID == kAudioServerPlugInIOOperationReadInput)
                     ? 1
                     : 0;
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
 * DoIOOperation (IO thread).
 * WriteMix (output stream): ioMainBuffer holds inIOBufferFrameSize frames of
 * interleaved float32 (frames x GECKO_CHANNELS) for device sample time
 * inIOCycleInfo->mOutputTime.mSampleTime; they go into the shm ring (where the
 * pre tap reads them back by sample time). Then the engine's clock request is
 * read for the clock (gecko_clock_request_sample).
 * ReadInput (input stream): fills ioMainBuffer with inIOBufferFrameSize frames
 * of the loopback for sample time inIOCycleInfo->mInputTime.mSampleTime
 * (gecko_loopback_read).
 * Both come from the device's one IO thread: the ring writer's and the
 * loopback's IO state are that thread's. Other operations are not performed
 * (WillDoIOOperation declined them). An operation on the other direction's
 * stream is kAudioHardwareBadObjectError. Returns
 * kAudioHardwareIllegalOperationError only for structurally invalid arguments
 * (NULL buffer or cycle info, more frames than the ring holds).
 */
OSStatus gecko_DoIOOperation(AudioServerPlugInDriverRef inDriver, AudioObjectID inDeviceObjectID,
                             AudioObjectID inStreamObjectID, UInt32 inClientID,
                             UInt32 inOperationID, UInt32 inIOBufferFrameSize,
                             const AudioServerPlugInIOCycleInfo* inIOCycleInfo,
                             void* ioMainBuffer, void* ioSecondaryBuffer) {
    (void)inClientID;
    (void)ioSecondaryBuffer;
    if (!is_our_device(inDriver, inDeviceObjectID)) return kAudioHardwareBadObjectError;
    if (inStreamObjectID != GECKO_OBJECT_STREAM_OUTPUT && inStreamObjectID != GECKO_OBJECT_STREAM_INPUT)
        return kAudioHardwareBadObjectError;
    const bool write = inOperationID == kAudioServerPlugInIOOperationWriteMix;
    const bool read = inOperationID == kAudioServerPlugInIOOperationReadInput;
    if (!write && !read) return kAudioHardwareNoError;
    if (inStreamObjectID != (write ? GECKO_OBJECT_STREAM_OUTPUT : GECKO_OBJECT_STREAM_INPUT))
        return kAudioHardwareBadObjectError;
    if (!ioMainBuffer || !inIOCycleInfo) return kAudioHardwareIllegalOperationError;
    if (inIOBufferFrameSize == 0) return kAudioHardwareNoError;
    GeckoDriver* d = &gGeckoDriver;
    if (inIOBufferFrameSize > d->shm.capacity_frames) return kAudioHardwareIllegalOperationError;
    if (read) {
        gecko_loopback_read(d, (float*)ioMainBuffer, inIOBufferFrameSize, inIOCycleInfo->mInputTime.mSampleTime);
        return kAudioHardwareNoError;
    }
    gecko_shm_writer_write_mix(&d->shm, (const float*)ioMainBuffer, inIOBufferFrameSize,
                               inIOCycleInfo->mOutputTime.mSampleTime,
                               inIOCycleInfo->mCurrentTime.mHostTime);
    gecko_clock_request_sample(d);
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
