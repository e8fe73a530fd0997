/*
 * gecko_plugin.c — the CFPlugIn factory, the COM (IUnknown) methods, the
 * driver vtable, Initialize, and the device-lifecycle entry points. The
 * driver's services live by job: the host's services (gecko_host.c), the host
 * clock (gecko_clock.c), the device clock (gecko_zts.c), the volume curve
 * (gecko_volume.c), the ring glue (gecko_ring.c); the objects' properties in
 * gecko_properties.c and gecko_prop_*.c. Nothing there calls back into this file.
 */
#include "gecko_driver.h"

#include <math.h>
#include <string.h>
#include <syslog.h>

/* ---- identities ---------------------------------------------------------------- */

/** IUnknown: 00000000-0000-0000-C000-000000000046 (CFPlugInCOM.h). */
static const UInt8 kIUnknownBytes[16] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                         0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46};
/** kAudioServerPlugInDriverInterfaceUUID: EEA5773D-CC43-49F1-8E00-8F96E7D23B17
 *  (AudioServerPlugIn.h). */
static const UInt8 kDriverInterfaceBytes[16] = {0xEE, 0xA5, 0x77, 0x3D, 0xCC, 0x43, 0x49, 0xF1,
                                                0x8E, 0x00, 0x8F, 0x96, 0xE7, 0xD2, 0x3B, 0x17};

/** Sample rates listed by the device (Hz). */
const Float64 kGeckoSampleRates[] = GECKO_SAMPLE_RATES_INIT;
const UInt32 kGeckoSampleRateCount = sizeof kGeckoSampleRates / sizeof kGeckoSampleRates[0];

/* ---- COM ------------------------------------------------------------------------- */

static HRESULT gecko_QueryInterface(void* inDriver, REFIID inUUID, LPVOID* outInterface);
static ULONG gecko_AddRef(void* inDriver);
static ULONG gecko_Release(void* inDriver);
static OSStatus gecko_Initialize(AudioServerPlugInDriverRef inDriver,
                                 AudioServerPlugInHostRef inHost);
static OSStatus gecko_CreateDevice(AudioServerPlugInDriverRef inDriver,
                                   CFDictionaryRef inDescription,
                                   const AudioServerPlugInClientInfo* inClientInfo,
                                   AudioObjectID* outDeviceObjectID);
static OSStatus gecko_DestroyDevice(AudioServerPlugInDriverRef inDriver,
                                    AudioObjectID inDeviceObjectID);
static OSStatus gecko_AddDeviceClient(AudioServerPlugInDriverRef inDriver,
                                      AudioObjectID inDeviceObjectID,
                                      const AudioServerPlugInClientInfo* inClientInfo);
static OSStatus gecko_RemoveDeviceClient(AudioServerPlugInDriverRef inDriver,
                                         AudioObjectID inDeviceObjectID,
                                         const AudioServerPlugInClientInfo* inClientInfo);
static OSStatus gecko_PerformDeviceConfigurationChange(AudioServerPlugInDriverRef inDriver,
                                                       AudioObjectID inDeviceObjectID,
                                                       UInt64 inChangeAction, void* inChangeInfo);
static OSStatus gecko_AbortDeviceConfigurationChange(AudioServerPlugInDriverRef inDriver,
                                                     AudioObjectID inDeviceObjectID,
                                                     UInt64 inChangeAction, void* inChangeInfo);

/** The vtable, in AudioServerPlugIn.h order. */
static AudioServerPlugInDriverInterface gInterface = {
    ._reserved = NULL,
    .QueryInterface = gecko_QueryInterface,
    .AddRef = gecko_AddRef,
    .Release = gecko_Release,
    .Initialize = gecko_Initialize,
    .CreateDevice = gecko_CreateDevice,
    .DestroyDevice = gecko_DestroyDevice,
    .AddDeviceClient = gecko_AddDeviceClient,
    .RemoveDeviceClient = gecko_RemoveDeviceClient,
    .PerformDeviceConfigurationChange = gecko_PerformDeviceConfigurationChange,
    .AbortDeviceConfigurationChange = gecko_AbortDeviceConfigurationChange,
    .HasProperty = gecko_HasProperty,
    .IsPropertySettable = gecko_IsPropertySettable,
    .GetPropertyDataSize = gecko_GetPropertyDataSize,
    .GetPropertyData = gecko_GetPropertyData,
    .SetPropertyData = gecko_SetPropertyData,
    .StartIO = gecko_StartIO,
    .StopIO = gecko_StopIO,
    .GetZeroTimeStamp = gecko_GetZeroTimeStamp,
    .WillDoIOOperation = gecko_WillDoIOOperation,
    .BeginIOOperation = gecko_BeginIOOperation,
    .DoIOOperation = gecko_DoIOOperation,
    .EndIOOperation = gecko_EndIOOperation,
};
static AudioServerPlugInDriverInterface* gInterfacePtr = &gInterface;
AudioServerPlugInDriverRef gGeckoDriverRef = &gInterfacePtr;

