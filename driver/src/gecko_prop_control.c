/*
 * gecko_prop_control.c — the device's two controls on the master (main)
 * element of the output scope, owned by the device:
 *   volume (ID 4): kAudioVolumeControlClassID, base kAudioLevelControlClassID;
 *   mute   (ID 5): kAudioMuteControlClassID, base kAudioBooleanControlClassID.
 *
 * Both change at once when set (no IO reconfiguration), are published to the
 * shm writer state (volume_scalar = the linear gain the engine applies, mute),
 * persisted with the host's WriteToStorage and announced with PropertiesChanged.
 * Volume curve: gecko_volume.c (GECKO_VOLUME_MIN_DB in gecko_identity.h).
 */
#include "gecko_properties.h"

#include <math.h>
#include <string.h>

/* ---- shared state changes -------------------------------------------------------- */

static const AudioObjectPropertyAddress kVolumeChanged[2] = {
    {kAudioLevelControlPropertyScalarValue, kAudioObjectPropertyScopeGlobal, GECKO_ELEMENT_MAIN},
    {kAudioLevelControlPropertyDecibelValue, kAudioObjectPropertyScopeGlobal, GECKO_ELEMENT_MAIN},
};
static const AudioObjectPropertyAddress kMuteChanged[1] = {
    {kAudioBooleanControlPropertyValue, kAudioObjectPropertyScopeGlobal, GECKO_ELEMENT_MAIN},
};

/** Stores and publishes the new state; returns true if it changed. */
static bool apply_controls(const Float32* scalar, const uint32_t* mute) {
    GeckoDriver* d = &gGeckoDriver;
    pthread_mutex_lock(&d->mutex);
    bool changed = false;
    if (scalar && d->volume_scalar != *scalar) {
        d->volume_scalar = *scalar;
        changed = true;
    }
    if (mute && d->mute != *mute) {
        d->mute = *mute;
        changed = true;
    }
    if (changed)
        gecko_shm_writer_publish_volume(&d->shm, gecko_volume_scalar_to_gain(d->volume_scalar),
                                        d->mute);
    pthread_mutex_unlock(&d->mutex);
    return changed;
}

static OSStatus set_volume_scalar_value(Float32 scalar) {
    if (!isfinite(scalar)) return kAudioHardwareIllegalOperationError;
    scalar = gecko_volume_clamp(scalar);
    if (apply_controls(&scalar, NULL)) {
        gecko_storage_write_number(GECKO_STORAGE_KEY_VOLUME, true, scalar);
        gecko_notify(GECKO_OBJECT_CONTROL_VOLUME, 2, kVolumeChanged);
    }
    return kAudioHardwareNoError;
}

static Float32 current_volume(void) {
    GeckoDriver* d = &gGeckoDriver;
    pthread_mutex_lock(&d->mutex);
    Float32 v = d->volume_scalar;
    pthread_mutex_unlock(&d->mutex);
    return v;
}

static uint32_t current_mute(void) {
    GeckoDriver* d = &gGeckoDriver;
    pthread_mutex_lock(&d->mutex);
    uint32_t v = d->mute;
    pthread_mutex_unlock(&d->mutex);
    return v;
}

/* ---- common control properties ------------------------------------------------------ */

/** OwnedObjects: a control owns nothing. */
static OSStatus get_owned_objects(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    return gecko_out_array(o, NULL, sizeof(AudioObjectID), 0);
}
/** ControlScope: the output scope (the device is output only). */
static OSStatus get_control_scope(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    return gecko_out_u32(o, kAudioObjectPropertyScopeOutput);
}
/** ControlElement: the main (master) element, 0. */
static OSStatus get_control_element(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    return gecko_out_u32(o, GECKO_ELEMENT_MAIN);
}

/* ---- volume ---------------------------------------------------------------------------- */

