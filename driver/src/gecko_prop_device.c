/*
 * gecko_prop_device.c — the AudioDevice "Gecko Sink" (ID 2): output only,
 * owned by the plug-in, owns one output stream, no controls yet.
 */
#include "gecko_properties.h"

static bool scope_is_input(const GeckoPropCtx* c) {
    return c->address->mScope == kAudioObjectPropertyScopeInput;
}
/** Scopes in which the output stream is listed: global, output and wildcard. */
static bool scope_has_output_stream(const GeckoPropCtx* c) {
    AudioObjectPropertyScope s = c->address->mScope;
    return s == kAudioObjectPropertyScopeGlobal || s == kAudioObjectPropertyScopeOutput ||
           s == kAudioObjectPropertyScopeWildcard;
}

static OSStatus get_base_class(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    return gecko_out_u32(o, kAudioObjectClassID);
}
static OSStatus get_class(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    return gecko_out_u32(o, kAudioDeviceClassID);
}
static OSStatus get_owner(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    return gecko_out_u32(o, GECKO_OBJECT_PLUGIN);
}
static OSStatus get_name(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    return gecko_out_cfstring(o, GECKO_DEVICE_NAME);
}
static OSStatus get_manufacturer(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    return gecko_out_cfstring(o, GECKO_MANUFACTURER);
}
static OSStatus get_device_uid(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    return gecko_out_cfstring(o, GECKO_DEVICE_UID);
}
static OSStatus get_model_uid(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    return gecko_out_cfstring(o, GECKO_DEVICE_MODEL_UID);
}
static OSStatus get_transport_type(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    return gecko_out_u32(o, kAudioDeviceTransportTypeVirtual);
}
/** RelatedDevices: the device itself. */
static OSStatus get_related_devices(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    const AudioObjectID ids[1] = {GECKO_OBJECT_DEVICE};
    return gecko_out_array(o, ids, sizeof ids[0], 1);
}
static OSStatus get_clock_domain(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    return gecko_out_u32(o, GECKO_CLOCK_DOMAIN);
}
static OSStatus get_is_alive(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    return gecko_out_u32(o, 1);
}
/** DeviceIsRunning: 1 between the first StartIO and the last StopIO. */
static OSStatus get_is_running(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    return gecko_out_u32(o, __atomic_load_n(&gGeckoDriver.io_client_count, __ATOMIC_ACQUIRE) ? 1 : 0);
}
/** CanBeDefault(System)Device: yes as an output device; never as an input device. */
static OSStatus get_can_be_default(const GeckoPropCtx* c, GeckoPropOut* o) {
    return gecko_out_u32(o, scope_is_input(c) ? 0 : 1);
}
static OSStatus get_latency(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    return gecko_out_u32(o, GECKO_LATENCY_FRAMES);
}
/** Streams: the output stream in global/output scope; none in input/play-through. */
static OSStatus get_streams(const GeckoPropCtx* c, GeckoPropOut* o) {
    const AudioObjectID ids[1] = {GECKO_OBJECT_STREAM_OUTPUT};
    return gecko_out_array(o, ids, sizeof ids[0], scope_has_output_stream(c) ? 1u : 0u);
}
/** ControlList: no controls yet (volume and mute are a later issue). */
static OSStatus get_control_list(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    return gecko_out_array(o, NULL, sizeof(AudioObjectID), 0);
}
static OSStatus get_safety_offset(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    return gecko_out_u32(o, GECKO_SAFETY_OFFSET_FRAMES);
}
static OSStatus get_nominal_sample_rate(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    return gecko_out_f64(o, gecko_current_sample_rate());
}
/** AvailableNominalSampleRates: one single-rate AudioValueRange per rate (Hz). */
static OSStatus get_available_rates(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    AudioValueRange r[8];
    for (UInt32 i = 0; i < kGeckoSampleRateCount; i++) {
        r[i].mMinimum = kGeckoSampleRates[i];
        r[i].mMaximum = kGeckoSampleRates[i];
    }
    return gecko_out_array(o, r, sizeof r[0], kGeckoSampleRateCount);
}
static OSStatus get_is_hidden(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    return gecko_out_u32(o, 0);
}
static OSStatus get_zts_period(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    return gecko_out_u32(o, GECKO_ZTS_PERIOD_FRAMES);
}
/** PreferredChannelsForStereo: channels 1 and 2 (1 and 1 on a mono build). */
static OSStatus get_stereo_channels(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    const UInt32 ch[2] = {1, GECKO_CHANNELS >= 2 ? 2 : 1};
    return gecko_out_value(o, ch, sizeof ch);
}
/** OwnedObjects: the stream (in the scopes that list it), filtered by class. */
static OSStatus get_owned_objects(const GeckoPropCtx* c, GeckoPropOut* o) {
    const AudioObjectID ids[1] = {GECKO_OBJECT_STREAM_OUTPUT};
    UInt32 n = (scope_has_output_stream(c) && gecko_owned_object_matches(c, &kGeckoStreamObject)) ? 1u : 0u;
    return gecko_out_array(o, ids, sizeof ids[0], n);
}

