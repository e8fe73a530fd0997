/*
 * gecko_properties.c — property dispatch for every object, and the value
 * writers the per-object tables use.
 *
 * Error rules (AudioHardwareBase.h codes): a foreign driver ref or unknown
 * object → kAudioHardwareBadObjectError; a selector the object does not
 * have, or a scope it does not answer in, or an element other than the main
 * one and the wildcard → ...UnknownPropertyError;
 * NULL pointers → ...IllegalOperationError; a buffer too small for a fixed-
 * size value → ...BadPropertySizeError. Arrays return as many whole items as
 * fit. Nothing is ever written past inDataSize.
 */
#include "gecko_properties.h"

#include <string.h>

static const GeckoObjectDesc* const kObjects[] = {
    &kGeckoPlugInObject,
    &kGeckoDeviceObject,
    &kGeckoStreamObject,
    &kGeckoInputStreamObject,
    &kGeckoVolumeControlObject,
    &kGeckoMuteControlObject,
};

static const GeckoObjectDesc* find_object(AudioObjectID id) {
    for (size_t i = 0; i < sizeof kObjects / sizeof kObjects[0]; i++)
        if (kObjects[i]->id == id) return kObjects[i];
    return NULL;
}

static unsigned scope_bit(AudioObjectPropertyScope scope) {
    switch (scope) {
    case kAudioObjectPropertyScopeGlobal: return GECKO_SCOPE_GLOBAL;
    case kAudioObjectPropertyScopeInput: return GECKO_SCOPE_INPUT;
    case kAudioObjectPropertyScopeOutput: return GECKO_SCOPE_OUTPUT;
    case kAudioObjectPropertyScopePlayThrough: return GECKO_SCOPE_PLAYTHROUGH;
    case kAudioObjectPropertyScopeWildcard: return GECKO_SCOPE_WILDCARD;
    default: return 0;
    }
}

/**
 * Whether a property of the whole object answers in `element`. Every property
 * here is object-wide (none is per channel), so it answers in the main element
 * (0, kAudioObjectPropertyElementMain) and in kAudioObjectPropertyElementWildcard
 * (0xFFFFFFFF), "the wildcard value for AudioObjectPropertyElements"
 * (AudioHardwareBase.h), which matches every element including the main one.
 * Other elements (channels 1..n of AudioHardwareBase.h's numbering) have no
 * property of their own here: kAudioHardwareUnknownPropertyError.
 */
static bool element_answers(AudioObjectPropertyElement element) {
    return element == GECKO_ELEMENT_MAIN || element == kAudioObjectPropertyElementWildcard;
}

OSStatus gecko_get_base_class(const GeckoPropCtx* c, GeckoPropOut* o) {
    return gecko_out_u32(o, c->desc->base_class_id);
}
OSStatus gecko_get_class(const GeckoPropCtx* c, GeckoPropOut* o) {
    return gecko_out_u32(o, c->desc->class_id);
}
OSStatus gecko_get_owner(const GeckoPropCtx* c, GeckoPropOut* o) {
    return gecko_out_u32(o, c->desc->owner_id);
}

/** The entry for `address` on `desc`, or NULL if the object does not have it there. */
static const GeckoPropEntry* find_property(const GeckoObjectDesc* desc,
                                           const AudioObjectPropertyAddress* address) {
    if (!element_answers(address->mElement)) return NULL;
    const unsigned bit = scope_bit(address->mScope);
    for (size_t i = 0; i < desc->prop_count; i++) {
        const GeckoPropEntry* e = &desc->props[i];
        if (e->selector == address->mSelector) return (e->scopes & bit) ? e : NULL;
    }
    return NULL;
}

/** Common front half of every property call: validates and finds the entry. */
static OSStatus lookup(AudioServerPlugInDriverRef inDriver, AudioObjectID inObjectID,
                       const AudioObjectPropertyAddress* inAddress, const GeckoPropEntry** out,
                       const GeckoObjectDesc** out_desc) {
    if (!gecko_is_our_driver(inDriver)) return kAudioHardwareBadObjectError;
    if (!inAddress) return kAudioHardwareIllegalOperationError;
    const GeckoObjectDesc* desc = find_object(inObjectID);
    if (!desc) return kAudioHardwareBadObjectError;
    *out_desc = desc;
    *out = find_property(desc, inAddress);
    return *out ? kAudioHardwareNoError : kAudioHardwareUnknownPropertyError;
}

