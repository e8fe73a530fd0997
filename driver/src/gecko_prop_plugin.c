/*
 * gecko_prop_plugin.c — the AudioPlugIn object (kAudioObjectPlugInObject = 1).
 * Class kAudioPlugInClassID, base kAudioObjectClassID, owned by nobody
 * (kAudioObjectUnknown), owns the one device.
 */
#include "gecko_properties.h"

#include <string.h>

static OSStatus get_manufacturer(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    return gecko_out_cfstring(o, GECKO_MANUFACTURER);
}
/** OwnedObjects: the device, filtered by the class qualifier. */
static OSStatus get_owned_objects(const GeckoPropCtx* c, GeckoPropOut* o) {
    const AudioObjectID ids[1] = {GECKO_OBJECT_DEVICE};
    UInt32 n = gecko_owned_object_matches(c, &kGeckoDeviceObject) ? 1u : 0u;
    return gecko_out_array(o, ids, sizeof ids[0], n);
}
static OSStatus get_device_list(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    const AudioObjectID ids[1] = {GECKO_OBJECT_DEVICE};
    return gecko_out_array(o, ids, sizeof ids[0], 1);
}
/** TranslateUIDToDevice: the qualifier is a CFStringRef UID; answers the device's ID
 *  or kAudioObjectUnknown (not an error) for any other UID. */
static OSStatus get_translate_uid(const GeckoPropCtx* c, GeckoPropOut* o) {
    if (!o->data) return gecko_out_u32(o, kAudioObjectUnknown); /* size query */
    if (c->qualifier_size != sizeof(CFStringRef) || !c->qualifier)
        return kAudioHardwareBadPropertySizeError;
    CFStringRef uid;
    memcpy(&uid, c->qualifier, sizeof uid);
    AudioObjectID found = kAudioObjectUnknown;
    char buf[128];
    if (uid && CFGetTypeID(uid) == CFStringGetTypeID() &&
        CFStringGetCString(uid, buf, (CFIndex)sizeof buf, kCFStringEncodingUTF8) &&
        strcmp(buf, GECKO_DEVICE_UID) == 0)
        found = GECKO_OBJECT_DEVICE;
    return gecko_out_u32(o, found);
}
/** ResourceBundle: path relative to the plug-in bundle; "" = the bundle itself. */
static OSStatus get_resource_bundle(const GeckoPropCtx* c, GeckoPropOut* o) {
    (void)c;
    return gecko_out_cfstring(o, GECKO_RESOURCE_BUNDLE);
}

static const GeckoPropEntry kPlugInProps[] = {
    GECKO_OBJECT_IDENTITY_PROPS,
    {kAudioObjectPropertyManufacturer, GECKO_SCOPE_ANY, get_manufacturer, NULL},
    {kAudioObjectPropertyOwnedObjects, GECKO_SCOPE_ANY, get_owned_objects, NULL},
    {kAudioPlugInPropertyDeviceList, GECKO_SCOPE_ANY, get_device_list, NULL},
    {kAudioPlugInPropertyTranslateUIDToDevice, GECKO_SCOPE_ANY, get_translate_uid, NULL},
    {kAudioPlugInPropertyResourceBundle, GECKO_SCOPE_ANY, get_resource_bundle, NULL},
};

const GeckoObjectDesc kGeckoPlugInObject = {
    GECKO_OBJECT_PLUGIN, kAudioPlugInClassID, kAudioObjectClassID, 0, kAudioObjectUnknown,
    kPlugInProps, sizeof kPlugInProps / sizeof kPlugInProps[0],
};
