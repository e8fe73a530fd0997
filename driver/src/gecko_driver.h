/*
 * gecko_driver.h — internal declarations shared by the driver's source files:
 * object IDs, the device's fixed parameters (identity: gecko_identity.h), the driver's
 * global state, and the entry points each file implements.
 */
#ifndef GECKO_DRIVER_H
#define GECKO_DRIVER_H

#include "gecko_identity.h"
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
/** The master volume control (kAudioVolumeControlClassID), output scope, main element. */
#define GECKO_OBJECT_CONTROL_VOLUME ((AudioObjectID)4)
/** The master mute control (kAudioMuteControlClassID), output scope, main element. */
#define GECKO_OBJECT_CONTROL_MUTE ((AudioObjectID)5)
/** The device's one input stream: the loopback of what Gecko plays (gecko_loopback.c). */
#define GECKO_OBJECT_STREAM_INPUT ((AudioObjectID)6)

/** Resource bundle path relative to the plug-in bundle: "" = the bundle itself. */
#define GECKO_RESOURCE_BUNDLE ""

/** Device and stream latency of the driver itself, frames: nothing sits between the
 *  mix and the ring. The device's kAudioDevicePropertyLatency adds the engine's
 *  latency after the ring (GeckoDriver.engine_latency_frames). */
#define GECKO_LATENCY_FRAMES 0u
/** RequestDeviceConfigurationChange actions: a nominal sample rate is its value in
 *  whole Hz (< 2^32); GECKO_CONFIG_ACTION_LATENCY + n sets the engine's latency to
 *  n frames. */
#define GECKO_CONFIG_ACTION_LATENCY (1ull << 32)
/** RequestDeviceConfigurationChange actions from here on: GECKO_CONFIG_ACTION_INPUT_LATENCY
 *  + n sets the input stream's (the loopback's) latency to n frames. */
#define GECKO_CONFIG_ACTION_INPUT_LATENCY (2ull << 32)
/** The engine's latency is re-applied only when it moves by more than this, seconds
 *  (a configuration change makes the HAL restart IO: not for every jitter). */
#define GECKO_LATENCY_CHANGE_MIN_SECONDS 0.005
/** Safety offset, frames: the ring accepts frames at any time, none is needed. */
#define GECKO_SAFETY_OFFSET_FRAMES 0u
/** Clock domain 0 = unspecified, separate from every other device (AudioHardwareBase.h). */
#define GECKO_CLOCK_DOMAIN 0u
/** kAudioStreamPropertyDirection: 0 = output, 1 = input (AudioHardwareBase.h). */
#define GECKO_STREAM_DIRECTION_OUTPUT 0u
#define GECKO_STREAM_DIRECTION_INPUT 1u
/** Frames of the fade-in after the input's source changes (a tap switch, the post
 *  tap re-locking onto the engine): 5 ms at 48 kHz. */
#define GECKO_LOOPBACK_FADE_FRAMES 240u
/** The first zero-timestamp seed; incremented only on a real clock discontinuity
 *  (a sample-rate change performed by PerformDeviceConfigurationChange). */
#define GECKO_ZTS_SEED 1u
/**
 * Gecko's custom device property 'gkrs' (global scope, main element; the scope
 * and element wildcards match it too): the
 * state of the shm ring's writer side, for diagnostics. A CFString the caller
 * releases, of "key=value" lines (gecko_shm_writer_format_state). Listed in the
 * device's kAudioObjectPropertyCustomPropertyInfoList with property data type
 * kAudioServerPlugInCustomPropertyDataTypeCFString and qualifier data type
 * kAudioServerPlugInCustomPropertyDataTypeNone (AudioServerPlugIn.h), so the
 * HAL can marshal it to clients. Read-only; control path.
 */
#define GECKO_PROPERTY_RING_STATE GECKO_FOURCC('g', 'k', 'r', 's')
/** kAudioDevicePropertyConfigurationApplication: Audio MIDI Setup (as Apple's NullAudio). */
#define GECKO_CONFIG_APP_BUNDLE_ID "com.apple.audio.AudioMIDISetup"

/* The volume curve's range, GECKO_VOLUME_MIN_DB..GECKO_VOLUME_MAX_DB: gecko_identity.h. */
/** Storage keys (CopyFromStorage/WriteToStorage): CFNumber Float32 scalar, CFNumber SInt32 0/1. */
#define GECKO_STORAGE_KEY_VOLUME "gecko.volume.scalar"
#define GECKO_STORAGE_KEY_MUTE "gecko.mute"

