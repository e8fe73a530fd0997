/*
 * zero_timestamp_race.c — GetZeroTimeStamp from two IO threads at once, under
 * ThreadSanitizer (scripts/tsan-zero-timestamp.sh builds it with the driver's
 * sources, all with -fsanitize=thread, and runs it).
 *
 * The HAL calls GetZeroTimeStamp from two threads when a device is used both
 * directly and inside an aggregate device (two IO threads; DESIGN.md §7).
 * The driver must stay lock-free there and still return consistent stamps.
 *
 * The harness plays coreaudiod through the driver's real entry points only:
 * the factory named in driver/Info.plist (GeckoAudioDevice_Create) →
 * QueryInterface → Initialize (with a host interface of its own) → StartIO,
 * then for RUN_MS milliseconds:
 *   - IO thread A: GetZeroTimeStamp, then Begin/Do/End(WriteMix) of 512 frames;
 *   - IO thread B: GetZeroTimeStamp only (the second IO context);
 *   - property thread: GetPropertyData of nominal sample rate, device is
 *     running, latency, stream is active, and (when the driver has them)
 *     clock is stable, clock algorithm and the 'gkrs' ring state;
 *   - main thread: the engine. Its reader segment is attached before StartIO
 *     and it alternates its clock request between +STEER_PPM and 0 ppm, so the
 *     clock is steered (re-anchored) while both IO threads read it.
 * then StopIO. The host clock (GeckoSim_Configure) runs SPEEDUP times faster
 * than real time so that some thousand zero-timestamp periods pass.
 *
 * Checks (any failure: exit 1): every call returns noErr; every stamp has
 * seed GECKO_ZTS_SEED(1), a sample time that is a whole multiple of the
 * zero-timestamp period, and a host time not in the future; per thread, sample
 * and host times never go back and change together; across both threads a
 * period's host time is always the same; host times follow the sample times
 * within the steering bound (|rate - nominal| <= STEER_PPM); the clock was
 * really steered and both threads saw many periods. ThreadSanitizer reports
 * any data race (the script makes that exit 66).
 */
#define _GNU_SOURCE
#include "gecko_coreaudio_compat.h"
#include "gecko_shm_abi.h"
#include "gecko_sim.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/** The factory (Info.plist CFPlugInFactories → GeckoAudioDevice_Create). */
void* GeckoAudioDevice_Create(CFAllocatorRef allocator, CFUUIDRef requestedTypeUUID);

#define DEV ((AudioObjectID)2)    /* the device: the plug-in's DeviceList, checked below */
#define STREAM ((AudioObjectID)3) /* its output stream: the device's Streams, checked below */
#define PERIOD 16384.0            /* frames, read back from ZeroTimeStampPeriod below */
#define RATE 48000.0              /* Hz, the default nominal rate, checked below */
#define CHANNELS 2u
#define FRAMES 512u               /* WriteMix buffer, frames */
#define SPEEDUP 1000u             /* host clock ticks 1000 ns per real ns */
#define TICKS_PER_SECOND 1e9      /* what the driver is told the clock ticks at */
#define STEER_PPM 300.0           /* the engine's request when it steers */
#define RUN_MS 400
/* Selectors spelled here so the harness also builds against a driver tree whose
 * compat header predates them: AudioServerPlugIn.h's ClockIsStable and
 * ClockAlgorithm, Gecko's ring-state property (driver/src/gecko_driver.h). */
#define SEL_CLOCK_IS_STABLE GECKO_FOURCC('c', 's', 't', 'b')
#define SEL_CLOCK_ALGORITHM GECKO_FOURCC('c', 'l', 'o', 'k')
#define SEL_RING_STATE GECKO_FOURCC('g', 'k', 'r', 's')
#define MAX_RECORDS 65536

static AudioServerPlugInDriverRef gDrv;
#define VT (*gDrv)

/* ---- the host clock and the host interface ------------------------------------------ */

static struct timespec gT0;

/** Host ticks: SPEEDUP x real nanoseconds since start, plus an offset. */
static uint64_t fast_clock(void* ctx) {
    (void)ctx;
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    const uint64_t ns = (uint64_t)(t.tv_sec - gT0.tv_sec) * 1000000000u + (uint64_t)t.tv_nsec -
                        (uint64_t)gT0.tv_nsec;
    return 1000000000000ull + ns * SPEEDUP;
}