GeckoDriver gGeckoDriver = {
    .ref_count = 0,
    .mutex = PTHREAD_MUTEX_INITIALIZER,
    .sample_rate = GECKO_DEFAULT_SAMPLE_RATE,
    .volume_scalar = 1.0f,
    .mute = 0,
    .zts_seed = GECKO_ZTS_SEED,
    .zts_published_count = UINT64_MAX,
    .stream_is_active = 1,
    .input_stream_is_active = 1,
    .input_latency_requested = UINT32_MAX,
};

/**
 * The CFPlugIn factory named in Info.plist (CFPlugInFactories). Returns the
 * driver reference when `requestedTypeUUID` is kAudioServerPlugInTypeUUID
 * (443ABAB8-E7B3-491A-B985-BEB9187030DB), else NULL. The host then calls
 * QueryInterface for kAudioServerPlugInDriverInterfaceUUID.
 */
GECKO_EXPORT void* GeckoAudioDevice_Create(CFAllocatorRef inAllocator, CFUUIDRef requestedTypeUUID);

void* GeckoAudioDevice_Create(CFAllocatorRef inAllocator, CFUUIDRef requestedTypeUUID) {
    (void)inAllocator;
    if (requestedTypeUUID == NULL) return NULL;
    if (CFGetTypeID(requestedTypeUUID) != CFUUIDGetTypeID()) return NULL;
    if (!CFEqual(requestedTypeUUID, kAudioServerPlugInTypeUUID)) return NULL;
    return gGeckoDriverRef;
}

static bool uuid_is(const REFIID* id, const UInt8 bytes[16]) {
    return memcmp(id, bytes, 16) == 0;
}

/** IUnknown::QueryInterface: answers IUnknown and the driver interface (retaining
 *  the driver), else E_NOINTERFACE with *outInterface = NULL. */
static HRESULT gecko_QueryInterface(void* inDriver, REFIID inUUID, LPVOID* outInterface) {
    if (outInterface == NULL) return E_POINTER;
    *outInterface = NULL;
    if (!gecko_is_our_driver(inDriver)) return E_NOINTERFACE;
    if (!uuid_is(&inUUID, kIUnknownBytes) && !uuid_is(&inUUID, kDriverInterfaceBytes))
        return E_NOINTERFACE;
    __atomic_add_fetch(&gGeckoDriver.ref_count, 1u, __ATOMIC_ACQ_REL);
    *outInterface = gGeckoDriverRef;
    return S_OK;
}

