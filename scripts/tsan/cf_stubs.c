/*
 * cf_stubs.c — the few CoreFoundation functions the Gecko driver calls, for
 * the ThreadSanitizer harness (zero_timestamp_race.c). On macOS they come
 * from CoreFoundation.framework; in the simulated host (crates/gecko-simhost)
 * from cf.rs, exported by the executable. Here: tiny C versions, enough for
 * the driver's factory, QueryInterface, Initialize and its CFString/CFNumber
 * properties. Declarations: driver/include/gecko_coreaudio_compat.h.
 *
 * Objects are heap blocks with a type ID and an atomic retain count; constant
 * UUIDs (CFUUIDGetConstantUUIDWithBytes) are interned and never freed, as in
 * CoreFoundation. Thread-safe: the interning table has its own mutex, counts
 * are atomic.
 */
#define _GNU_SOURCE
#include "gecko_coreaudio_compat.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/** Type IDs (arbitrary, distinct, non-zero). */
enum { TYPE_STRING = 7, TYPE_UUID = 29, TYPE_NUMBER = 22 };

typedef struct Obj {
    CFTypeID type;
    long refs;          /* atomic; < 0 = immortal */
    CFUUIDBytes uuid;   /* TYPE_UUID */
    CFNumberType ntype; /* TYPE_NUMBER: kCFNumberSInt32Type or kCFNumberFloat32Type/64 */
    double number;      /* TYPE_NUMBER */
    char* text;         /* TYPE_STRING: UTF-8, NUL-terminated */
} Obj;

/** Live (not yet freed) objects, for the harness's leak check. */
long gTsanCfLive = 0;

static Obj* obj_new(CFTypeID type) {
    Obj* o = calloc(1, sizeof *o);
    if (!o) abort();
    o->type = type;
    o->refs = 1;
    __atomic_add_fetch(&gTsanCfLive, 1, __ATOMIC_RELAXED);
    return o;
}

CFTypeRef CFRetain(CFTypeRef cf) {
    Obj* o = (Obj*)cf;
    if (o && __atomic_load_n(&o->refs, __ATOMIC_RELAXED) >= 0)
        __atomic_add_fetch(&o->refs, 1, __ATOMIC_RELAXED);
    return cf;
}