static OSStatus host_properties_changed(AudioServerPlugInHostRef h, AudioObjectID o, UInt32 n,
                                        const AudioObjectPropertyAddress* a) {
    (void)h, (void)o, (void)n, (void)a;
    return 0;
}
static OSStatus host_copy_from_storage(AudioServerPlugInHostRef h, CFStringRef k, CFPropertyListRef* out) {
    (void)h, (void)k;
    *out = NULL;
    return kAudioHardwareUnknownPropertyError; /* nothing stored */
}
static OSStatus host_write_to_storage(AudioServerPlugInHostRef h, CFStringRef k, CFPropertyListRef v) {
    (void)h, (void)k, (void)v;
    return 0;
}
static OSStatus host_delete_from_storage(AudioServerPlugInHostRef h, CFStringRef k) {
    (void)h, (void)k;
    return 0;
}
static OSStatus host_request_config_change(AudioServerPlugInHostRef h, AudioObjectID d, UInt64 a, void* i) {
    (void)h, (void)d, (void)a, (void)i;
    return 0;
}
static const AudioServerPlugInHostInterface gHost = {
    host_properties_changed, host_copy_from_storage, host_write_to_storage,
    host_delete_from_storage, host_request_config_change,
};

/* ---- checks ------------------------------------------------------------------------------ */

static int gFailures; /* atomic */

#define CHECK(cond, ...)                                                              \
    do {                                                                              \
        if (!(cond)) {                                                                \
            if (__atomic_fetch_add(&gFailures, 1, __ATOMIC_RELAXED) < 20) {           \
                fprintf(stderr, "zero_timestamp_race: check failed (%s:%d): ", __FILE__, \
                        __LINE__);                                                    \
                fprintf(stderr, __VA_ARGS__);                                         \
                fputc('\n', stderr);                                                  \
            }                                                                         \
        }                                                                             \
    } while (0)

static uint32_t gStop; /* atomic */

static bool stopping(void) { return __atomic_load_n(&gStop, __ATOMIC_ACQUIRE) != 0; }

static OSStatus get(AudioObjectID obj, AudioObjectPropertySelector sel, AudioObjectPropertyScope scope,
                    void* out, UInt32 size) {
    const AudioObjectPropertyAddress a = {sel, scope, 0};
    UInt32 got = 0;
    OSStatus st = VT->GetPropertyData(gDrv, obj, 0, &a, 0, NULL, size, &got, out);
    if (st == 0 && got != size) return kAudioHardwareBadPropertySizeError;
    return st;
}

static bool has(AudioObjectID obj, AudioObjectPropertySelector sel) {
    const AudioObjectPropertyAddress a = {sel, kAudioObjectPropertyScopeGlobal, 0};
    return VT->HasProperty(gDrv, obj, 0, &a) != 0;
}

/* ---- IO threads ---------------------------------------------------------------------------- */

/** One recorded stamp (a change seen by one thread). */
typedef struct Stamp {
    uint64_t period;    /* sample time / PERIOD */
    uint64_t host_time; /* host ticks */
} Stamp;

typedef struct IoThread {
    const char* name;
    bool write_mix;   /* thread A: also Begin/Do/End(WriteMix) */
    Stamp* stamps;    /* MAX_RECORDS */
    size_t count;     /* stamps recorded */
    uint64_t calls;   /* GetZeroTimeStamp calls */
} IoThread;