static OSStatus get_f32(GeckoPropOut* o, Float32 v) {
    return gecko_out_value(o, &v, sizeof v);
}
/** ScalarValue: Float32 in [0, 1]. */
static OSStatus get_scalar(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    return get_f32(o, current_volume());
}
static OSStatus set_scalar(const GeckoPropCtx* c, const void* data, UInt32 size) {
    (void)c;
    Float32 v;
    OSStatus st = gecko_in_value(data, size, &v, sizeof v);
    return st ? st : set_volume_scalar_value(v);
}
/** DecibelValue: Float32 dB in the DecibelRange. */
static OSStatus get_db(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    return get_f32(o, gecko_volume_scalar_to_db(current_volume()));
}
static OSStatus set_db(const GeckoPropCtx* c, const void* data, UInt32 size) {
    (void)c;
    Float32 v;
    OSStatus st = gecko_in_value(data, size, &v, sizeof v);
    if (st) return st;
    if (!isfinite(v)) return kAudioHardwareIllegalOperationError;
    return set_volume_scalar_value(gecko_volume_db_to_scalar(v));
}
/** DecibelRange: AudioValueRange (Float64 dB). */
static OSStatus get_db_range(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    const AudioValueRange r = {GECKO_VOLUME_MIN_DB, GECKO_VOLUME_MAX_DB};
    return gecko_out_value(o, &r, sizeof r);
}
/** The conversions take their Float32 input in the caller's buffer and replace it. */
static OSStatus convert_in_place(GeckoPropOut* o, Float32 (*f)(Float32)) {
    if (!o->data) return get_f32(o, 0.0f); /* size query */
    if (o->capacity < sizeof(Float32)) return kAudioHardwareBadPropertySizeError;
    Float32 v;
    memcpy(&v, o->data, sizeof v);
    if (!isfinite(v)) return kAudioHardwareIllegalOperationError;
    return get_f32(o, f(v));
}
static OSStatus get_scalar_to_db(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    return convert_in_place(o, gecko_volume_scalar_to_db);
}
static OSStatus get_db_to_scalar(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    return convert_in_place(o, gecko_volume_db_to_scalar);
}

static const GeckoPropEntry kVolumeProps[] = {
    GECKO_OBJECT_IDENTITY_PROPS,
    {kAudioObjectPropertyOwnedObjects, GECKO_SCOPE_ANY, get_owned_objects, NULL},
    {kAudioControlPropertyScope, GECKO_SCOPE_ANY, get_control_scope, NULL},
    {kAudioControlPropertyElement, GECKO_SCOPE_ANY, get_control_element, NULL},
    {kAudioLevelControlPropertyScalarValue, GECKO_SCOPE_ANY, get_scalar, set_scalar},
    {kAudioLevelControlPropertyDecibelValue, GECKO_SCOPE_ANY, get_db, set_db},
    {kAudioLevelControlPropertyDecibelRange, GECKO_SCOPE_ANY, get_db_range, NULL},
    {kAudioLevelControlPropertyConvertScalarToDecibels, GECKO_SCOPE_ANY, get_scalar_to_db, NULL},
    {kAudioLevelControlPropertyConvertDecibelsToScalar, GECKO_SCOPE_ANY, get_db_to_scalar, NULL},
};

const GeckoObjectDesc kGeckoVolumeControlObject = {
    GECKO_OBJECT_CONTROL_VOLUME, kAudioVolumeControlClassID, kAudioLevelControlClassID,
    kAudioControlClassID, GECKO_OBJECT_DEVICE, kVolumeProps, sizeof kVolumeProps / sizeof kVolumeProps[0],
};

/* ---- mute --------------------------------------------------------------------------------- */

/** BooleanControlValue: UInt32, 0 or 1 (any non-zero value sets 1). */
static OSStatus get_mute(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    return gecko_out_u32(o, current_mute());
}
static OSStatus set_mute(const GeckoPropCtx* c, const void* data, UInt32 size) {
    (void)c;
    UInt32 v;
    OSStatus st = gecko_in_value(data, size, &v, sizeof v);
    if (st) return st;
    const uint32_t m = v ? 1u : 0u;
    if (apply_controls(NULL, &m)) {
        gecko_storage_write_number(GECKO_STORAGE_KEY_MUTE, false, (double)m);
        gecko_notify(GECKO_OBJECT_CONTROL_MUTE, 1, kMuteChanged);
    }
    return kAudioHardwareNoError;
}

static const GeckoPropEntry kMuteProps[] = {
    GECKO_OBJECT_IDENTITY_PROPS,
    {kAudioObjectPropertyOwnedObjects, GECKO_SCOPE_ANY, get_owned_objects, NULL},
    {kAudioControlPropertyScope, GECKO_SCOPE_ANY, get_control_scope, NULL},
    {kAudioControlPropertyElement, GECKO_SCOPE_ANY, get_control_element, NULL},
    {kAudioBooleanControlPropertyValue, GECKO_SCOPE_ANY, get_mute, set_mute},
};

const GeckoObjectDesc kGeckoMuteControlObject = {
    GECKO_OBJECT_CONTROL_MUTE, kAudioMuteControlClassID, kAudioBooleanControlClassID,
    kAudioControlClassID, GECKO_OBJECT_DEVICE, kMuteProps, sizeof kMuteProps / sizeof kMuteProps[0],
};