static const GeckoPropEntry kDeviceProps[] = {
    {kAudioObjectPropertyBaseClass, GECKO_SCOPE_ANY, false, get_base_class},
    {kAudioObjectPropertyClass, GECKO_SCOPE_ANY, false, get_class},
    {kAudioObjectPropertyOwner, GECKO_SCOPE_ANY, false, get_owner},
    {kAudioObjectPropertyName, GECKO_SCOPE_ANY, false, get_name},
    {kAudioObjectPropertyManufacturer, GECKO_SCOPE_ANY, false, get_manufacturer},
    {kAudioObjectPropertyOwnedObjects, GECKO_SCOPE_ANY, false, get_owned_objects},
    {kAudioDevicePropertyDeviceUID, GECKO_SCOPE_ANY, false, get_device_uid},
    {kAudioDevicePropertyModelUID, GECKO_SCOPE_ANY, false, get_model_uid},
    {kAudioDevicePropertyTransportType, GECKO_SCOPE_ANY, false, get_transport_type},
    {kAudioDevicePropertyRelatedDevices, GECKO_SCOPE_ANY, false, get_related_devices},
    {kAudioDevicePropertyClockDomain, GECKO_SCOPE_ANY, false, get_clock_domain},
    {kAudioDevicePropertyDeviceIsAlive, GECKO_SCOPE_ANY, false, get_is_alive},
    {kAudioDevicePropertyDeviceIsRunning, GECKO_SCOPE_ANY, false, get_is_running},
    {kAudioDevicePropertyDeviceCanBeDefaultDevice, GECKO_SCOPE_ANY, false, get_can_be_default},
    {kAudioDevicePropertyDeviceCanBeDefaultSystemDevice, GECKO_SCOPE_ANY, false, get_can_be_default},
    {kAudioDevicePropertyLatency, GECKO_SCOPE_IO, false, get_latency},
    {kAudioDevicePropertyStreams, GECKO_SCOPE_ANY, false, get_streams},
    {kAudioObjectPropertyControlList, GECKO_SCOPE_ANY, false, get_control_list},
    {kAudioDevicePropertySafetyOffset, GECKO_SCOPE_IO, false, get_safety_offset},
    {kAudioDevicePropertyNominalSampleRate, GECKO_SCOPE_ANY, false, get_nominal_sample_rate},
    {kAudioDevicePropertyAvailableNominalSampleRates, GECKO_SCOPE_ANY, false, get_available_rates},
    {kAudioDevicePropertyIsHidden, GECKO_SCOPE_ANY, false, get_is_hidden},
    {kAudioDevicePropertyZeroTimeStampPeriod, GECKO_SCOPE_ANY, false, get_zts_period},
    {kAudioDevicePropertyPreferredChannelsForStereo, GECKO_SCOPE_IO, false, get_stereo_channels},
};

const GeckoObjectDesc kGeckoDeviceObject = {
    GECKO_OBJECT_DEVICE, kAudioDeviceClassID, kAudioObjectClassID,
    kDeviceProps, sizeof kDeviceProps / sizeof kDeviceProps[0],
};
