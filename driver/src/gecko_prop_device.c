/*
 * gecko_prop_device.c — the AudioDevice "Gecko Sink" (ID 2), owned by the
 * plug-in: one output stream (what apps play), one input stream (the loopback
 * of what Gecko plays, gecko_loopback.c) and two output controls (volume, mute).
 * The nominal sample rate is settable through the configuration-change flow.
 */
#include "gecko_properties.h"

#include <string.h>

/** The device's controls, in ControlList / OwnedObjects order. */
static const GeckoObjectDesc* const kControls[2] = {&kGeckoVolumeControlObject,
                                                    &kGeckoMuteControlObject};

static bool scope_is_input(const GeckoPropCtx* c) {
    return c->address->mScope == kAudioObjectPropertyScopeInput;
}
/** Scopes in which the output stream is listed: global, output and wildcard. */
static bool scope_has_output_stream(const GeckoPropCtx* c) {
    AudioObjectPropertyScope s = c->address->mScope;
    return s == kAudioObjectPropertyScopeGlobal || s == kAudioObjectPropertyScopeOutput ||
           s == kAudioObjectPropertyScopeWildcard;
}
/** Scopes in which the input stream is listed: global, input and wildcard. */
static bool scope_has_input_stream(const GeckoPropCtx* c) {
    AudioObjectPropertyScope s = c->address->mScope;
    return s == kAudioObjectPropertyScopeGlobal || s == kAudioObjectPropertyScopeInput ||
           s == kAudioObjectPropertyScopeWildcard;
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
/** DeviceIsRunning: 1 between the first StartIO and the last StopIO.
 *  DeviceIsRunningSomewhere: the same (this host is the only one doing IO). */
static OSStatus get_is_running(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    return gecko_out_u32(o, __atomic_load_n(&gGeckoDriver.io_client_count, __ATOMIC_ACQUIRE) ? 1 : 0);
}
/** CanBeDefaultDevice: yes, as output and as input (a recording app that only
 *  records "the default input" can then record the loopback, once the user picks
 *  Gecko Sink as input in System Settings). */
static OSStatus get_can_be_default(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    return gecko_out_u32(o, 1);
}
/** CanBeDefaultSystemDevice (alerts and sound effects): output only. */
static OSStatus get_can_be_default_system(const GeckoPropCtx* c, GeckoPropOut* o) {
    return gecko_out_u32(o, scope_is_input(c) ? 0 : 1);
}
/** Latency: output scope, the driver's own (none) plus the engine's after the
 *  ring, so that latency + safety offset + stream latency cover what the engine
 *  holds and players keep lip-sync (AudioHardware.h, kAudioDevicePropertyLatency);
 *  input scope, the loopback tap's (gecko_loopback_latency_frames). Both change
 *  only through the configuration-change flow. */
static OSStatus get_latency(const GeckoPropCtx* c, GeckoPropOut* o) {
    if (scope_is_input(c))
        return gecko_out_u32(o, __atomic_load_n(&gGeckoDriver.input_latency_frames, __ATOMIC_RELAXED));
    return gecko_out_u32(o, GECKO_LATENCY_FRAMES +
                                __atomic_load_n(&gGeckoDriver.engine_latency_frames, __ATOMIC_RELAXED));
}
/** Streams: the output stream in global/output scope, the input stream in
 *  global/input scope (both in global and wildcard); none in play-through. */
static OSStatus get_streams(const GeckoPropCtx* c, GeckoPropOut* o) {
    AudioObjectID ids[2];
    UInt32 n = 0;
    if (scope_has_output_stream(c)) ids[n++] = GECKO_OBJECT_STREAM_OUTPUT;
    if (scope_has_input_stream(c)) ids[n++] = GECKO_OBJECT_STREAM_INPUT;
    return gecko_out_array(o, ids, sizeof ids[0], n);
}
/** ControlList: the volume and mute controls, in every scope (as Apple's NullAudio). */
static OSStatus get_control_list(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    const AudioObjectID ids[2] = {GECKO_OBJECT_CONTROL_VOLUME, GECKO_OBJECT_CONTROL_MUTE};
    return gecko_out_array(o, ids, sizeof ids[0], 2);
}
static OSStatus get_safety_offset(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    return gecko_out_u32(o, GECKO_SAFETY_OFFSET_FRAMES);
}
static OSStatus get_nominal_sample_rate(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    return gecko_out_f64(o, gecko_current_sample_rate());
}
/** Setting the rate (Float64 Hz, one of the listed rates) only requests the change;
 *  the host performs it with IO stopped (PerformDeviceConfigurationChange). */
static OSStatus set_nominal_sample_rate(const GeckoPropCtx* c, const void* data, UInt32 size) {
    (void)c;
    Float64 rate;
    OSStatus st = gecko_in_value(data, size, &rate, sizeof rate);
    return st ? st : gecko_request_sample_rate(rate);
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
/** PreferredChannelLayout: one description per channel (AudioChannelLayout, variable
 *  size): mono for 1 channel; else Left, Right, Center, LFE, ... (labels 1..8 in order,
 *  as Apple's NullAudio), and Discrete_N beyond 8 channels. */
static OSStatus get_channel_layout(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    enum { HEAD = offsetof(AudioChannelLayout, mChannelDescriptions) };
    unsigned char buf[HEAD + GECKO_CHANNELS * sizeof(AudioChannelDescription)];
    memset(buf, 0, sizeof buf);
    AudioChannelLayout head;
    memset(&head, 0, sizeof head);
    head.mChannelLayoutTag = kAudioChannelLayoutTag_UseChannelDescriptions;
    head.mNumberChannelDescriptions = GECKO_CHANNELS;
    memcpy(buf, &head, HEAD);
    for (UInt32 i = 0; i < GECKO_CHANNELS; i++) {
        AudioChannelDescription d;
        memset(&d, 0, sizeof d);
        if (GECKO_CHANNELS == 1)
            d.mChannelLabel = kAudioChannelLabel_Mono;
        else if (i < 8)
            d.mChannelLabel = kAudioChannelLabel_Left + i;
        else
            d.mChannelLabel = kAudioChannelLabel_Discrete_0 | i;
        memcpy(buf + HEAD + i * sizeof d, &d, sizeof d);
    }
    return gecko_out_value(o, buf, (UInt32)sizeof buf);
}
/** ConfigurationApplication: Audio MIDI Setup's bundle ID (a CFString). */
static OSStatus get_config_app(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    return gecko_out_cfstring(o, GECKO_CONFIG_APP_BUNDLE_ID);
}
/** ClockIsStable (AudioServerPlugIn.h: non-zero when "the device's clock runs at or
 *  very near the nominal rate with only small variations"): 1 while the clock runs
 *  at nominal, 0 while the engine steers it (clock_adjust_ppm != 0, up to
 *  +-GECKO_SHM_MAX_CLOCK_ADJUST_PPM, re-anchored at period boundaries). */
static OSStatus get_clock_is_stable(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    return gecko_out_u32(o, gecko_clock_adjust_ppm(&gGeckoDriver) == 0.0 ? 1u : 0u);
}
/** ClockAlgorithm: kAudioDeviceClockAlgorithmRaw (AudioServerPlugIn.h: "the Host will
 *  not apply any filtering to the time stamps returned from GetZeroTimeStamp()").
 *  The stamps are not measurements of a hardware clock with jitter to smooth: each
 *  is computed from the host clock as anchor host time + periods x ticks per frame
 *  (gecko_zts_host_time), exactly on the line of the current rate. An IIR filter
 *  (kAudioDeviceClockAlgorithmSimpleIIR, the default for devices without this
 *  property) would have no noise to remove and would only lag behind the rate
 *  steps of clock steering. */
static OSStatus get_clock_algorithm(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    return gecko_out_u32(o, kAudioDeviceClockAlgorithmRaw);
}
/** CustomPropertyInfoList: Gecko's one custom property, the ring state (a CFString,
 *  no qualifier; data types from AudioServerPlugIn.h). */
static OSStatus get_custom_property_info(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    const AudioServerPlugInCustomPropertyInfo info[1] = {
        {GECKO_PROPERTY_RING_STATE, kAudioServerPlugInCustomPropertyDataTypeCFString,
         kAudioServerPlugInCustomPropertyDataTypeNone}};
    return gecko_out_array(o, info, sizeof info[0], 1);
}
/** GECKO_PROPERTY_RING_STATE ('gkrs'): the writer side of the shm ring as text (a
 *  CFString the caller releases; see gecko_shm_writer_format_state). Control path:
 *  the writer's control fields are read under the driver mutex, its counters with
 *  relaxed atomic loads. */
static OSStatus get_ring_state(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    if (!o->data) return gecko_out_cfstring(o, ""); /* size query: a CFStringRef */
    GeckoDriver* d = &gGeckoDriver;
    char text[GECKO_SHM_STATE_TEXT_MAX];
    const bool io_running = __atomic_load_n(&d->io_client_count, __ATOMIC_ACQUIRE) != 0;
    pthread_mutex_lock(&d->mutex);
    gecko_shm_writer_format_state(&d->shm, io_running, text, sizeof text);
    pthread_mutex_unlock(&d->mutex);
    return gecko_out_cfstring(o, text);
}
/** OwnedObjects: the output stream and the two controls (in the scopes that list
 *  them: global, output, wildcard), the input stream (global, input, wildcard),
 *  filtered by the class qualifier. */
static OSStatus get_owned_objects(const GeckoPropCtx* c, GeckoPropOut* o) {
    AudioObjectID ids[4];
    UInt32 n = 0;
    if (scope_has_output_stream(c)) {
        if (gecko_owned_object_matches(c, &kGeckoStreamObject)) ids[n++] = GECKO_OBJECT_STREAM_OUTPUT;
    }
    if (scope_has_input_stream(c)) {
        if (gecko_owned_object_matches(c, &kGeckoInputStreamObject)) ids[n++] = GECKO_OBJECT_STREAM_INPUT;
    }
    if (scope_has_output_stream(c)) {
        for (size_t i = 0; i < 2; i++)
            if (gecko_owned_object_matches(c, kControls[i])) ids[n++] = kControls[i]->id;
    }
    return gecko_out_array(o, ids, sizeof ids[0], n);
}

static const GeckoPropEntry kDeviceProps[] = {
    GECKO_OBJECT_IDENTITY_PROPS,
    {kAudioObjectPropertyName, GECKO_SCOPE_ANY, get_name, NULL},
    {kAudioObjectPropertyManufacturer, GECKO_SCOPE_ANY, get_manufacturer, NULL},
    {kAudioObjectPropertyOwnedObjects, GECKO_SCOPE_ANY, get_owned_objects, NULL},
    {kAudioDevicePropertyDeviceUID, GECKO_SCOPE_ANY, get_device_uid, NULL},
    {kAudioDevicePropertyModelUID, GECKO_SCOPE_ANY, get_model_uid, NULL},
    {kAudioDevicePropertyTransportType, GECKO_SCOPE_ANY, get_transport_type, NULL},
    {kAudioDevicePropertyRelatedDevices, GECKO_SCOPE_ANY, get_related_devices, NULL},
    {kAudioDevicePropertyClockDomain, GECKO_SCOPE_ANY, get_clock_domain, NULL},
    {kAudioDevicePropertyDeviceIsAlive, GECKO_SCOPE_ANY, get_is_alive, NULL},
    {kAudioDevicePropertyDeviceIsRunning, GECKO_SCOPE_ANY, get_is_running, NULL},
    {kAudioDevicePropertyDeviceCanBeDefaultDevice, GECKO_SCOPE_ANY, get_can_be_default, NULL},
    {kAudioDevicePropertyDeviceCanBeDefaultSystemDevice, GECKO_SCOPE_ANY, get_can_be_default_system, NULL},
    {kAudioDevicePropertyLatency, GECKO_SCOPE_IO, get_latency, NULL},
    {kAudioDevicePropertyStreams, GECKO_SCOPE_ANY, get_streams, NULL},
    {kAudioObjectPropertyControlList, GECKO_SCOPE_ANY, get_control_list, NULL},
    {kAudioDevicePropertySafetyOffset, GECKO_SCOPE_IO, get_safety_offset, NULL},
    {kAudioDevicePropertyNominalSampleRate, GECKO_SCOPE_ANY, get_nominal_sample_rate, set_nominal_sample_rate},
    {kAudioDevicePropertyAvailableNominalSampleRates, GECKO_SCOPE_ANY, get_available_rates, NULL},
    {kAudioDevicePropertyIsHidden, GECKO_SCOPE_ANY, get_is_hidden, NULL},
    {kAudioDevicePropertyZeroTimeStampPeriod, GECKO_SCOPE_ANY, get_zts_period, NULL},
    {kAudioDevicePropertyPreferredChannelsForStereo, GECKO_SCOPE_IO, get_stereo_channels, NULL},
    {kAudioDevicePropertyPreferredChannelLayout, GECKO_SCOPE_IO, get_channel_layout, NULL},
    {kAudioDevicePropertyDeviceIsRunningSomewhere, GECKO_SCOPE_ANY, get_is_running, NULL},
    {kAudioDevicePropertyConfigurationApplication, GECKO_SCOPE_ANY, get_config_app, NULL},
    {kAudioDevicePropertyClockIsStable, GECKO_SCOPE_ANY, get_clock_is_stable, NULL},
    {kAudioDevicePropertyClockAlgorithm, GECKO_SCOPE_ANY, get_clock_algorithm, NULL},
    {kAudioObjectPropertyCustomPropertyInfoList, GECKO_SCOPE_ANY, get_custom_property_info, NULL},
    {GECKO_PROPERTY_RING_STATE, GECKO_SCOPE_GLOBAL | GECKO_SCOPE_WILDCARD, get_ring_state, NULL},
};

const GeckoObjectDesc kGeckoDeviceObject = {
    GECKO_OBJECT_DEVICE, kAudioDeviceClassID, kAudioObjectClassID, 0, GECKO_OBJECT_PLUGIN,
    kDeviceProps, sizeof kDeviceProps / sizeof kDeviceProps[0],
};