static void* io_main(void* arg) {
    IoThread* t = arg;
    float buf[FRAMES * CHANNELS];
    for (size_t i = 0; i < FRAMES * CHANNELS; i++) buf[i] = (float)(i % 97) * 0.01f;
    double prev_sample = -1.0;
    uint64_t prev_host = 0;
    uint64_t mix_time = 0; /* frames */
    while (!stopping()) {
        Float64 sample = -1.0;
        UInt64 host = 0, seed = 0;
        OSStatus st = VT->GetZeroTimeStamp(gDrv, DEV, 0, &sample, &host, &seed);
        const uint64_t now = fast_clock(NULL);
        t->calls++;
        CHECK(st == 0, "%s: GetZeroTimeStamp returned %d", t->name, (int)st);
        CHECK(seed == 1, "%s: seed %llu, want 1 (no rate change happened)", t->name,
              (unsigned long long)seed);
        CHECK(sample >= 0.0 && sample < 9.0e15 && fmod(sample, PERIOD) == 0.0,
              "%s: sample time %.17g is not a multiple of the period %.0f", t->name, sample, PERIOD);
        CHECK(host <= now, "%s: host time %llu is in the future (now %llu)", t->name,
              (unsigned long long)host, (unsigned long long)now);
        CHECK(sample >= prev_sample && host >= prev_host,
              "%s: went back: (%.0f, %llu) after (%.0f, %llu)", t->name, sample,
              (unsigned long long)host, prev_sample, (unsigned long long)prev_host);
        CHECK((sample == prev_sample) == (host == prev_host),
              "%s: sample and host time changed separately: (%.0f, %llu) after (%.0f, %llu)", t->name,
              sample, (unsigned long long)host, prev_sample, (unsigned long long)prev_host);
        if (sample != prev_sample && t->count < MAX_RECORDS)
            t->stamps[t->count++] = (Stamp){(uint64_t)(sample / PERIOD), host};
        prev_sample = sample;
        prev_host = host;
        if (t->write_mix) {
            AudioServerPlugInIOCycleInfo info;
            memset(&info, 0, sizeof info);
            info.mIOCycleCounter = t->calls;
            info.mNominalIOBufferFrameSize = FRAMES;
            info.mCurrentTime.mHostTime = now;
            info.mCurrentTime.mFlags = kAudioTimeStampHostTimeValid;
            info.mOutputTime.mSampleTime = (double)mix_time;
            info.mOutputTime.mFlags = kAudioTimeStampSampleTimeValid;
            const UInt32 op = kAudioServerPlugInIOOperationWriteMix;
            st = VT->BeginIOOperation(gDrv, DEV, 0, op, FRAMES, &info);
            CHECK(st == 0, "BeginIOOperation returned %d", (int)st);
            st = VT->DoIOOperation(gDrv, DEV, STREAM, 0, op, FRAMES, &info, buf, NULL);
            CHECK(st == 0, "DoIOOperation(WriteMix) returned %d", (int)st);
            st = VT->EndIOOperation(gDrv, DEV, 0, op, FRAMES, &info);
            CHECK(st == 0, "EndIOOperation returned %d", (int)st);
            mix_time += FRAMES;
        }
    }
    return NULL;
}

/* ---- property thread --------------------------------------------------------------------------- */

typedef struct PropThread {
    bool clock_props; /* the driver has ClockIsStable / ClockAlgorithm */
    bool ring_state;  /* the driver has the 'gkrs' ring-state property */
    uint64_t rounds;
    uint64_t stable_seen[2]; /* ClockIsStable answered 0 / 1 */
} PropThread;

static void* prop_main(void* arg) {
    PropThread* p = arg;
    while (!stopping()) {
        Float64 rate = 0.0;
        UInt32 u = 99;
        CHECK(get(DEV, kAudioDevicePropertyNominalSampleRate, kAudioObjectPropertyScopeGlobal, &rate,
                  sizeof rate) == 0 && rate == RATE, "nominal sample rate %.1f", rate);
        CHECK(get(DEV, kAudioDevicePropertyDeviceIsRunning, kAudioObjectPropertyScopeGlobal, &u,
                  sizeof u) == 0 && u == 1, "device is running: %u", u);
        CHECK(get(DEV, kAudioDevicePropertyLatency, kAudioObjectPropertyScopeOutput, &u, sizeof u) == 0 &&
                  u == 0, "latency %u", u);
        CHECK(get(STREAM, kAudioStreamPropertyIsActive, kAudioObjectPropertyScopeGlobal, &u, sizeof u) == 0 &&
                  u == 1, "stream is active: %u", u);
        if (p->clock_props) {
            u = 99;
            CHECK(get(DEV, SEL_CLOCK_IS_STABLE, kAudioObjectPropertyScopeGlobal, &u,
                      sizeof u) == 0 && u <= 1, "clock is stable: %u", u);
            if (u <= 1) p->stable_seen[u]++;
            CHECK(get(DEV, SEL_CLOCK_ALGORITHM, kAudioObjectPropertyScopeGlobal, &u,
                      sizeof u) == 0, "clock algorithm");
        }
        if (p->ring_state) {
            CFStringRef s = NULL;
            CHECK(get(DEV, SEL_RING_STATE, kAudioObjectPropertyScopeGlobal, &s, sizeof s) == 0 && s,
                  "ring state");
            char text[1024];
            if (s) {
                CHECK(CFStringGetCString(s, text, sizeof text, kCFStringEncodingUTF8) &&
                          strstr(text, "\nmapped=1\n") && strstr(text, "\nio_running=1\n") &&
                          strstr(text, "\nreader_attached="),
                      "ring state text");
                CFRelease(s);
            }
        }
        p->rounds++;
    }
    return NULL;
}

