/*
 * gecko_plugin.c — the CFPlugIn factory, the COM (IUnknown) methods, the
 * driver vtable, Initialize, and the device-lifecycle entry points.
 */
#include "gecko_driver.h"

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
const Float64 kGeckoSampleRates[] = {44100.0, 48000.0, 88200.0, 96000.0, 176400.0, 192000.0};
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
    .zts_published_count = UINT64_MAX,
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

void gecko_fill_shm_params(GeckoShmParams* out, uint32_t io_running) {
    GeckoDriver* d = &gGeckoDriver;
    memset(out, 0, sizeof *out);
    out->sample_rate = d->sample_rate;
    out->zts_sample_time = (double)(d->zts_count * GECKO_ZTS_PERIOD_FRAMES);
    out->zts_host_time =
        d->zts_anchor_host_time + (uint64_t)((double)d->zts_count * d->host_ticks_per_frame *
                                             (double)GECKO_ZTS_PERIOD_FRAMES);
    out->zts_seed = GECKO_ZTS_SEED;
    out->host_ticks_per_frame = d->host_ticks_per_frame;
    out->host_ticks_per_second = d->host_ticks_per_second;
    out->volume_scalar = 1.0f; /* no volume control yet */
    out->mute = 0;
    out->io_running = io_running;
    out->zts_period_frames = GECKO_ZTS_PERIOD_FRAMES;
}

/** Initialize: remembers the host, freezes the (simulated) configuration and
 *  creates/maps the writer segment. shm failures are logged, not fatal. */
static OSStatus gecko_Initialize(AudioServerPlugInDriverRef inDriver,
                                 AudioServerPlugInHostRef inHost) {
    if (!gecko_is_our_driver(inDriver)) return kAudioHardwareBadObjectError;
    GeckoDriver* d = &gGeckoDriver;
    pthread_mutex_lock(&d->mutex);
    d->host = inHost;
    if (!d->initialized) {
        gecko_config_freeze();
        d->host_ticks_per_second = gecko_host_ticks_per_second();
        d->host_ticks_per_frame = d->host_ticks_per_second / d->sample_rate;
        d->zts_anchor_host_time = gecko_host_time_now();
        d->zts_count = 0;
        gecko_shm_writer_init(&d->shm, gecko_configured_shm_name(), GECKO_CHANNELS,
                              GECKO_SHM_DEFAULT_CAPACITY_FRAMES);
        d->initialized = true;
    }
    GeckoShmParams p;
    gecko_fill_shm_params(&p, 0);
    if (gecko_shm_writer_open(&d->shm, &p, gecko_host_time_now()) != 0)
        gecko_log(LOG_WARNING, "running without shared memory; retrying at StartIO");
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

/** PerformDeviceConfigurationChange: the driver never requests one yet. */
static OSStatus gecko_PerformDeviceConfigurationChange(AudioServerPlugInDriverRef inDriver,
                                                       AudioObjectID inDeviceObjectID,
                                                       UInt64 inChangeAction, void* inChangeInfo) {
    (void)inChangeAction;
    (void)inChangeInfo;
    if (!gecko_is_our_driver(inDriver)) return kAudioHardwareBadObjectError;
    if (inDeviceObjectID != GECKO_OBJECT_DEVICE) return kAudioHardwareBadObjectError;
    return kAudioHardwareNoError;
}

/** AbortDeviceConfigurationChange: nothing to undo. */
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
