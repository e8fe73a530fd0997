/*
 * gecko_volume.c — the volume control's curve: the scalar (0..1, what a
 * volume slider shows) is linear in dB from GECKO_VOLUME_MIN_DB to
 * GECKO_VOLUME_MAX_DB (kAudioLevelControlPropertyDecibelRange), the bottom is
 * silence and the top exactly unity gain. Pure functions, any thread.
 */
#include "gecko_driver.h"

#include <math.h>

Float32 gecko_volume_clamp(Float32 v) {
    return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
}

Float32 gecko_volume_scalar_to_db(Float32 scalar) {
    return GECKO_VOLUME_MIN_DB + (GECKO_VOLUME_MAX_DB - GECKO_VOLUME_MIN_DB) * gecko_volume_clamp(scalar);
}

Float32 gecko_volume_db_to_scalar(Float32 db) {
    return gecko_volume_clamp((db - GECKO_VOLUME_MIN_DB) / (GECKO_VOLUME_MAX_DB - GECKO_VOLUME_MIN_DB));
}

Float32 gecko_volume_scalar_to_gain(Float32 scalar) {
    scalar = gecko_volume_clamp(scalar);
    if (scalar <= 0.0f) return 0.0f; /* the bottom of the range is silence */
    if (scalar >= 1.0f) return 1.0f; /* exactly unity at the top */
    return powf(10.0f, gecko_volume_scalar_to_db(scalar) / 20.0f);
}