/** IUnknown::AddRef: returns the new reference count. */
static ULONG gecko_AddRef(void* inDriver) {
    if (!gecko_is_our_driver(inDriver)) return 0;
    uint32_t n = __atomic_load_n(&gGeckoDriver.ref_count, __ATOMIC_RELAXED);
    while (n != UINT32_MAX &&
           !__atomic_compare_exchange_n(&gGeckoDriver.ref_count, &n, n + 1u, true,
                                        __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
    }
    return n == UINT32_MAX ? n : n + 1u;
}

/** IUnknown::Release: returns the new reference count (never below 0). The
 *  driver is a static singleton, so nothing is freed at 0. */
static ULONG gecko_Release(void* inDriver) {
    if (!gecko_is_our_driver(inDriver)) return 0;
    uint32_t n = __atomic_load_n(&gGeckoDriver.ref_count, __ATOMIC_RELAXED);
    while (n != 0 && !__atomic_compare_exchange_n(&gGeckoDriver.ref_count, &n, n - 1u, true,
                                                  __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
    }
    return n == 0 ? 0 : n - 1u;
}

/* ---- lifecycle -------------------------------------------------------------------- */

/** Initialize: remembers the host, freezes the (simulated) configuration and
 *  creates/maps the writer segment. shm failures are logged, not fatal. */
static OSStatus gecko_Initialize(AudioServerPlugInDriverRef inDriver,
                                 AudioServerPlugInHostRef inHost) {
    if (!gecko_is_our_driver(inDriver)) return kAudioHardwareBadObjectError;
    GeckoDriver* d = &gGeckoDriver;
    gecko_restore_controls(inHost); /* host calls: outside the mutex */
    pthread_mutex_lock(&d->mutex);
    d->host = inHost;
    if (!d->initialized) {
        gecko_config_freeze();
        d->host_ticks_per_second = gecko_host_ticks_per_second();
        d->host_ticks_per_frame = d->host_ticks_per_second / d->sample_rate;
        gecko_clock_reset(d, gecko_host_time_now());
        gecko_ring_init(d);
        gecko_loopback_init(d);
        d->initialized = true;
    }
    GeckoShmParams p;
    gecko_fill_shm_params(&p, 0);
    (void)gecko_shm_writer_open(&d->shm, &p, gecko_host_time_now()); /* logs its failure; retried at StartIO */
    pthread_mutex_unlock(&d->mutex);
    return kAudioHardwareNoError;
}

/** CreateDevice: not supported (the device is static). */
static OSStatus gecko_CreateDevice(AudioServerPlugInDriverRef inDriver,
                                   CFDictionaryRef inDescription,
                                   const AudioServerPlugInClientInfo* inClientInfo,
                                   AudioObjectID* outDeviceObjectID) {
    (void)inDescription;
    (void)inClientInfo;
    (void)outDeviceObjectID;
    if (!gecko_is_our_driver(inDriver)) return kAudioHardwareBadObjectError;
    return kAudioHardwareUnsupportedOperationError;
}

/** DestroyDevice: not supported (the device is static). */
static OSStatus gecko_DestroyDevice(AudioServerPlugInDriverRef inDriver,
                                    AudioObjectID inDeviceObjectID) {
    (void)inDeviceObjectID;
    if (!gecko_is_our_driver(inDriver)) return kAudioHardwareBadObjectError;
    return kAudioHardwareUnsupportedOperationError;
}

/** AddDeviceClient: nothing is tracked per client. */
static OSStatus gecko_AddDeviceClient(AudioServerPlugInDriverRef inDriver,
                                      AudioObjectID inDeviceObjectID,
                                      const AudioServerPlugInClientInfo* inClientInfo) {
    (void)inClientInfo;
    if (!gecko_is_our_driver(inDriver)) return kAudioHardwareBadObjectError;
    if (inDeviceObjectID != GECKO_OBJECT_DEVICE) return kAudioHardwareBadObjectError;
    return kAudioHardwareNoError;
}

/** RemoveDeviceClient: nothing is tracked per client. */
static OSStatus gecko_RemoveDeviceClient(AudioServerPlugInDriverRef inDriver,
                                         AudioObjectID inDeviceObjectID,
                                         const AudioServerPlugInClientInfo* inClientInfo) {
    (void)inClientInfo;
    if (!gecko_is_our_driver(inDriver)) return kAudioHardwareBadObjectError;
    if (inDeviceObjectID != GECKO_OBJECT_DEVICE) return kAudioHardwareBadObjectError;
    return kAudioHardwareNoError;
}

/**
 * PerformDeviceConfigurationChange: applies a change requested through
 * RequestDeviceConfigurationChange. The only change is the nominal sample
 * rate; the action is the new rate in whole Hz (gecko_request_sample_rate).
 * The HAL guarantees IO is not running during this call (it may or may not
 * have called StopIO), so the IO-thread clock state may be reset here:
 * the clock re-anchors at sample time 0 with a new seed (a real
 * discontinuity), the steering restarts at nominal, and the ring moves to a
 * new generation carrying the new rate so the engine re-attaches.
 *
 * No PropertiesChanged here, for the rate or the stream formats: AudioServerPlugIn.h
 * (overview) allows a device PropertiesChanged "only for state changes that don't
 * have any effect on IO or on the structure of the AudioDevice", and says of this
 * call: "When PerformDeviceConfigurationChange() returns, the host will figure out
 * what changed and restart any outstanding IO." Apple's NullAudio and BlackHole
 * send none either.
 */
static OSStatus gecko_PerformDeviceConfigurationChange(AudioServerPlugInDriverRef inDriver,
                                                       AudioObjectID inDeviceObjectID,
                                                       UInt64 inChangeAction, void* inChangeInfo) {
    (void)inChangeInfo;
    if (!gecko_is_our_driver(inDriver)) return kAudioHardwareBadObjectError;
    if (inDeviceObjectID != GECKO_OBJECT_DEVICE) return kAudioHardwareBadObjectError;
    if (inChangeAction >= GECKO_CONFIG_ACTION_INPUT_LATENCY) {
        /* The loopback's latency (the attach thread's input-latency tick). */
        const UInt64 frames = inChangeAction - GECKO_CONFIG_ACTION_INPUT_LATENCY;
        if (frames > GECKO_SHM_MAX_LATENCY_FRAMES + (UInt64)GECKO_SHM_LOOPBACK_MAX_CAPACITY_FRAMES)
            return kAudioHardwareIllegalOperationError;
        pthread_mutex_lock(&gGeckoDriver.mutex);
        __atomic_store_n(&gGeckoDriver.input_latency_frames, (uint32_t)frames, __ATOMIC_RELAXED);
        pthread_mutex_unlock(&gGeckoDriver.mutex);
        gecko_log(LOG_INFO, "input latency now %llu frames (the loopback's)", (unsigned long long)frames);
        return kAudioHardwareNoError;
    }
    if (inChangeAction >= GECKO_CONFIG_ACTION_LATENCY) {
        /* The engine's latency (engine_latency_changed): the device's Latency property. */
        const UInt64 frames = inChangeAction - GECKO_CONFIG_ACTION_LATENCY;
        if (frames > GECKO_SHM_MAX_LATENCY_FRAMES) return kAudioHardwareIllegalOperationError;
        pthread_mutex_lock(&gGeckoDriver.mutex);
        __atomic_store_n(&gGeckoDriver.engine_latency_frames, (uint32_t)frames, __ATOMIC_RELAXED);
        pthread_mutex_unlock(&gGeckoDriver.mutex);
        gecko_log(LOG_INFO, "device latency now %llu frames (the engine's)", (unsigned long long)frames);
        return kAudioHardwareNoError;
    }
    if (inChangeAction > 1000000u) return kAudioHardwareIllegalOperationError;
    const Float64 rate = (Float64)inChangeAction;
    bool found = false;
    for (UInt32 i = 0; i < kGeckoSampleRateCount; i++) found |= kGeckoSampleRates[i] == rate;
    if (!found) return kAudioHardwareIllegalOperationError;
    GeckoDriver* d = &gGeckoDriver;
    pthread_mutex_lock(&d->mutex);
    const bool changed = d->sample_rate != rate;
    if (changed && d->initialized) {
        d->sample_rate = rate;
        d->host_ticks_per_frame = d->host_ticks_per_second / rate;
        d->zts_seed++;
        gecko_clock_adjust_ppm_set(d, 0.0);
        /* The engine's request was for the old generation: nominal until the
         * WriteMix thread reads a new one. */
        __atomic_store_n(&d->clock_request_bits, (uint64_t)0, __ATOMIC_RELAXED); /* +0.0 */
        gecko_clock_reset(d, gecko_host_time_now());
        d->zts_published_count = 0; /* published just below */
        GeckoShmParams p;
        gecko_fill_shm_params(&p, __atomic_load_n(&d->io_client_count, __ATOMIC_ACQUIRE) ? 1u : 0u);
        gecko_shm_writer_publish(&d->shm, &p, true);
    } else if (changed) {
        d->sample_rate = rate; /* before Initialize: nothing runs yet */
    }
    pthread_mutex_unlock(&d->mutex);
    if (changed) gecko_log(LOG_INFO, "nominal sample rate now %.0f Hz", rate);
    return kAudioHardwareNoError;
}

/** AbortDeviceConfigurationChange: nothing to undo (a request keeps no state). */
static OSStatus gecko_AbortDeviceConfigurationChange(AudioServerPlugInDriverRef inDriver,
                                                     AudioObjectID inDeviceObjectID,
                                                     UInt64 inChangeAction, void* inChangeInfo) {
    (void)inChangeAction;
    (void)inChangeInfo;
    if (!gecko_is_our_driver(inDriver)) return kAudioHardwareBadObjectError;
    if (inDeviceObjectID != GECKO_OBJECT_DEVICE) return kAudioHardwareBadObjectError;
    return kAudioHardwareNoError;
}

/** Teardown when the shared object is unloaded (dlclose in tests; coreaudiod never
 *  unloads drivers): stops the attach thread and unmaps, never unlinks. */
__attribute__((destructor)) static void gecko_unload(void) {
    GeckoDriver* d = &gGeckoDriver;
    pthread_mutex_lock(&d->mutex);
    if (d->initialized) gecko_shm_writer_close(&d->shm);
    pthread_mutex_unlock(&d->mutex);
}