/** Sample rates the device lists (Hz), in ascending order. */
extern const Float64 kGeckoSampleRates[];
extern const UInt32 kGeckoSampleRateCount;

/* ---- global state ---------------------------------------------------------- */

/**
 * One published zero timestamp: period `count` (sample time count x
 * GECKO_ZTS_PERIOD_FRAMES frames) at `host_time` host ticks, with `seed`.
 * Each field is stored and loaded with relaxed atomics; the publication
 * protocol (gecko_zts.c) makes the three a consistent triple.
 */
typedef struct GeckoZtsStamp {
    uint64_t count;     /* zero-timestamp periods since sample time 0 */
    uint64_t host_time; /* host ticks */
    uint64_t seed;      /* GetZeroTimeStamp's outSeed (AudioServerPlugIn.h) */
} GeckoZtsStamp;

/**
 * The loopback (the input stream's source). IO-thread state: the HAL runs
 * ReadInput and WriteMix of a device on its one IO thread, so these fields
 * are that thread's; `tap` is also read (relaxed) by the control path.
 */
typedef struct GeckoLoopback {
    uint32_t tap;        /* atomic: GECKO_LOOPBACK_TAP_OFF/PRE/POST in effect */
    uint32_t fade_left;  /* frames of fade-in still to apply */
} GeckoLoopback;

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
    Float32 volume_scalar;             /* 0..1, the volume control's scalar value */
    uint32_t mute;                     /* 0 or 1 */

    /* host clock */
    double host_ticks_per_second;      /* ticks per second */
    double host_ticks_per_frame;       /* ticks per frame at sample_rate (nominal) */

    /* zero timestamps. The fields below up to zts_published_count are the
     * clock's private state: written only by the one thread holding zts_busy
     * (an IO thread in GetZeroTimeStamp), or by the control path while no IO
     * thread runs (first StartIO, a performed rate change). Other threads read
     * the published stamp (zts_pub) instead. */
    uint64_t zts_seed;                 /* GECKO_ZTS_SEED, +1 per discontinuity */
    uint64_t zts_count;                /* periods since sample time 0 */
    uint64_t zts_anchor_count;         /* period at which the current clock rate began */
    uint64_t zts_anchor_host_time;     /* host ticks of period zts_anchor_count */
    double zts_ticks_per_frame;        /* host ticks per frame applied now (steered) */
    double clock_adjust_ppm;           /* applied adjustment, ppm (+ = faster); read and
                                          written only with gecko_clock_adjust_ppm/_set */
    uint64_t zts_published_count;      /* last zts_count published to shm, or UINT64_MAX */

    /* zero timestamps shared between threads (see gecko_zts.c) */
    uint32_t zts_busy;                 /* atomic try-flag: 1 while a thread advances the clock */
    uint64_t zts_pub_seq;              /* atomic: 2k-1 while publication k is written, 2k after */
    GeckoZtsStamp zts_pub[2];          /* publication k is zts_pub[k & 1]; atomic fields */
    uint64_t clock_request_bits;       /* atomic: bits of the clock target (ppm, double) the
                                          WriteMix thread last read from the engine; NaN = keep */
    uint32_t stream_is_active;         /* kAudioStreamPropertyIsActive (0/1); mutex */
    uint32_t input_stream_is_active;   /* the input stream's; mutex */
    uint32_t engine_latency_frames;    /* the engine's latency applied to the device's
                                          kAudioDevicePropertyLatency, frames; stored under the
                                          mutex, read atomically (relaxed) */
    uint32_t input_latency_frames;     /* the input-scope kAudioDevicePropertyLatency applied
                                          (the loopback's), frames; as engine_latency_frames */
    uint32_t input_latency_requested;  /* attach thread only: the last value it asked the
                                          host for (UINT32_MAX: none pending) */

    GeckoShmWriter shm;
    GeckoLoopback loopback;
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
/** Whether the simulated host asked the driver to ignore clock requests
 *  (GeckoSimConfig.ignore_clock_requests; always false on macOS). */
bool gecko_configured_ignore_clock_requests(void);
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
/* ---- the device clock (gecko_zts.c) ------------------------------------------- */
/** Host time (ticks) of zero-timestamp period `k` on the current clock segment.
 *  Reads the clock's private state: call holding zts_busy, or with IO stopped. */
uint64_t gecko_zts_host_time(const GeckoDriver* d, uint64_t k);
/** Re-anchors the clock at sample time 0 = host time `now` (host ticks) and
 *  publishes that stamp (control path, IO not running). */
void gecko_clock_reset(GeckoDriver* d, uint64_t now);
/** Publishes the clock's current stamp (zts_count, its host time, zts_seed) for
 *  the threads that do not hold zts_busy. Caller holds zts_busy or IO is stopped. */
