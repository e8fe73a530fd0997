/*
 * gecko_prop_stream.c — the device's two AudioStreams, owned by the device:
 * the output stream (ID 3, what apps play) and the input stream (ID 6, the
 * loopback: gecko_loopback.c). Both float32, packed, native endian,
 * GECKO_CHANNELS interleaved channels, at the device's one nominal rate.
 */
#include "gecko_properties.h"

/** OwnedObjects: a stream owns nothing. */
static OSStatus get_owned_objects(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    return gecko_out_array(o, NULL, sizeof(AudioObjectID), 0);
}
/** The stream's IsActive field: the output's or the input's. */
static uint32_t* is_active_field(const GeckoPropCtx* c) {
    GeckoDriver* d = &gGeckoDriver;
    return c->object == GECKO_OBJECT_STREAM_INPUT ? &d->input_stream_is_active : &d->stream_is_active;
}
/** IsActive: UInt32, 1 (active, the default) or 0. */
static OSStatus get_is_active(const GeckoPropCtx* c, GeckoPropOut* o) {
    GeckoDriver* d = &gGeckoDriver;
    pthread_mutex_lock(&d->mutex);
    const UInt32 v = *is_active_field(c);
    pthread_mutex_unlock(&d->mutex);
    return gecko_out_u32(o, v);
}
/** Setting IsActive (the HAL does, on streams): a UInt32, any non-zero value = 1;
 *  another size → kAudioHardwareBadPropertySizeError. Stored and answered back;
 *  it changes neither IO nor the device's structure (the stream keeps receiving
 *  WriteMix), so a change is announced with PropertiesChanged, as Apple's NullAudio
 *  does for it. */
static OSStatus set_is_active(const GeckoPropCtx* c, const void* data, UInt32 size) {
    UInt32 v;
    OSStatus st = gecko_in_value(data, size, &v, sizeof v);
    if (st) return st;
    GeckoDriver* d = &gGeckoDriver;
    pthread_mutex_lock(&d->mutex);
    uint32_t* field = is_active_field(c);
    const bool changed = *field != (v ? 1u : 0u);
    *field = v ? 1u : 0u;
    pthread_mutex_unlock(&d->mutex);
    if (changed) {
        static const AudioObjectPropertyAddress kChanged[1] = {
            {kAudioStreamPropertyIsActive, kAudioObjectPropertyScopeGlobal, GECKO_ELEMENT_MAIN}};
        gecko_notify(c->object, 1, kChanged);
    }
    return kAudioHardwareNoError;
}
/** Direction: 0 = output, 1 = input (AudioHardwareBase.h). */
static OSStatus get_direction(const GeckoPropCtx* c, GeckoPropOut* o) {
    return gecko_out_u32(o, c->object == GECKO_OBJECT_STREAM_INPUT ? GECKO_STREAM_DIRECTION_INPUT
                                                                     : GECKO_STREAM_DIRECTION_OUTPUT);
}
static OSStatus get_terminal_type(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    return gecko_out_u32(o, kAudioStreamTerminalTypeLine);
}
/** StartingChannel: each stream's first channel is channel 1 of its direction. */
static OSStatus get_starting_channel(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    return gecko_out_u32(o, 1);
}
static OSStatus get_latency(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    return gecko_out_u32(o, GECKO_LATENCY_FRAMES);
}
/** Virtual and physical format: the same ASBD at the current nominal rate. */
static OSStatus get_format(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    AudioStreamBasicDescription f = gecko_stream_format(gecko_current_sample_rate());
    return gecko_out_value(o, &f, sizeof f);
}
/** Setting the virtual or physical format: the ASBD must be ours (float32 packed,
 *  native endian, interleaved, GECKO_CHANNELS) at a listed rate, else
 *  kAudioDeviceUnsupportedFormatError; a new rate goes through the
 *  configuration-change flow, exactly as setting the device's nominal rate. */
static OSStatus set_format(const GeckoPropCtx* c, const void* data, UInt32 size) {
    (void)c;
    AudioStreamBasicDescription f;
    OSStatus st = gecko_in_value(data, size, &f, sizeof f);
    if (st) return st;
    if (!gecko_is_supported_rate(f.mSampleRate)) return kAudioDeviceUnsupportedFormatError;
    const AudioStreamBasicDescription want = gecko_stream_format(f.mSampleRate);
    if (f.mFormatID != want.mFormatID || f.mFormatFlags != want.mFormatFlags ||
        f.mBytesPerPacket != want.mBytesPerPacket || f.mFramesPerPacket != want.mFramesPerPacket ||
        f.mBytesPerFrame != want.mBytesPerFrame || f.mChannelsPerFrame != want.mChannelsPerFrame ||
        f.mBitsPerChannel != want.mBitsPerChannel)
        return kAudioDeviceUnsupportedFormatError;
    return gecko_request_sample_rate(f.mSampleRate);
}
/** Available formats: the ASBD at each listed rate, each with a single-rate range. */
static OSStatus get_available_formats(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    AudioStreamRangedDescription d[8];
    for (UInt32 i = 0; i < kGeckoSampleRateCount; i++) {
        d[i].mFormat = gecko_stream_format(kGeckoSampleRates[i]);
        d[i].mSampleRateRange.mMinimum = kGeckoSampleRates[i];
        d[i].mSampleRateRange.mMaximum = kGeckoSampleRates[i];
    }
    return gecko_out_array(o, d, sizeof d[0], kGeckoSampleRateCount);
}

static const GeckoPropEntry kStreamProps[] = {
    GECKO_OBJECT_IDENTITY_PROPS,
    {kAudioObjectPropertyOwnedObjects, GECKO_SCOPE_ANY, get_owned_objects, NULL},
    {kAudioStreamPropertyIsActive, GECKO_SCOPE_ANY, get_is_active, set_is_active},
    {kAudioStreamPropertyDirection, GECKO_SCOPE_ANY, get_direction, NULL},
    {kAudioStreamPropertyTerminalType, GECKO_SCOPE_ANY, get_terminal_type, NULL},
    {kAudioStreamPropertyStartingChannel, GECKO_SCOPE_ANY, get_starting_channel, NULL},
    {kAudioStreamPropertyLatency, GECKO_SCOPE_ANY, get_latency, NULL},
    {kAudioStreamPropertyVirtualFormat, GECKO_SCOPE_ANY, get_format, set_format},
    {kAudioStreamPropertyPhysicalFormat, GECKO_SCOPE_ANY, get_format, set_format},
    {kAudioStreamPropertyAvailableVirtualFormats, GECKO_SCOPE_ANY, get_available_formats, NULL},
    {kAudioStreamPropertyAvailablePhysicalFormats, GECKO_SCOPE_ANY, get_available_formats, NULL},
};

const GeckoObjectDesc kGeckoStreamObject = {
    GECKO_OBJECT_STREAM_OUTPUT, kAudioStreamClassID, kAudioObjectClassID, 0, GECKO_OBJECT_DEVICE,
    kStreamProps, sizeof kStreamProps / sizeof kStreamProps[0],
};

/** The input stream: the same properties (the getters look at the object ID). */
const GeckoObjectDesc kGeckoInputStreamObject = {
    GECKO_OBJECT_STREAM_INPUT, kAudioStreamClassID, kAudioObjectClassID, 0, GECKO_OBJECT_DEVICE,
    kStreamProps, sizeof kStreamProps / sizeof kStreamProps[0],
};