Boolean gecko_HasProperty(AudioServerPlugInDriverRef inDriver, AudioObjectID inObjectID,
                          pid_t inClientProcessID, const AudioObjectPropertyAddress* inAddress) {
    (void)inClientProcessID;
    const GeckoPropEntry* e = NULL;
    const GeckoObjectDesc* d = NULL;
    return lookup(inDriver, inObjectID, inAddress, &e, &d) == kAudioHardwareNoError ? 1 : 0;
}

OSStatus gecko_IsPropertySettable(AudioServerPlugInDriverRef inDriver, AudioObjectID inObjectID,
                                  pid_t inClientProcessID,
                                  const AudioObjectPropertyAddress* inAddress,
                                  Boolean* outIsSettable) {
    (void)inClientProcessID;
    const GeckoPropEntry* e = NULL;
    const GeckoObjectDesc* d = NULL;
    OSStatus st = lookup(inDriver, inObjectID, inAddress, &e, &d);
    if (st != kAudioHardwareNoError) return st;
    if (!outIsSettable) return kAudioHardwareIllegalOperationError;
    *outIsSettable = e->set ? 1 : 0;
    return kAudioHardwareNoError;
}

OSStatus gecko_GetPropertyDataSize(AudioServerPlugInDriverRef inDriver, AudioObjectID inObjectID,
                                   pid_t inClientProcessID,
                                   const AudioObjectPropertyAddress* inAddress,
                                   UInt32 inQualifierDataSize, const void* inQualifierData,
                                   UInt32* outDataSize) {
    (void)inClientProcessID;
    const GeckoPropEntry* e = NULL;
    const GeckoObjectDesc* d = NULL;
    OSStatus st = lookup(inDriver, inObjectID, inAddress, &e, &d);
    if (st != kAudioHardwareNoError) return st;
    if (!outDataSize) return kAudioHardwareIllegalOperationError;
    const GeckoPropCtx ctx = {inObjectID, d, inAddress, inQualifierDataSize, inQualifierData};
    GeckoPropOut out = {NULL, 0, 0};
    st = e->get(&ctx, &out);
    if (st == kAudioHardwareNoError) *outDataSize = out.size;
    return st;
}

OSStatus gecko_GetPropertyData(AudioServerPlugInDriverRef inDriver, AudioObjectID inObjectID,
                               pid_t inClientProcessID,
                               const AudioObjectPropertyAddress* inAddress,
                               UInt32 inQualifierDataSize, const void* inQualifierData,
                               UInt32 inDataSize, UInt32* outDataSize, void* outData) {
    (void)inClientProcessID;
    const GeckoPropEntry* e = NULL;
    const GeckoObjectDesc* d = NULL;
    OSStatus st = lookup(inDriver, inObjectID, inAddress, &e, &d);
    if (st != kAudioHardwareNoError) return st;
    if (!outDataSize || !outData) return kAudioHardwareIllegalOperationError;
    const GeckoPropCtx ctx = {inObjectID, d, inAddress, inQualifierDataSize, inQualifierData};
    GeckoPropOut out = {outData, inDataSize, 0};
    st = e->get(&ctx, &out);
    if (st == kAudioHardwareNoError) *outDataSize = out.size;
    return st;
}

/** SetPropertyData: the entry's setter; read-only properties answer
 *  kAudioHardwareUnsupportedOperationError. Setters check the size exactly
 *  (kAudioHardwareBadPropertySizeError) and the value. Sample rate and stream
 *  formats change only through RequestDeviceConfigurationChange; volume and
 *  mute change at once and are notified. */
OSStatus gecko_SetPropertyData(AudioServerPlugInDriverRef inDriver, AudioObjectID inObjectID,
                               pid_t inClientProcessID,
                               const AudioObjectPropertyAddress* inAddress,
                               UInt32 inQualifierDataSize, const void* inQualifierData,
                               UInt32 inDataSize, const void* inData) {
    (void)inClientProcessID;
    const GeckoPropEntry* e = NULL;
    const GeckoObjectDesc* d = NULL;
    OSStatus st = lookup(inDriver, inObjectID, inAddress, &e, &d);
    if (st != kAudioHardwareNoError) return st;
    if (!inData) return kAudioHardwareIllegalOperationError;
    if (!e->set) return kAudioHardwareUnsupportedOperationError;
    const GeckoPropCtx ctx = {inObjectID, d, inAddress, inQualifierDataSize, inQualifierData};
    return e->set(&ctx, inData, inDataSize);
}

