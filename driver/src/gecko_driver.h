/*
 * gecko_driver.h — internal declarations shared by the driver's source files:
 * object IDs, identity strings, the device's fixed parameters, the driver's
 * global state, and the entry points each file implements.
 */
#ifndef GECKO_DRIVER_H
#define GECKO_DRIVER_H

#include "gecko_platform.h"
#include "gecko_shm_writer.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* ---- build-time parameters ---------------------------------------------- */

/** Channels per frame of the output stream (interleaved float32). */
#ifndef GECKO_CHANNELS
#define GECKO_CHANNELS 2
#endif
#if GECKO_CHANNELS < 1 || GECKO_CHANNELS > 64
#error "GECKO_CHANNELS must be in 1..64 (GECKO_SHM_MIN/MAX_CHANNELS)"
#endif

/* ---- object model -------------------------------------------------------- */

/** The AudioPlugIn object: kAudioObjectPlugInObject (AudioServerPlugIn.h) = 1. */
#define GECKO_OBJECT_PLUGIN kAudioObjectPlugInObject
/** The one device, "Gecko Sink". */
#define GECKO_OBJECT_DEVICE ((AudioObjectID)2)
/** The device's one output stream. */
#define GECKO_OBJECT_STREAM_OUTPUT ((AudioObjectID)3)

#define GECKO_MANUFACTURER "Gecko"
#define GECKO_DEVICE_NAME "Gecko Sink"
#define GECKO_DEVICE_UID "com.gecko.driver.AudioDevice.Sink"
#define GECKO_DEVICE_MODEL_UID "com.gecko.driver.AudioDevice.Model"
#define GECKO_BUNDLE_ID "com.gecko.driver.AudioDevice"
/** Resource bundle path relative to the plug-in bundle: "" = the bundle itself. */
#define GECKO_RESOURCE_BUNDLE ""

/** Nominal sample rate in Hz until configuration changes land. */
#define GECKO_DEFAULT_SAMPLE_RATE 48000.0
/** Frames between two successive zero timestamps (kAudioDevicePropertyZeroTimeStampPeriod). */
#define GECKO_ZTS_PERIOD_FRAMES 16384u
/** Device and stream latency, frames. Nothing sits between the mix and the ring. */
#define GECKO_LATENCY_FRAMES 0u
/** Safety offset, frames: the ring accepts frames at any time, none is needed. */
#define GECKO_SAFETY_OFFSET_FRAMES 0u
/** Clock domain 0 = unspecified, separate from every other device (AudioHardwareBase.h). */
#define GECKO_CLOCK_DOMAIN 0u
/** kAudioStreamPropertyDirection: 0 = output (AudioHardwareBase.h). */
#define GECKO_STREAM_DIRECTION_OUTPUT 0u
/** The zero-timestamp seed; changes only on a real clock discontinuity (never so far). */
#define GECKO_ZTS_SEED 1u

/** Sample rates the device lists (Hz), in ascending order. */
extern const Float64 kGeckoSampleRates[];
extern const UInt32 kGeckoSampleRateCount;

/* ---- global state ---------------------------------------------------------- */

/**
 * The driver's one instance. Control-path fields are guarded by `mutex`
 * (never taken on the IO thread); IO-path fields are written only by the IO
 * thread while IO runs, and by StartIO before it does.
 */
typedef struct GeckoDriver {
    /* COM */
    uint32_t ref_count;                /* atomic */
    AudioServerPlugInHostRef host;     /* set by Initialize */
    bool initialized;

    pthread_mutex_t mutex;             /* control path only */

    /* device state (control path; read atomically elsewhere) */
    Float64 sample_rate;               /* Hz */
    uint32_t io_client_count;          /* StartIO minus StopIO; atomic reads */

    /* host clock */
    double host_ticks_per_second;      /* ticks per second */
    double host_ticks_per_frame;       /* ticks per frame at sample_rate */

    /* zero timestamps (IO path; reset by the first StartIO) */
    uint64_t zts_anchor_host_time;     /* host ticks of sample time 0 */
    uint64_t zts_count;                /* periods elapsed since the anchor */
    uint64_t zts_published_count;      /* last zts_count published to shm, or UINT64_MAX */

    GeckoShmWriter shm;
} GeckoDriver;

/** The global instance (gecko_plugin.c). */
extern GeckoDriver gGeckoDriver;
/** The driver reference handed to the host: points at the vtable pointer. */
extern AudioServerPlugInDriverRef gGeckoDriverRef;

/** true when inDriver is our driver reference. */
static inline bool gecko_is_our_driver(const void* inDriver) {
    return inDriver != NULL && inDriver == (const void*)gGeckoDriverRef;
}