void CFRelease(CFTypeRef cf) {
    Obj* o = (Obj*)cf;
    if (!o) abort(); /* CFRelease(NULL) crashes in CoreFoundation too */
    if (__atomic_load_n(&o->refs, __ATOMIC_RELAXED) < 0) return;
    if (__atomic_sub_fetch(&o->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        free(o->text);
        free(o);
        __atomic_sub_fetch(&gTsanCfLive, 1, __ATOMIC_RELAXED);
    }
}

CFTypeID CFGetTypeID(CFTypeRef cf) { return cf ? ((const Obj*)cf)->type : 0; }
CFTypeID CFStringGetTypeID(void) { return TYPE_STRING; }
CFTypeID CFUUIDGetTypeID(void) { return TYPE_UUID; }
CFTypeID CFNumberGetTypeID(void) { return TYPE_NUMBER; }

Boolean CFEqual(CFTypeRef a, CFTypeRef b) {
    const Obj* x = a;
    const Obj* y = b;
    if (x == y) return 1;
    if (!x || !y || x->type != y->type) return 0;
    switch (x->type) {
    case TYPE_UUID: return memcmp(&x->uuid, &y->uuid, sizeof x->uuid) == 0;
    case TYPE_STRING: return strcmp(x->text, y->text) == 0;
    case TYPE_NUMBER: return x->number == y->number;
    default: return 0;
    }
}

static pthread_mutex_t gInternMutex = PTHREAD_MUTEX_INITIALIZER;
static Obj* gInterned[16];

CFUUIDRef CFUUIDGetConstantUUIDWithBytes(CFAllocatorRef alloc, UInt8 b0, UInt8 b1, UInt8 b2,
                                         UInt8 b3, UInt8 b4, UInt8 b5, UInt8 b6, UInt8 b7,
                                         UInt8 b8, UInt8 b9, UInt8 b10, UInt8 b11, UInt8 b12,
                                         UInt8 b13, UInt8 b14, UInt8 b15) {
    (void)alloc;
    const CFUUIDBytes u = {b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15};
    pthread_mutex_lock(&gInternMutex);
    Obj* found = NULL;
    size_t i = 0;
    for (; i < sizeof gInterned / sizeof gInterned[0] && gInterned[i]; i++)
        if (memcmp(&gInterned[i]->uuid, &u, sizeof u) == 0) found = gInterned[i];
    if (!found) {
        if (i == sizeof gInterned / sizeof gInterned[0]) abort();
        found = obj_new(TYPE_UUID);
        __atomic_sub_fetch(&gTsanCfLive, 1, __ATOMIC_RELAXED); /* immortal: not counted */
        found->refs = -1;
        found->uuid = u;
        gInterned[i] = found;
    }
    pthread_mutex_unlock(&gInternMutex);
    return (CFUUIDRef)found;
}

CFStringRef CFStringCreateWithCString(CFAllocatorRef alloc, const char* cStr, CFStringEncoding enc) {
    (void)alloc;
    if (!cStr || enc != kCFStringEncodingUTF8) return NULL;
    Obj* o = obj_new(TYPE_STRING);
    o->text = strdup(cStr);
    if (!o->text) abort();
    return (CFStringRef)o;
}

Boolean CFStringGetCString(CFStringRef s, char* buffer, CFIndex size, CFStringEncoding enc) {
    const Obj* o = (const Obj*)s;
    if (!o || o->type != TYPE_STRING || enc != kCFStringEncodingUTF8 || size <= 0) return 0;
    const size_t n = strlen(o->text);
    if (n + 1 > (size_t)size) return 0;
    memcpy(buffer, o->text, n + 1);
    return 1;
}

CFNumberRef CFNumberCreate(CFAllocatorRef alloc, CFNumberType type, const void* value) {
    (void)alloc;
    Obj* o = obj_new(TYPE_NUMBER);
    o->ntype = type;
    if (type == kCFNumberSInt32Type) {
        SInt32 v;
        memcpy(&v, value, sizeof v);
        o->number = v;
    } else if (type == kCFNumberFloat32Type) {
        Float32 v;
        memcpy(&v, value, sizeof v);
        o->number = v;
    } else {
        Float64 v;
        memcpy(&v, value, sizeof v);
        o->number = v;
    }
    return (CFNumberRef)o;
}

Boolean CFNumberGetValue(CFNumberRef n, CFNumberType type, void* value) {
    const Obj* o = (const Obj*)n;
    if (!o || o->type != TYPE_NUMBER) return 0;
    if (type == kCFNumberSInt32Type) {
        const SInt32 v = (SInt32)o->number;
        memcpy(value, &v, sizeof v);
        return (double)v == o->number;
    }
    if (type == kCFNumberFloat32Type) {
        const Float32 v = (Float32)o->number;
        memcpy(value, &v, sizeof v);
        return 1;
    }
    memcpy(value, &o->number, sizeof o->number);
    return 1;
}

/* Declared by the compat header; not called by the driver today. Defined so a
 * future call links (and shows up in a TSan run) rather than failing oddly. */
CFUUIDRef CFUUIDCreateFromUUIDBytes(CFAllocatorRef alloc, CFUUIDBytes bytes) {
    (void)alloc;
    Obj* o = obj_new(TYPE_UUID);
    o->uuid = bytes;
    return (CFUUIDRef)o;
}

CFUUIDBytes CFUUIDGetUUIDBytes(CFUUIDRef uuid) { return ((const Obj*)uuid)->uuid; }

CFStringRef __CFStringMakeConstantString(const char* cStr) {
    Obj* o = (Obj*)CFStringCreateWithCString(NULL, cStr, kCFStringEncodingUTF8);
    __atomic_sub_fetch(&gTsanCfLive, 1, __ATOMIC_RELAXED); /* immortal: not counted */
    o->refs = -1;
    return (CFStringRef)o;
}