OSStatus gecko_in_value(const void* data, UInt32 size, void* value, UInt32 want) {
    if (size != want) return kAudioHardwareBadPropertySizeError;
    memcpy(value, data, want);
    return kAudioHardwareNoError;
}

bool gecko_is_supported_rate(Float64 rate) {
    for (UInt32 i = 0; i < kGeckoSampleRateCount; i++)
        if (kGeckoSampleRates[i] == rate) return true;
    return false;
}

/** The change action is the new rate in whole Hz (every listed rate is an integer),
 *  as in Apple's NullAudio sample; PerformDeviceConfigurationChange validates it. */
OSStatus gecko_request_sample_rate(Float64 rate) {
    if (!gecko_is_supported_rate(rate)) return kAudioHardwareIllegalOperationError;
    if (rate == gecko_current_sample_rate()) return kAudioHardwareNoError;
    return gecko_request_config_change((UInt64)rate);
}

/* ---- value writers ------------------------------------------------------------ */

OSStatus gecko_out_value(GeckoPropOut* out, const void* value, UInt32 size) {
    out->size = size;
    if (!out->data) return kAudioHardwareNoError;
    if (out->capacity < size) {
        out->size = 0;
        return kAudioHardwareBadPropertySizeError;
    }
    memcpy(out->data, value, size);
    return kAudioHardwareNoError;
}

OSStatus gecko_out_array(GeckoPropOut* out, const void* items, UInt32 item_size, UInt32 count) {
    if (!out->data) {
        out->size = item_size * count;
        return kAudioHardwareNoError;
    }
    UInt32 fit = item_size ? out->capacity / item_size : 0;
    if (fit > count) fit = count;
    out->size = fit * item_size;
    if (out->size) memcpy(out->data, items, out->size);
    return kAudioHardwareNoError;
}

OSStatus gecko_out_cfstring(GeckoPropOut* out, const char* utf8) {
    out->size = (UInt32)sizeof(CFStringRef);
    if (!out->data) return kAudioHardwareNoError;
    if (out->capacity < sizeof(CFStringRef)) {
        out->size = 0;
        return kAudioHardwareBadPropertySizeError;
    }
    CFStringRef s = CFStringCreateWithCString(kCFAllocatorDefault, utf8, kCFStringEncodingUTF8);
    if (!s) {
        out->size = 0;
        return kAudioHardwareUnspecifiedError;
    }
    memcpy(out->data, &s, sizeof s);
    return kAudioHardwareNoError;
}

bool gecko_owned_object_matches(const GeckoPropCtx* ctx, const GeckoObjectDesc* desc) {
    UInt32 n = ctx->qualifier_size / (UInt32)sizeof(AudioClassID);
    if (n == 0 || !ctx->qualifier) return true;
    for (UInt32 i = 0; i < n; i++) {
        AudioClassID c;
        memcpy(&c, (const char*)ctx->qualifier + i * sizeof c, sizeof c);
        if (c == desc->class_id || c == desc->base_class_id ||
            (desc->family_id != 0 && c == desc->family_id) || c == kAudioObjectClassID ||
            c == kAudioObjectClassIDWildcard)
            return true;
    }
    return false;
}

AudioStreamBasicDescription gecko_stream_format(Float64 sample_rate) {
    AudioStreamBasicDescription f;
    memset(&f, 0, sizeof f);
    f.mSampleRate = sample_rate;
    f.mFormatID = kAudioFormatLinearPCM;
    f.mFormatFlags = kAudioFormatFlagIsFloat | kAudioFormatFlagsNativeEndian | kAudioFormatFlagIsPacked;
    f.mBytesPerPacket = GECKO_CHANNELS * (UInt32)sizeof(Float32);
    f.mFramesPerPacket = 1;
    f.mBytesPerFrame = GECKO_CHANNELS * (UInt32)sizeof(Float32);
    f.mChannelsPerFrame = GECKO_CHANNELS;
    f.mBitsPerChannel = 32;
    return f;
}

Float64 gecko_current_sample_rate(void) {
    Float64 r;
    pthread_mutex_lock(&gGeckoDriver.mutex);
    r = gGeckoDriver.sample_rate;
    pthread_mutex_unlock(&gGeckoDriver.mutex);
    return r;
}
