/*
 * gecko_host.c — the host's services to the driver (AudioServerPlugInHostInterface,
 * AudioServerPlugIn.h): PropertiesChanged, RequestDeviceConfigurationChange and
 * the storage of the device's settings (CopyFromStorage/WriteToStorage).
 * Control path only: never on the IO thread, never with the driver mutex held
 * across a host call.
 */
#include "gecko_driver.h"

#if defined(__APPLE__) && !(defined(GECKO_USE_COMPAT_HEADERS) && GECKO_USE_COMPAT_HEADERS)
#include <CoreFoundation/CFNumber.h> /* Apple SDK build; the compat header declares it otherwise */
#endif
#include <math.h>
#include <syslog.h>

/** The host Initialize gave us (NULL before), read under the driver mutex. */
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
void gecko_restore_controls(AudioServerPlugInHostRef h) {
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
