/*
 * gecko_plugin.c — the CFPlugIn factory, the COM (IUnknown) methods, the
 * driver vtable, Initialize, and the device-lifecycle entry points.
 */
#include "gecko_driver.h"

#if defined(__APPLE__) && !(defined(GECKO_USE_COMPAT_HEADERS) && GECKO_USE_COMPAT_HEADERS)
#include <CoreFoundation/CFNumber.h> /* Apple SDK build; the compat header declares it otherwise */
#endif
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
    .volume_scalar = 1.0f,
    .mute = 0,
    .zts_seed = GECKO_ZTS_SEED,
    .zts_published_count = UINT64_MAX,
    .stream_is_active = 1,
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

/* ---- host services ------------------------------------------------------------------ */

static AudioServerPlugInHostRef current_host(void) {
    pthread_mutex_lock(&gGeckoDriver.mutex);
    AudioServerPlugInHostRef h = gGeckoDriver.host;
    pthread_mutex_unlock(&gGeckoDriver.mutex);
    return h;
}

void gecko_notify(AudioObjectID object, UInt32 n, const AudioObjectPropertyAddress* addrs) {
    AudioServerPlugInHostRef h = current_host();
    if (h && h->PropertiesChanged) h->PropertiesChanged(h, object, n, addrs);
}

OSStatus gecko_request_config_change(UInt64 action) {
    AudioServerPlugInHostRef h = current_host();
    if (!h || !h->RequestDeviceConfigurationChange) return kAudioHardwareUnsupportedOperationError;
    return h->RequestDeviceConfigurationChange(h, GECKO_OBJECT_DEVICE, action, NULL);
}

void gecko_storage_write_number(const char* key, bool is_float, double value) {
    AudioServerPlugInHostRef h = current_host();
    if (!h || !h->WriteToStorage) return;
    const Float32 f = (Float32)value;
    const SInt32 i = (SInt32)value;
    CFNumberRef num = is_float ? CFNumberCreate(kCFAllocatorDefault, kCFNumberFloat32Type, &f)
                               : CFNumberCreate(kCFAllocatorDefault, kCFNumberSInt32Type, &i);
    CFStringRef k = CFStringCreateWithCString(kCFAllocatorDefault, key, kCFStringEncodingUTF8);
    if (num && k) {
        OSStatus st = h->WriteToStorage(h, k, num);
        if (st != kAudioHardwareNoError) gecko_log(LOG_WARNING, "WriteToStorage(%s) failed: %d", key, (int)st);
    }
    if (num) CFRelease(num);
    if (k) CFRelease(k);
}

/** Reads a number stored under `key` as a double; false if absent or not a CFNumber. */
static bool storage_read_number(AudioServerPlugInHostRef h, const char* key, bool is_float,
                                double* out) {
    if (!h || !h->CopyFromStorage) return false;
    CFStringRef k = CFStringCreateWithCString(kCFAllocatorDefault, key, kCFStringEncodingUTF8);
    if (!k) return false;
    CFPropertyListRef v = NULL;
    bool ok = false;
    if (h->CopyFromStorage(h, k, &v) == kAudioHardwareNoError && v != NULL &&
        CFGetTypeID(v) == CFNumberGetTypeID()) {
        Float32 f = 0.0f;
        SInt32 i = 0;
        if (is_float ? CFNumberGetValue((CFNumberRef)v, kCFNumberFloat32Type, &f)
                     : CFNumberGetValue((CFNumberRef)v, kCFNumberSInt32Type, &i)) {
            *out = is_float ? (double)f : (double)i;
            ok = true;
        }
    }
    if (v) CFRelease(v);
    CFRelease(k);
    return ok;
}

/** Restores volume and mute from the host's storage (Initialize, before the shm
 *  state is first published). Invalid stored values are ignored. */
static void restore_controls(AudioServerPlugInHostRef h) {
    double v;
    Float32 scalar = gGeckoDriver.volume_scalar;
    uint32_t mute = gGeckoDriver.mute;
    if (storage_read_number(h, GECKO_STORAGE_KEY_VOLUME, true, &v) && isfinite(v))
        scalar = v < 0.0 ? 0.0f : (v > 1.0 ? 1.0f : (Float32)v);
    if (storage_read_number(h, GECKO_STORAGE_KEY_MUTE, false, &v)) mute = v != 0.0 ? 1u : 0u;
    pthread_mutex_lock(&gGeckoDriver.mutex);
    gGeckoDriver.volume_scalar = scalar;
    gGeckoDriver.mute = mute;
    pthread_mutex_unlock(&gGeckoDriver.mutex);
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

/** Initialize: remembers the host, freezes the (simulated) configuration and
 *  creates/maps the writer segment. shm failures are logged, not fatal. */
static OSStatus gecko_Initialize(AudioServerPlugInDriverRef inDriver,
                                 AudioServerPlugInHostRef inHost) {
    if (!gecko_is_our_driver(inDriver)) return kAudioHardwareBadObjectError;
    GeckoDriver* d = &gGeckoDriver;
    restore_controls(inHost); /* host calls: outside the mutex */
    pthread_mutex_lock(&d->mutex);
    d->host = inHost;
    if (!d->initialized) {
        gecko_config_freeze();
        d->host_ticks_per_second = gecko_host_ticks_per_second();
        d->host_ticks_per_frame = d->host_ticks_per_second / d->sample_rate;
        gecko_clock_reset(d, gecko_host_time_now());
        gecko_shm_writer_init(&d->shm, gecko_configured_shm_name(), GECKO_CHANNELS,
                              GECKO_SHM_DEFAULT_CAPACITY_FRAMES);
        d->shm.reopen = reopen_writer_segment;
        d->shm.latency = engine_latency_changed;
        d->shm.reopen_ctx = d;
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