/* ---- the engine's reader segment ------------------------------------------------------------------ */

/** Creates and maps the reader segment `name`.rd, attached to the writer's generation. */
static GeckoShmReaderSegment* engine_attach(const char* name) {
    char rd_name[64];
    snprintf(rd_name, sizeof rd_name, "%s%s", name, GECKO_SHM_READER_SUFFIX);
    shm_unlink(rd_name);
    int fd = shm_open(rd_name, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0 || ftruncate(fd, GECKO_SHM_READER_SEGMENT_SIZE) != 0) {
        fprintf(stderr, "zero_timestamp_race: reader segment %s: %s\n", rd_name, strerror(errno));
        exit(1);
    }
    GeckoShmReaderSegment* rd =
        mmap(NULL, GECKO_SHM_READER_SEGMENT_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    int wfd = shm_open(name, O_RDONLY, 0);
    const GeckoShmWriterSegment* wr =
        wfd < 0 ? MAP_FAILED : mmap(NULL, sizeof *wr, PROT_READ, MAP_SHARED, wfd, 0);
    if (wfd >= 0) close(wfd);
    if (rd == MAP_FAILED || wr == MAP_FAILED) {
        fprintf(stderr, "zero_timestamp_race: cannot map the segments of %s\n", name);
        exit(1);
    }
    const uint64_t generation = __atomic_load_n(&wr->state.generation, __ATOMIC_ACQUIRE);
    CHECK(generation != 0, "the writer segment has no generation");
    rd->header.version = GECKO_SHM_VERSION;
    rd->header.segment_size = GECKO_SHM_READER_SEGMENT_SIZE;
    rd->header.reader_pid = (uint32_t)getpid();
    rd->header.instance_id = 0x6765636b6f747361ull; /* any non-zero id */
    __atomic_store_n(&rd->counters.read_count, __atomic_load_n(&wr->counters.write_count, __ATOMIC_ACQUIRE),
                     __ATOMIC_RELAXED);
    __atomic_store_n(&rd->counters.attached_generation, generation, __ATOMIC_RELEASE);
    __atomic_store_n(&rd->header.magic, GECKO_SHM_READER_MAGIC, __ATOMIC_RELEASE);
    munmap((void*)wr, sizeof *wr);
    return rd;
}

static void engine_request(GeckoShmReaderSegment* rd, double ppm) {
    uint64_t bits;
    memcpy(&bits, &ppm, sizeof bits);
    __atomic_store_n((uint64_t*)(void*)&rd->control.clock_adjust_ppm, bits, __ATOMIC_RELAXED);
}

/* ---- main -------------------------------------------------------------------------------------- */

static int cmp_stamp(const void* a, const void* b) {
    const Stamp* x = a;
    const Stamp* y = b;
    if (x->period != y->period) return x->period < y->period ? -1 : 1;
    return x->host_time < y->host_time ? -1 : (x->host_time > y->host_time);
}

int main(void) {
    clock_gettime(CLOCK_MONOTONIC, &gT0);
    char name[32];
    snprintf(name, sizeof name, "/gecko-tsan-%d", (int)getpid());

    /* The simulated host's configuration: our shm name, the fast clock. */
    GeckoSimConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.struct_size = sizeof cfg;
    snprintf(cfg.shm_name, sizeof cfg.shm_name, "%s", name);
    cfg.host_clock = fast_clock;
    cfg.host_ticks_per_second = TICKS_PER_SECOND;
    if (GeckoSim_Configure(&cfg) != 0) {
        fprintf(stderr, "zero_timestamp_race: GeckoSim_Configure refused\n");
        return 1;
    }

    /* Factory → QueryInterface → Initialize, as coreaudiod. */
    void* factory = GeckoAudioDevice_Create(NULL, kAudioServerPlugInTypeUUID);
    if (!factory) {
        fprintf(stderr, "zero_timestamp_race: the factory returned NULL\n");
        return 1;
    }
    AudioServerPlugInDriverInterface** unknown = factory;
    const CFUUIDBytes driver_iid = {0xEE, 0xA5, 0x77, 0x3D, 0xCC, 0x43, 0x49, 0xF1,
                                    0x8E, 0x00, 0x8F, 0x96, 0xE7, 0xD2, 0x3B, 0x17};
    void* iface = NULL;
    if ((*unknown)->QueryInterface(factory, driver_iid, &iface) != S_OK || !iface) {
        fprintf(stderr, "zero_timestamp_race: QueryInterface failed\n");
        return 1;
    }
    gDrv = iface;
    if (VT->Initialize(gDrv, &gHost) != 0) {
        fprintf(stderr, "zero_timestamp_race: Initialize failed\n");
        return 1;
    }

    /* Discovery: the object IDs and constants this harness assumes. */
    AudioObjectID ids[4] = {0};
    const AudioObjectPropertyAddress dl = {kAudioPlugInPropertyDeviceList, kAudioObjectPropertyScopeGlobal, 0};
    UInt32 got = 0;
    CHECK(VT->GetPropertyData(gDrv, kAudioObjectPlugInObject, 0, &dl, 0, NULL, sizeof ids, &got, ids) == 0 &&
              got == sizeof(AudioObjectID) && ids[0] == DEV, "device list");
    const AudioObjectPropertyAddress sl = {kAudioDevicePropertyStreams, kAudioObjectPropertyScopeOutput, 0};
    CHECK(VT->GetPropertyData(gDrv, DEV, 0, &sl, 0, NULL, sizeof ids, &got, ids) == 0 &&
              got == sizeof(AudioObjectID) && ids[0] == STREAM, "stream list");
    UInt32 period = 0;
    Float64 rate = 0;
    CHECK(get(DEV, kAudioDevicePropertyZeroTimeStampPeriod, kAudioObjectPropertyScopeGlobal, &period,
              sizeof period) == 0 && period == (UInt32)PERIOD, "zero-timestamp period %u", period);
    CHECK(get(DEV, kAudioDevicePropertyNominalSampleRate, kAudioObjectPropertyScopeGlobal, &rate,
              sizeof rate) == 0 && rate == RATE, "nominal rate %.1f", rate);
    if (__atomic_load_n(&gFailures, __ATOMIC_RELAXED)) return 1;

    PropThread props = {
        .clock_props = has(DEV, SEL_CLOCK_IS_STABLE) && has(DEV, SEL_CLOCK_ALGORITHM),
        .ring_state = has(DEV, SEL_RING_STATE),
    };

    /* The engine attaches, then IO starts (StartIO maps an existing reader segment at once). */
    GeckoShmReaderSegment* rd = engine_attach(name);
    CHECK(VT->StartIO(gDrv, DEV, 0) == 0, "StartIO");

    IoThread a = {.name = "IO thread A", .write_mix = true, .stamps = calloc(MAX_RECORDS, sizeof(Stamp))};
    IoThread b = {.name = "IO thread B", .write_mix = false, .stamps = calloc(MAX_RECORDS, sizeof(Stamp))};
    if (!a.stamps || !b.stamps) return 1;
    pthread_t ta, tb, tp;
    if (pthread_create(&ta, NULL, io_main, &a) || pthread_create(&tb, NULL, io_main, &b) ||
        pthread_create(&tp, NULL, prop_main, &props)) {
        fprintf(stderr, "zero_timestamp_race: pthread_create failed\n");
        return 1;
    }
    /* The engine: steer for 40 ms, nominal for 40 ms, and so on. */
    for (int ms = 0; ms < RUN_MS; ms += 40) {
        engine_request(rd, (ms / 40) % 2 == 0 ? STEER_PPM : 0.0);
        const struct timespec t = {0, 40 * 1000 * 1000};
        nanosleep(&t, NULL);
    }
    __atomic_store_n(&gStop, 1u, __ATOMIC_RELEASE);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_join(tp, NULL);
    CHECK(VT->StopIO(gDrv, DEV, 0) == 0, "StopIO");

    /* Across threads: one host time per period; host times follow sample times. */
    const size_t n = a.count + b.count;
    Stamp* all = calloc(n ? n : 1, sizeof *all);
    if (!all) return 1;
    memcpy(all, a.stamps, a.count * sizeof *all);
    memcpy(all + a.count, b.stamps, b.count * sizeof *all);
    qsort(all, n, sizeof *all, cmp_stamp);
    const double nominal = PERIOD * TICKS_PER_SECOND / RATE; /* host ticks per period */
    const double tol = STEER_PPM * 1e-6;
    size_t periods = 0, steered = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && all[i].period == all[i - 1].period) {
            CHECK(all[i].host_time == all[i - 1].host_time,
                  "period %llu has two host times: %llu and %llu", (unsigned long long)all[i].period,
                  (unsigned long long)all[i - 1].host_time, (unsigned long long)all[i].host_time);
            continue;
        }
        periods++;
        if (i > 0 && all[i].period == all[i - 1].period + 1) {
            const double dt = (double)(all[i].host_time - all[i - 1].host_time);
            CHECK(dt >= nominal / (1.0 + tol) - 2.0 && dt <= nominal / (1.0 - tol) + 2.0,
                  "period %llu lasted %.0f host ticks (nominal %.0f, steering at most %.0f ppm)",
                  (unsigned long long)all[i].period, dt, nominal, STEER_PPM);
            if (fabs(dt - nominal) > nominal * 50e-6) steered++;
        }
    }
    CHECK(n > 0 && all[0].period <= 1, "the first stamp seen is period %llu",
          n ? (unsigned long long)all[0].period : 0ull);
    if (n > 0) {
        const Stamp* last = &all[n - 1];
        const double span = (double)(last->host_time - all[0].host_time);
        const double want = (double)(last->period - all[0].period) * nominal;
        CHECK(fabs(span - want) <= want * tol + 2.0, "host time %.0f ticks for %.0f nominal ticks", span, want);
    }
    fprintf(stderr,
            "zero_timestamp_race: %llu + %llu GetZeroTimeStamp calls, %zu periods (%zu + %zu seen by A + B), "
            "%zu steered; %llu property rounds (clock stable 0/1: %llu/%llu)\n",
            (unsigned long long)a.calls, (unsigned long long)b.calls, periods, a.count, b.count, steered,
            (unsigned long long)props.rounds, (unsigned long long)props.stable_seen[0],
            (unsigned long long)props.stable_seen[1]);
    /* The run must have exercised what it claims to. */
    CHECK(periods >= 100 && a.count >= 50 && b.count >= 50, "too few periods: %zu (A %zu, B %zu)",
          periods, a.count, b.count);
    CHECK(steered >= 5, "the clock was steered in only %zu periods", steered);
    CHECK(props.rounds >= 10, "only %llu property rounds", (unsigned long long)props.rounds);
    if (props.clock_props)
        CHECK(props.stable_seen[0] > 0 && props.stable_seen[1] > 0,
              "ClockIsStable never changed (0: %llu, 1: %llu)", (unsigned long long)props.stable_seen[0],
              (unsigned long long)props.stable_seen[1]);

    char rd_name[64];
    snprintf(rd_name, sizeof rd_name, "%s%s", name, GECKO_SHM_READER_SUFFIX);
    shm_unlink(rd_name);
    shm_unlink(name);
    free(all);
    free(a.stamps);
    free(b.stamps);
    const int failures = __atomic_load_n(&gFailures, __ATOMIC_RELAXED);
    if (failures) {
        fprintf(stderr, "zero_timestamp_race: %d check(s) failed\n", failures);
        return 1;
    }
    fprintf(stderr, "zero_timestamp_race: ok\n");
    return 0;
}