void gecko_zts_publish(GeckoDriver* d);
/** The last published stamp as one consistent triple. Any thread, never blocks
 *  (lock-free: it re-reads only if a whole publication happened meanwhile). */
GeckoZtsStamp gecko_zts_published(const GeckoDriver* d);
/** The applied clock adjustment, ppm (+ = faster); any thread (relaxed atomic). */
static inline double gecko_clock_adjust_ppm(const GeckoDriver* d) {
    double v;
    __atomic_load(&d->clock_adjust_ppm, &v, __ATOMIC_RELAXED);
    return v;
}
/** Sets the applied clock adjustment (ppm); only the clock's owner (see GeckoDriver). */
static inline void gecko_clock_adjust_ppm_set(GeckoDriver* d, double ppm) {
    __atomic_store(&d->clock_adjust_ppm, &ppm, __ATOMIC_RELAXED);
}
/** The clock core of GetZeroTimeStamp at host time `now` (host ticks): advances,
 *  steers and publishes the clock when this thread wins the try-flag zts_busy,
 *  else returns the last published stamp. IO threads, possibly two at once; never
 *  blocks, allocates or makes syscalls. */
GeckoZtsStamp gecko_zts_tick(GeckoDriver* d, uint64_t now);
/** WriteMix thread, once per cycle: reads the engine's clock request (ppm) from the
 *  reader segment and leaves the clamped target for the clock in clock_request_bits. */
void gecko_clock_request_sample(GeckoDriver* d);

/* ---- the ring, the driver's side (gecko_ring.c) --------------------------------- */
/** Fills the parameters the shm writer publishes (control path, under the driver mutex;
 *  the zero timestamp comes from the published stamp, so IO may be running). */
void gecko_fill_shm_params(GeckoShmParams* out, uint32_t io_running);

/** Initialize, once: sets up the writer (not yet mapped) with the configured name
 *  and the driver's attach-thread hooks (re-open, engine latency). Under the mutex. */
void gecko_ring_init(GeckoDriver* d);

/* ---- the loopback input (gecko_loopback.c) ------------------------------------- */

/** Initialize: starts with the pre tap. Control path. */
void gecko_loopback_init(GeckoDriver* d);
/** ReadInput (IO thread): fills `dst` (n x GECKO_CHANNELS, interleaved float32) for
 *  input sample time `sample_time` from the tap in effect. Never blocks, allocates,
 *  locks, logs or makes a syscall. */
void gecko_loopback_read(GeckoDriver* d, float* dst, uint32_t n, double sample_time);
/** The input stream's latency the tap in effect has, frames: 0 for the pre tap
 *  (input sample time t carries what was played at output sample time t) and off;
 *  for the post tap the engine's latency plus the tap's distance behind the engine
 *  (until the post tap has locked onto an engine: the value reported now).
 *  The device reports it (input-scope kAudioDevicePropertyLatency) once the host
 *  performed the configuration change the attach thread asks for
 *  (gecko_ring.c). Any thread. */
uint32_t gecko_loopback_latency_frames(const GeckoDriver* d);

/* ---- host services (gecko_host.c; control path only, never with the mutex held) ---- */

/** PropertiesChanged for `n` addresses of `object`; a no-op without a host. */
void gecko_notify(AudioObjectID object, UInt32 n, const AudioObjectPropertyAddress* addrs);
/** RequestDeviceConfigurationChange(device, action); kAudioHardwareUnsupportedOperationError
 *  when the host cannot take requests. */
OSStatus gecko_request_config_change(UInt64 action);
/** Writes a Float32 (is_float) or SInt32 value to the host's storage under `key`. */
void gecko_storage_write_number(const char* key, bool is_float, double value);
/** Initialize: restores volume and mute from the host's storage (`h`'s
 *  CopyFromStorage); invalid stored values are ignored. Takes the driver mutex. */
void gecko_restore_controls(AudioServerPlugInHostRef h);

/* ---- the volume curve (gecko_volume.c) ------------------------------------------ */

/** Volume curve (see GECKO_VOLUME_MIN_DB): scalar 0..1 <-> dB, and the linear gain. */
/** A scalar clamped to 0..1 (NaN is the caller's to reject). */
Float32 gecko_volume_clamp(Float32 v);
Float32 gecko_volume_scalar_to_db(Float32 scalar);
Float32 gecko_volume_db_to_scalar(Float32 db);
Float32 gecko_volume_scalar_to_gain(Float32 scalar);

#endif /* GECKO_DRIVER_H */
