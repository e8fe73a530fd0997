/*
 * gecko_prop_stream.c — the output AudioStream (ID 3), owned by the device:
 * float32, packed, native endian, GECKO_CHANNELS interleaved channels.
 */
#include "gecko_properties.h"

static OSStatus get_base_class(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    return gecko_out_u32(o, kAudioObjectClassID);
}
static OSStatus get_class(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    return gecko_out_u32(o, kAudioStreamClassID);
}
static OSStatus get_owner(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    return gecko_out_u32(o, GECKO_OBJECT_DEVICE);
}
static OSStatus get_is_active(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    return gecko_out_u32(o, 1);
}
/** Direction: 0 = output (AudioHardwareBase.h). */
static OSStatus get_direction(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    return gecko_out_u32(o, GECKO_STREAM_DIRECTION_OUTPUT);
}
static OSStatus get_terminal_type(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    return gecko_out_u32(o, kAudioStreamTerminalTypeLine);
}
/** StartingChannel: the stream's first channel is device channel 1. */
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
    {kAudioObjectPropertyBaseClass, GECKO_SCOPE_ANY, false, get_base_class},
    {kAudioObjectPropertyClass, GECKO_SCOPE_ANY, false, get_class},
    {kAudioObjectPropertyOwner, GECKO_SCOPE_ANY, false, get_owner},
    {kAudioStreamPropertyIsActive, GECKO_SCOPE_ANY, false, get_is_active},
    {kAudioStreamPropertyDirection, GECKO_SCOPE_ANY, false, get_direction},
    {kAudioStreamPropertyTerminalType, GECKO_SCOPE_ANY, false, get_terminal_type},
    {kAudioStreamPropertyStartingChannel, GECKO_SCOPE_ANY, false, get_starting_channel},
    {kAudioStreamPropertyLatency, GECKO_SCOPE_ANY, false, get_latency},
    {kAudioStreamPropertyVirtualFormat, GECKO_SCOPE_ANY, false, get_format},
    {kAudioStreamPropertyPhysicalFormat, GECKO_SCOPE_ANY, false, get_format},
    {kAudioStreamPropertyAvailableVirtualFormats, GECKO_SCOPE_ANY, false, get_available_formats},
    {kAudioStreamPropertyAvailablePhysicalFormats, GECKO_SCOPE_ANY, false, get_available_formats},
};

const GeckoObjectDesc kGeckoStreamObject = {
    GECKO_OBJECT_STREAM_OUTPUT, kAudioStreamClassID, kAudioObjectClassID,
    kStreamProps, sizeof kStreamProps / sizeof kStreamProps[0],
};
