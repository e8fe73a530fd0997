/*
 * gecko_properties.h — the property tables. Each object (plug-in, device,
 * stream) has one table in its own file listing exactly the properties it
 * has: selector, the scopes it answers in, whether it is settable, and a
 * getter. gecko_properties.c does the dispatch and the HAL's error rules.
 */
#ifndef GECKO_PROPERTIES_H
#define GECKO_PROPERTIES_H

#include "gecko_driver.h"

#include <stddef.h>

struct GeckoObjectDesc;

/** One property request. */
typedef struct GeckoPropCtx {
    AudioObjectID object;
    const struct GeckoObjectDesc* desc; /* the object's description */
    const AudioObjectPropertyAddress* address;
    UInt32 qualifier_size; /* bytes */
    const void* qualifier; /* may be NULL */
} GeckoPropCtx;

/** Where a getter puts its value. data == NULL: size query only. */
typedef struct GeckoPropOut {
    void* data;      /* caller's buffer (any alignment), or NULL */
    UInt32 capacity; /* bytes available at data */
    UInt32 size;     /* out: bytes written (or needed, for a size query) */
} GeckoPropOut;

typedef OSStatus (*GeckoPropGetter)(const GeckoPropCtx* ctx, GeckoPropOut* out);
/** Sets a property from `size` bytes at `data` (non-NULL, any alignment). */
typedef OSStatus (*GeckoPropSetter)(const GeckoPropCtx* ctx, const void* data, UInt32 size);

/** Scope bits a property answers in (element: only the main element, 0). */
enum {
    GECKO_SCOPE_GLOBAL = 1u << 0,
    GECKO_SCOPE_INPUT = 1u << 1,
    GECKO_SCOPE_OUTPUT = 1u << 2,
    GECKO_SCOPE_PLAYTHROUGH = 1u << 3,
    GECKO_SCOPE_WILDCARD = 1u << 4,
    GECKO_SCOPE_ANY = 0x1Fu,
    /** Input or output only, as Apple's NullAudio sample answers latency,
     *  safety offset and preferred stereo channels. */
    GECKO_SCOPE_IO = GECKO_SCOPE_INPUT | GECKO_SCOPE_OUTPUT,
};

typedef struct GeckoPropEntry {
    AudioObjectPropertySelector selector;
    unsigned scopes;     /* GECKO_SCOPE_* bits */
    GeckoPropGetter get;
    GeckoPropSetter set; /* NULL: not settable */
} GeckoPropEntry;

typedef struct GeckoObjectDesc {
    AudioObjectID id;
    AudioClassID class_id;      /* kAudioObjectPropertyClass */
    AudioClassID base_class_id; /* kAudioObjectPropertyBaseClass */
    AudioClassID family_id;     /* a further ancestor class (kAudioControlClassID), or 0 */
    AudioObjectID owner_id;     /* kAudioObjectPropertyOwner (kAudioObjectUnknown for the plug-in) */
    const GeckoPropEntry* props;
    size_t prop_count;
} GeckoObjectDesc;

/** kAudioObjectPropertyBaseClass, kAudioObjectPropertyClass and
 *  kAudioObjectPropertyOwner, answered from the object's description
 *  (ctx->desc) for every object alike. */
OSStatus gecko_get_base_class(const GeckoPropCtx* ctx, GeckoPropOut* out);
OSStatus gecko_get_class(const GeckoPropCtx* ctx, GeckoPropOut* out);
OSStatus gecko_get_owner(const GeckoPropCtx* ctx, GeckoPropOut* out);

/** The table entries of the three properties above: first in every object's table. */
#define GECKO_OBJECT_IDENTITY_PROPS                                                        \
    {kAudioObjectPropertyBaseClass, GECKO_SCOPE_ANY, gecko_get_base_class, NULL},          \
        {kAudioObjectPropertyClass, GECKO_SCOPE_ANY, gecko_get_class, NULL},               \
        {kAudioObjectPropertyOwner, GECKO_SCOPE_ANY, gecko_get_owner, NULL}

extern const GeckoObjectDesc kGeckoPlugInObject;
extern const GeckoObjectDesc kGeckoDeviceObject;
extern const GeckoObjectDesc kGeckoStreamObject;
extern const GeckoObjectDesc kGeckoInputStreamObject;
extern const GeckoObjectDesc kGeckoVolumeControlObject;
extern const GeckoObjectDesc kGeckoMuteControlObject;

/* ---- value writers: never write past out->capacity ---------------------------- */

/** A fixed-size value (scalar or struct): kAudioHardwareBadPropertySizeError if it
 *  does not fit. */
OSStatus gecko_out_value(GeckoPropOut* out, const void* value, UInt32 size);
static inline OSStatus gecko_out_u32(GeckoPropOut* out, UInt32 v) {
    return gecko_out_value(out, &v, sizeof v);
}
static inline OSStatus gecko_out_f64(GeckoPropOut* out, Float64 v) {
    return gecko_out_value(out, &v, sizeof v);
}
/** An array: as many whole items as fit (the HAL convention); never an error. */
OSStatus gecko_out_array(GeckoPropOut* out, const void* items, UInt32 item_size, UInt32 count);
/** A CFString the caller releases, created from a UTF-8 C string. */
OSStatus gecko_out_cfstring(GeckoPropOut* out, const char* utf8);

/** The class and base-class filter of kAudioObjectPropertyOwnedObjects: true when
 *  `desc` passes the qualifier (an array of AudioClassIDs; empty = everything). */
bool gecko_owned_object_matches(const GeckoPropCtx* ctx, const GeckoObjectDesc* desc);

/** The stream's format at `sample_rate` Hz: float32, packed, native endian, interleaved. */
AudioStreamBasicDescription gecko_stream_format(Float64 sample_rate);

/** The device's current nominal sample rate (Hz). */
Float64 gecko_current_sample_rate(void);

/** true when `rate` (Hz) is one of kGeckoSampleRates. */
bool gecko_is_supported_rate(Float64 rate);

/** Reads a fixed-size input value for a setter: kAudioHardwareBadPropertySizeError
 *  unless `size` is exactly `want` bytes. */
OSStatus gecko_in_value(const void* data, UInt32 size, void* value, UInt32 want);

/** Asks the host to change the nominal rate to `rate` Hz (the config-change flow):
 *  kAudioHardwareIllegalOperationError for an unlisted rate, no-op if current. */
OSStatus gecko_request_sample_rate(Float64 rate);

#endif /* GECKO_PROPERTIES_H */