/* ---- clock (gecko_clock.c) ------------------------------------------------ */

/** Current host time in host ticks (mach_absolute_time on macOS; the configured
 *  clock or CLOCK_MONOTONIC ns on Linux). IO-safe: no lock, no allocation; the
 *  Linux default is clock_gettime via the vDSO (no real syscall). */
uint64_t gecko_host_time_now(void);
/** Host clock frequency in ticks per second. */
double gecko_host_ticks_per_second(void);
/** The configured writer-segment name (GECKO_SHM_DEFAULT_NAME unless GeckoSim_Configure). */
const char* gecko_configured_shm_name(void);
/** Marks the configuration as frozen (called by Initialize). */
void gecko_config_freeze(void);

/* ---- logging (gecko_log.c); never call on the IO thread ---------------------- */
void gecko_log(int priority, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- property dispatch (gecko_properties.c) ----------------------------------- */
Boolean gecko_HasProperty(AudioServerPlugInDriverRef inDriver, AudioObjectID inObjectID,
                          pid_t inClientProcessID, const AudioObjectPropertyAddress* inAddress);
OSStatus gecko_IsPropertySettable(AudioServerPlugInDriverRef inDriver, AudioObjectID inObjectID,
                                  pid_t inClientProcessID,
                                  const AudioObjectPropertyAddress* inAddress,
                                  Boolean* outIsSettable);
OSStatus gecko_GetPropertyDataSize(AudioServerPlugInDriverRef inDriver, AudioObjectID inObjectID,
                                   pid_t inClientProcessID,
                                   const AudioObjectPropertyAddress* inAddress,
                                   UInt32 inQualifierDataSize, const void* inQualifierData,
                                   UInt32* outDataSize);
OSStatus gecko_GetPropertyData(AudioServerPlugInDriverRef inDriver, AudioObjectID inObjectID,
                               pid_t inClientProcessID,
                               const AudioObjectPropertyAddress* inAddress,
                               UInt32 inQualifierDataSize, const void* inQualifierData,
                               UInt32 inDataSize, UInt32* outDataSize, void* outData);
OSStatus gecko_SetPropertyData(AudioServerPlugInDriverRef inDriver, AudioObjectID inObjectID,
                               pid_t inClientProcessID,
                               const AudioObjectPropertyAddress* inAddress,
                               UInt32 inQualifierDataSize, const void* inQualifierData,
                               UInt32 inDataSize, const void* inData);

/* ---- IO (gecko_io.c) ------------------------------------------------------------ */
OSStatus gecko_StartIO(AudioServerPlugInDriverRef inDriver, AudioObjectID inDeviceObjectID,
                       UInt32 inClientID);
OSStatus gecko_StopIO(AudioServerPlugInDriverRef inDriver, AudioObjectID inDeviceObjectID,
                      UInt32 inClientID);
OSStatus gecko_GetZeroTimeStamp(AudioServerPlugInDriverRef inDriver,
                                AudioObjectID inDeviceObjectID, UInt32 inClientID,
                                Float64* outSampleTime, UInt64* outHostTime, UInt64* outSeed);
OSStatus gecko_WillDoIOOperation(AudioServerPlugInDriverRef inDriver,
                                 AudioObjectID inDeviceObjectID, UInt32 inClientID,
                                 UInt32 inOperationID, Boolean* outWillDo,
                                 Boolean* outWillDoInPlace);
OSStatus gecko_BeginIOOperation(AudioServerPlugInDriverRef inDriver,
                                AudioObjectID inDeviceObjectID, UInt32 inClientID,
                                UInt32 inOperationID, UInt32 inIOBufferFrameSize,
                                const AudioServerPlugInIOCycleInfo* inIOCycleInfo);
OSStatus gecko_DoIOOperation(AudioServerPlugInDriverRef inDriver, AudioObjectID inDeviceObjectID,
                             AudioObjectID inStreamObjectID, UInt32 inClientID,
                             UInt32 inOperationID, UInt32 inIOBufferFrameSize,
                             const AudioServerPlugInIOCycleInfo* inIOCycleInfo,
                             void* ioMainBuffer, void* ioSecondaryBuffer);
OSStatus gecko_EndIOOperation(AudioServerPlugInDriverRef inDriver, AudioObjectID inDeviceObjectID,
                              UInt32 inClientID, UInt32 inOperationID,
                              UInt32 inIOBufferFrameSize,
                              const AudioServerPlugInIOCycleInfo* inIOCycleInfo);
/** Fills the parameters the shm writer publishes (control path). */
void gecko_fill_shm_params(GeckoShmParams* out, uint32_t io_running);

#endif /* GECKO_DRIVER_H */
