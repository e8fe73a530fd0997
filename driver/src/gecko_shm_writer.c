/*
 * gecko_shm_writer.c — the driver side of the Gecko shm ring (protocol v1).
 * See gecko_shm_writer.h for the threading rules and gecko_shm_abi.h for the
 * layout and the memory orderings of each field.
 */
#define _GNU_SOURCE
#include "gecko_shm_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* Logging lives in gecko_log.c; declared here to keep this file free of CoreAudio types. */
void gecko_log(int priority, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- atomic helpers on plain ABI fields ------------------------------------ */

#define LOAD_RELAXED(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define LOAD_ACQUIRE(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE_RELAXED(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define STORE_RELEASE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

/** Stores a double/float field with a relaxed atomic store of its bit pattern. */
static inline void store_f64(double* p, double v) {
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    __atomic_store_n((uint64_t*)(void*)p, bits, __ATOMIC_RELAXED);
}
static inline void store_f32(float* p, float v) {
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    __atomic_store_n((uint32_t*)(void*)p, bits, __ATOMIC_RELAXED);
}

/** Segment size in bytes for a format. */
static size_t segment_bytes(uint32_t channels, uint32_t capacity_frames) {
    return (size_t)GECKO_SHM_WRITER_HEADER_SIZE +
           (size_t)capacity_frames * (size_t)channels * sizeof(float);
}

void gecko_shm_writer_init(GeckoShmWriter* w, const char* name, uint32_t channels,
                           uint32_t capacity_frames) {
    snprintf(w->name, sizeof w->name, "%s", name);
    snprintf(w->reader_name, sizeof w->reader_name, "%s%s", name, GECKO_SHM_READER_SUFFIX);
    snprintf(w->tap_name, sizeof w->tap_name, "%s%s", name, GECKO_SHM_LOOPBACK_SUFFIX);
    w->channels = channels;
    w->capacity_frames = capacity_frames;
}

/* ---- seqlock (writer side) ---------------------------------------------------
 * begin: seq even -> odd (CAS, so the IO thread and the control path never
 * write at the same time), then a release fence so no field store becomes
 * visible before the odd seq; fields are written with relaxed atomic stores;
 * end: store-release seq + 1 (even). This is the standard C11 seqlock writer;
 * gecko_shm_abi.h's "store-release" on the odd increment is not by itself
 * enough to order the later field stores, hence the fence.
 */

/** IO path: one attempt. Returns the odd seq taken, or 0 if busy. */
static uint64_t seq_try_begin(GeckoShmWriterState* st) {
    uint64_t s = LOAD_RELAXED(&st->seq);
    if (s & 1u) return 0;
    if (!__atomic_compare_exchange_n(&st->seq, &s, s + 1u, false, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED))
        return 0;
    __atomic_thread_fence(__ATOMIC_RELEASE);
    return s + 1u;
}

/** Control path: waits (bounded) for the IO thread's short critical section.
 *  A seq left odd by a crashed previous writer is taken over after the bound. */
static uint64_t seq_begin(GeckoShmWriterState* st) {
    for (int i = 0; i < 10000; i++) {
        uint64_t s = seq_try_begin(st);
        if (s) return s;
        sched_yield();
    }
    uint64_t s = LOAD_RELAXED(&st->seq) | 1u;
    STORE_RELAXED(&st->seq, s);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    return s;
}

static void seq_end(GeckoShmWriterState* st, uint64_t odd) {
    STORE_RELEASE(&st->seq, odd + 1u);
}

/** Writes every published state field into `st` (inside the seqlock). */
static void write_state_fields(const GeckoShmWriter* w, GeckoShmWriterState* st, const GeckoShmParams* p) {
    STORE_RELAXED(&st->generation, w->generation);
    store_f64(&st->sample_rate, p->sample_rate);
    store_f64(&st->zts_sample_time, p->zts_sample_time);
    STORE_RELAXED(&st->zts_host_time, p->zts_host_time);
    STORE_RELAXED(&st->zts_seed, p->zts_seed);
    store_f64(&st->host_ticks_per_frame, p->host_ticks_per_frame);
    store_f64(&st->host_ticks_per_second, p->host_ticks_per_second);
    store_f32(&st->volume_scalar, p->volume_scalar);
    STORE_RELAXED(&st->mute, p->mute);
    STORE_RELAXED(&st->io_running, p->io_running);
    STORE_RELAXED(&st->zts_period_frames, p->zts_period_frames);
    store_f64(&st->clock_adjust_ppm, p->clock_adjust_ppm);
}

/* The event counters (gaps, overlaps, overruns, reader faults): one relaxed
 * store each, readers take them as a loose snapshot. Real-time safe. */
static inline void store_event_counters(GeckoShmWriterCounters* c, const GeckoShmWriter* w) {
    STORE_RELAXED(&c->gap_events, w->gap_events);
    STORE_RELAXED(&c->gap_frames, w->gap_frames);
    STORE_RELAXED(&c->overlap_events, w->overlap_events);
    STORE_RELAXED(&c->overlap_frames, w->overlap_frames);
    STORE_RELAXED(&c->overrun_events, w->overrun_events);
    STORE_RELAXED(&c->overrun_frames, w->overrun_frames);
    STORE_RELAXED(&c->reader_faults, w->reader_faults);
}

/* Every statistics counter (not write_count, whose release store publishes
 * frames, nor the heartbeat). */
static inline void store_stat_counters(GeckoShmWriterCounters* c, const GeckoShmWriter* w) {
    STORE_RELAXED(&c->io_cycles, w->io_cycles);
    store_event_counters(c, w);
}

static uint64_t next_generation(uint64_t g) {
    g += 1u;
    return g ? g : 1u;
}

/** Resets the IO-private sample-time tracking (first cycle after a (re)start). */
static void reset_io_tracking(GeckoShmWriter* w) {
    w->run_frames = 0;
    w->expected_valid = false;
    w->expected_time = 0;
    w->cached_valid = false;
    w->cached_for = NULL;
}

/* ---- open / create --------------------------------------------------------- */

/** Whether `actual` bytes (fstat) is a segment of `nominal` bytes: macOS rounds a
 *  shm object's size up to the page at its one ftruncate (XNU pshm_truncate) and
 *  fstat reports the rounded size; Linux keeps it exact. */
bool gecko_shm_size_ok(uint64_t actual, uint64_t nominal) {
    const uint64_t page = GECKO_SHM_MAX_PAGE_SIZE;
    return actual >= nominal && actual <= (nominal + page - 1u) / page * page;
}

/** Logs a failure to open the writer segment when it differs from the last one
 *  (a sandbox that refuses shm_open is logged once, not at every StartIO). */
static void open_failed(GeckoShmWriter* w, const char* what, int err) {
    w->open_errno = err ? err : EINVAL;
    if (w->open_failed_logged && w->open_logged_errno == w->open_errno) return;
    w->open_failed_logged = true;
    w->open_logged_errno = w->open_errno;
    gecko_log(LOG_ERR, "%s(%s) failed: %s; Gecko Sink plays silence until it can (retried at StartIO)",
              what, w->name, strerror(w->open_errno));
}

/** The sandbox fallback (docs/macos-semantics.md, "The plug-in sandbox"): the
 *  plug-in's sandbox may refuse shm_open(O_CREAT) — XNU's shm_open asks the MAC
 *  policy (mac_posixshm_check_create) whenever O_CREAT is given, even for a
 *  segment that exists — but opening an existing segment read/write is what
 *  shipped plug-ins do. So: open the segment Gecko's installer pre-creates for
 *  the driver's user (`gecko ring precreate`, run as _coreaudiod), without
 *  O_CREAT. It must already have the right size: a driver that may not create
 *  may not be allowed to size either, and the creator sizes it. */
static int open_existing(GeckoShmWriter* w, size_t want, GeckoShmSource* source, int create_errno) {
    int fd = gecko_shm_open(w->name, O_RDWR, 0);
    if (fd < 0) {
        /* Report the refusal of creation when nothing was pre-created. */
        open_failed(w, "shm_open(O_CREAT)", errno == ENOENT ? create_errno : errno);
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || sb.st_size <= 0 || !gecko_shm_size_ok((uint64_t)sb.st_size, want)) {
        open_failed(w, "pre-created segment size", EINVAL);
        close(fd);
        return -1;
    }
    *source = GECKO_SHM_SOURCE_EXISTING;
    return fd;
}

/** Opens (creating if needed) and sizes the writer segment. Returns an fd or -1.
 *  macOS: shm_open(O_CREAT) applies no umask and fchmod on shm fails (EINVAL), so
 *  fchmod runs only when the mode is not GECKO_SHM_MODE (Linux's umask narrowed
 *  it); one ftruncate per object, never a second (XNU pshm_truncate). */
static int open_sized(GeckoShmWriter* w, size_t want, GeckoShmSource* source) {
    int fd = gecko_shm_open(w->name, O_RDWR | O_CREAT, GECKO_SHM_MODE);
    if (fd < 0 && (errno == EPERM || errno == EACCES))
        return open_existing(w, want, source, errno);
    if (fd < 0) {
        open_failed(w, "shm_open", errno);
        return -1;
    }
    *source = GECKO_SHM_SOURCE_CREATED;
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        open_failed(w, "fstat", errno);
        close(fd);
        return -1;
    }
    if ((sb.st_mode & 0777) != GECKO_SHM_MODE) (void)fchmod(fd, GECKO_SHM_MODE);
    if (sb.st_size != 0 && gecko_shm_size_ok((uint64_t)sb.st_size, want))
        return fd; /* reuse (stale segment of a previous run) */
    if (sb.st_size != 0) {
        /* Another size: re-create. Never truncate twice (macOS refuses). */
        gecko_log(LOG_NOTICE, "shm %s has %lld bytes, want %zu: re-creating", w->name,
                  (long long)sb.st_size, want);
        close(fd);
        if (shm_unlink(w->name) != 0 && errno != ENOENT) {
            open_failed(w, "shm_unlink", errno);
            return -1;
        }
        fd = shm_open(w->name, O_RDWR | O_CREAT | O_EXCL, GECKO_SHM_MODE);
        if (fd < 0) {
            open_failed(w, "shm_open(O_EXCL)", errno);
            return -1;
        }
        if (fstat(fd, &sb) == 0 && (sb.st_mode & 0777) != GECKO_SHM_MODE)
            (void)fchmod(fd, GECKO_SHM_MODE);
    }
    if (ftruncate(fd, (off_t)want) != 0) {
        open_failed(w, "ftruncate", errno);
        close(fd);
        return -1;
    }
    return fd;
}

/** Random 64-bit instance id, never 0 (arc4random: libSystem on macOS, glibc >= 2.36). */
static uint64_t new_instance_id(void) {
    uint64_t id = 0;
    while (id == 0) arc4random_buf(&id, sizeof id);
    return id;
}

/** Touches every page of a fresh mapping (an atomic OR of 0 into one word per 4 KiB:
 *  a write access that changes nothing, safe while the reader reads), so the IO
 *  thread never takes the first-touch page fault ("page faults are not syscalls",
 *  DESIGN §7). Control path. */
static void pretouch(void* base, size_t bytes) {
    for (size_t off = 0; off < bytes; off += 4096u)
        __atomic_fetch_or((uint32_t*)(void*)((char*)base + off), 0u, __ATOMIC_RELAXED);
}

int gecko_shm_writer_open(GeckoShmWriter* w, const GeckoShmParams* p, uint64_t host_now) {
    if (w->seg) return 0;
    const size_t want = segment_bytes(w->channels, w->capacity_frames);
    GeckoShmSource source = GECKO_SHM_SOURCE_NONE;
    int fd = open_sized(w, want, &source);
    if (fd < 0) return -1;
    void* base = mmap(NULL, want, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int map_errno = errno;
    close(fd);
    if (base == MAP_FAILED) {
        open_failed(w, "mmap", map_errno);
        return -1;
    }
    pretouch(base, want);
    GeckoShmWriterSegment* seg = (GeckoShmWriterSegment*)base;
    GeckoShmWriterHeader* h = &seg->header;
    GeckoShmWriterCounters* c = &seg->counters;

    /* What the old contents (if any) tell us. */
    const bool old_valid =
        LOAD_RELAXED(&h->magic) == GECKO_SHM_WRITER_MAGIC && LOAD_RELAXED(&h->version) == GECKO_SHM_VERSION;
    const bool compatible =
        old_valid && LOAD_RELAXED(&h->header_size) == GECKO_SHM_WRITER_HEADER_SIZE &&
        LOAD_RELAXED(&h->segment_size) == (uint64_t)want &&
        LOAD_RELAXED(&h->capacity_frames) == w->capacity_frames &&
        LOAD_RELAXED(&h->channels) == w->channels &&
        LOAD_RELAXED(&h->sample_format) == GECKO_SHM_FORMAT_F32_INTERLEAVED;
    uint64_t gen = old_valid ? next_generation(LOAD_RELAXED(&seg->state.generation))
                             : (host_now ? host_now : 1u);

    w->frames = (float*)((char*)base + GECKO_SHM_WRITER_HEADER_SIZE);
    w->map_size = want;
    __atomic_store_n(&w->generation, gen, __ATOMIC_RELAXED); /* the attach thread reads it */
    reset_io_tracking(w);
    if (compatible) {
        w->write_count = LOAD_RELAXED(&c->write_count);
        w->io_cycles = LOAD_RELAXED(&c->io_cycles);
        w->gap_events = LOAD_RELAXED(&c->gap_events);
        w->gap_frames = LOAD_RELAXED(&c->gap_frames);
        w->overlap_events = LOAD_RELAXED(&c->overlap_events);
        w->overlap_frames = LOAD_RELAXED(&c->overlap_frames);
        w->overrun_events = LOAD_RELAXED(&c->overrun_events);
        w->overrun_frames = LOAD_RELAXED(&c->overrun_frames);
        w->reader_faults = LOAD_RELAXED(&c->reader_faults);
    } else {
        w->write_count = w->io_cycles = w->gap_events = w->gap_frames = 0;
        w->overlap_events = w->overlap_frames = w->overrun_events = w->overrun_frames = 0;
        w->reader_faults = 0;
    }

    GeckoShmWriterState* st = &seg->state;
    uint64_t odd = seq_begin(st);
    if (!old_valid) {
        /* Unknown contents: clear the header area (not seq, which we hold). */
        memset(h, 0, sizeof *h);
        memset(c, 0, sizeof *c);
        memset(st->reserved, 0, sizeof st->reserved);
    }
    /* The input stream's counters are this driver instance's (IO stopped or not
     * using this mapping yet: it is published below). */
    memset(&seg->loopback, 0, sizeof seg->loopback);
    STORE_RELAXED(&h->magic, GECKO_SHM_WRITER_MAGIC);
    STORE_RELAXED(&h->version, GECKO_SHM_VERSION);
    STORE_RELAXED(&h->header_size, GECKO_SHM_WRITER_HEADER_SIZE);
    STORE_RELAXED(&h->segment_size, (uint64_t)want);
    STORE_RELAXED(&h->capacity_frames, w->capacity_frames);
    STORE_RELAXED(&h->channels, w->channels);
    STORE_RELAXED(&h->sample_format, GECKO_SHM_FORMAT_F32_INTERLEAVED);
    STORE_RELAXED(&h->bytes_per_frame, w->channels * (uint32_t)sizeof(float));
    STORE_RELAXED(&h->writer_pid, (uint32_t)getpid());
    STORE_RELAXED(&h->flags, 0u);
    STORE_RELAXED(&h->instance_id, new_instance_id());
    write_state_fields(w, st, p);
    /* Counters: continued (compatible) or zero; write_count last, with release. */
    store_stat_counters(c, w);
    STORE_RELAXED(&c->reader_attached, 0u);
    STORE_RELEASE(&c->write_count, w->write_count);
    w->events_dirty = false;
    w->attached_published = 0u;
    seq_end(st, odd);

    gecko_log(LOG_INFO, "shm %s mapped (%zu bytes, generation %llu, %s)", w->name, want,
              (unsigned long long)gen, compatible ? "continued" : "fresh");
    w->open_failed_logged = false;
    w->open_errno = 0;
    w->source = source;
    /* Last: the IO thread (and the attach thread's re-open while IO runs) sees
     * `seg` only with every field above in place (acquire loads of `seg`). */
    __atomic_store_n(&w->seg, seg, __ATOMIC_RELEASE);
    return 0;
}

void gecko_shm_writer_io_restart(GeckoShmWriter* w) {
    reset_io_tracking(w);
}

void gecko_shm_writer_publish(GeckoShmWriter* w, const GeckoShmParams* p, bool new_generation) {
    if (!w->seg) return;
    GeckoShmWriterState* st = &w->seg->state;
    uint64_t odd = seq_begin(st);
    if (new_generation) {
        __atomic_store_n(&w->generation, next_generation(w->generation), __ATOMIC_RELAXED);
        reset_io_tracking(w);
    }
    write_state_fields(w, st, p);
    seq_end(st, odd);
}

void gecko_shm_writer_publish_volume(GeckoShmWriter* w, float gain, uint32_t mute) {
    if (!w->seg) return;
    GeckoShmWriterState* st = &w->seg->state;
    uint64_t odd = seq_begin(st);
    store_f32(&st->volume_scalar, gain);
    STORE_RELAXED(&st->mute, mute);
    seq_end(st, odd);
}

bool gecko_shm_writer_try_publish_zts(GeckoShmWriter* w, double sample_time, uint64_t host_time,
                                      uint64_t seed, double clock_adjust_ppm) {
    GeckoShmWriterSegment* seg = __atomic_load_n(&w->seg, __ATOMIC_ACQUIRE);
    if (!seg) return true; /* nothing to publish to */
    GeckoShmWriterState* st = &seg->state;
    uint64_t odd = seq_try_begin(st);
    if (!odd) return false;
    store_f64(&st->zts_sample_time, sample_time);
    STORE_RELAXED(&st->zts_host_time, host_time);
    STORE_RELAXED(&st->zts_seed, seed);
    store_f64(&st->clock_adjust_ppm, clock_adjust_ppm);
    seq_end(st, odd);
    return true;
}

/** `offer` value asking the IO thread to drop its mapping (never a mapping's address:
 *  mappings are page-aligned). */
#define GECKO_RD_DETACH ((uintptr_t)1)

/** IO thread: the reader mapping to use. Takes a mapping the attach thread offers
 *  once the hand-back slot is free, handing back the one it replaces. Acquire loads
 *  and release stores only. Real-time safe. */
static inline const GeckoShmReaderSegment* io_reader(GeckoShmWriter* w) {
    const uintptr_t o = __atomic_load_n(&w->offer, __ATOMIC_ACQUIRE);
    if (o != 0 && __atomic_load_n(&w->handback, __ATOMIC_ACQUIRE) == 0) {
        GeckoShmReaderSegment* old = w->io_reader;
        w->io_reader = o == GECKO_RD_DETACH ? NULL : (GeckoShmReaderSegment*)o;
        if (old) __atomic_store_n(&w->handback, (uintptr_t)old, __ATOMIC_RELEASE);
        __atomic_store_n(&w->offer, (uintptr_t)0, __ATOMIC_RELEASE);
    }
    return w->io_reader;
}

bool gecko_shm_writer_clock_request(GeckoShmWriter* w, double* out_ppm) {
    const GeckoShmReaderSegment* rd = io_reader(w);
    if (!rd || !__atomic_load_n(&w->seg, __ATOMIC_ACQUIRE)) return false;
    if (LOAD_RELAXED(&rd->header.magic) != GECKO_SHM_READER_MAGIC ||
        LOAD_RELAXED(&rd->header.version) != GECKO_SHM_VERSION)
        return false;
    if (LOAD_ACQUIRE(&rd->counters.attached_generation) != w->generation) return false;
    /* One relaxed 64-bit load of the double's bit pattern (never torn). */
    const uint64_t bits = LOAD_RELAXED((const uint64_t*)(const void*)&rd->control.clock_adjust_ppm);
    memcpy(out_ppm, &bits, sizeof bits);
    return true;
}

/* ---- IO: WriteMix -------------------------------------------------------------- */

/** Largest single memcpy into the ring, bytes. glibc's x86-64 memcpy switches from
 *  its vector loop to `rep movsb` at x86_rep_movsb_threshold (2112 bytes by default);
 *  into lines the reader's core has just read, that ran the two-process ring at half
 *  the speed on AMD EPYC. A/B in one session (docs/performance.md), 512-frame blocks:
 *  one memcpy 12.7-12.8 GB/s; 2 KB pieces through glibc's memcpy call 24.7-27.9 GB/s;
 *  2 KB pieces as GCC compiles this (it sees the bound and copies each piece inline)
 *  26.1-28.2 GB/s, at ~10 ns more per cycle for tiny buffers. Apple's memcpy is
 *  unaffected by the split. */
#define GECKO_RING_COPY_CHUNK 2048u

/** memcpy in pieces of at most GECKO_RING_COPY_CHUNK bytes. Real-time safe. */
static inline void ring_copy(void* restrict dst, const void* restrict src, size_t bytes) {
    unsigned char* d = dst;
    const unsigned char* s = src;
    while (bytes > 0) {
        const size_t k = bytes < GECKO_RING_COPY_CHUNK ? bytes : GECKO_RING_COPY_CHUNK;
        memcpy(d, s, k);
        d += k;
        s += k;
        bytes -= k;
    }
}

/** Copies `count` frames (or zeros when src is NULL) into the ring at frame count `at`:
 *  at most two ring_copy/memset calls (the ring wraps once at most). */
static inline void ring_put(GeckoShmWriter* w, uint64_t at, const float* src, uint64_t count) {
    if (count == 0) return;
    const uint32_t ch = w->channels;
    const uint64_t cap = w->capacity_frames;
    const uint64_t idx = at & (cap - 1u);
    const uint64_t first = (cap - idx) < count ? (cap - idx) : count;
    const size_t frame_bytes = (size_t)ch * sizeof(float);
    float* dst = w->frames + idx * ch;
    if (src) {
        ring_copy(dst, src, (size_t)first * frame_bytes);
        if (count > first) ring_copy(w->frames, src + first * ch, (size_t)(count - first) * frame_bytes);
    } else {
        memset(dst, 0, (size_t)first * frame_bytes);
        if (count > first) memset(w->frames, 0, (size_t)(count - first) * frame_bytes);
    }
}

/** IO path: frames the ring can take now; sets *attached. Untrusted reader contents
 *  are validated: a bad read_count is a reader fault and counts as detached. */
static inline uint64_t ring_space(GeckoShmWriter* w, uint64_t want, uint32_t* attached) {
    const uint64_t cap = w->capacity_frames;
    *attached = 0;
    const GeckoShmReaderSegment* rd = io_reader(w);
    if (!rd) return cap;
    if (LOAD_RELAXED(&rd->header.magic) != GECKO_SHM_READER_MAGIC ||
        LOAD_RELAXED(&rd->header.version) != GECKO_SHM_VERSION)
        return cap;
    if (LOAD_ACQUIRE(&rd->counters.attached_generation) != w->generation) {
        w->cached_valid = false;
        return cap;
    }
    if (rd != w->cached_for) {
        w->cached_for = rd;
        w->cached_valid = false;
    }
    /* Invariant: a cached read count always satisfies W - R <= cap. */
    if (!w->cached_valid || cap - (w->write_count - w->cached_read) < want) {
        uint64_t r = LOAD_ACQUIRE(&rd->counters.read_count);
        uint64_t used = w->write_count - r; /* u64 wrapping: r > W gives a huge value */
        if (used > cap) {
            w->reader_faults++;
            w->events_dirty = true;
            w->cached_valid = false;
            return cap;
        }
        w->cached_read = r;
        w->cached_valid = true;
    }
    *attached = 1;
    return cap - (w->write_count - w->cached_read);
}

void gecko_shm_writer_write_mix(GeckoShmWriter* w, const float* src, uint32_t n,
                                double sample_time, uint64_t host_time) {
    /* No segment: the frames go nowhere, and no writer field is touched (the
     * attach thread may be setting them up to publish a segment that appeared). */
    GeckoShmWriterSegment* seg = __atomic_load_n(&w->seg, __ATOMIC_ACQUIRE);
    if (!seg) return;
    const uint64_t cap = w->capacity_frames;
    /* Sample time: whole frames; non-finite, negative or huge → discontinuity. */
    const bool time_ok = isfinite(sample_time) && sample_time >= 0.0 && sample_time < 9.0e15;
    const uint64_t s = time_ok ? (uint64_t)sample_time : 0u;
    uint64_t gap = 0, skip = 0;
    if (time_ok && w->expected_valid) {
        if (s > w->expected_time) {
            uint64_t d = s - w->expected_time;
            gap = d < cap ? d : cap;
            w->gap_events++;
            w->events_dirty = true;
            w->gap_frames += gap;
        } else if (s < w->expected_time) {
            uint64_t d = w->expected_time - s;
            skip = d < n ? d : n;
            w->overlap_events++;
            w->events_dirty = true;
            w->overlap_frames += skip;
        }
    }
    if (time_ok) {
        uint64_t end = s + n;
        /* After an overlap that swallowed the whole buffer, E stays where it was. */
        w->expected_time = (skip && w->expected_time > end) ? w->expected_time : end;
    }
    w->expected_valid = time_ok;

    const uint64_t total = gap + (n - skip);
    uint32_t attached;
    const uint64_t space = ring_space(w, total, &attached);
    uint64_t written = total;
    if (total > space) {
        written = space;
        w->overrun_events++;
        w->events_dirty = true;
        w->overrun_frames += total - space;
    }
    const uint64_t silence = gap < written ? gap : written;
    ring_put(w, w->write_count, NULL, silence);
    ring_put(w, w->write_count + silence, src + (size_t)skip * w->channels, written - silence);
    /* The run the pre tap reads by: these frames are sample times s - gap + skip ...
     * (gap > 0 only without skip) at write counts W ... A write that does not
     * continue the run in both starts a new one. */
    if (!time_ok) {
        w->run_frames = 0;
    } else if (written > 0) {
        const uint64_t t_first = s + skip - gap;
        if (t_first != w->run_end_time || w->write_count != w->run_end_count) w->run_frames = 0;
        w->run_end_time = t_first + written;
        w->run_end_count = w->write_count + written;
        w->run_frames += written;
    }
    w->write_count += written;
    w->io_cycles++;

    /* The counters line is the one line the reader polls: every store to it
     * after write_count would take it back from the reader (a cross-core
     * transfer each). So the cycle's statistics go first, only what changed,
     * and the release store of write_count last publishes frames and
     * statistics together. */
    GeckoShmWriterCounters* c = &seg->counters;
    STORE_RELAXED(&c->io_cycles, w->io_cycles);
    STORE_RELAXED(&c->heartbeat_host_time, host_time);
    if (w->events_dirty) {
        store_event_counters(c, w);
        w->events_dirty = false;
    }
    if (attached != w->attached_published) {
        STORE_RELAXED(&c->reader_attached, attached);
        w->attached_published = attached;
    }
    STORE_RELEASE(&c->write_count, w->write_count);
}

/* ---- IO: ReadInput, the post tap ------------------------------------------------ */

/** IO thread: the loopback mapping to use (same hand-over as io_reader). */
static inline const GeckoShmTapMap* io_tap(GeckoShmWriter* w) {
    const uintptr_t o = __atomic_load_n(&w->tap_offer, __ATOMIC_ACQUIRE);
    if (o != 0 && __atomic_load_n(&w->tap_handback, __ATOMIC_ACQUIRE) == 0) {
        GeckoShmTapMap* old = w->io_tap;
        w->io_tap = o == GECKO_RD_DETACH ? NULL : (GeckoShmTapMap*)o;
        if (old) __atomic_store_n(&w->tap_handback, (uintptr_t)old, __ATOMIC_RELEASE);
        __atomic_store_n(&w->tap_offer, (uintptr_t)0, __ATOMIC_RELEASE);
        w->tap_synced = false; /* another engine's stream */
        w->tap_served = 0;
    }
    return w->io_tap;
}

uint32_t gecko_shm_writer_tap_request(GeckoShmWriter* w) {
    const GeckoShmReaderSegment* rd = io_reader(w);
    if (!rd) return GECKO_LOOPBACK_TAP_UNSET;
    if (LOAD_RELAXED(&rd->header.magic) != GECKO_SHM_READER_MAGIC ||
        LOAD_RELAXED(&rd->header.version) != GECKO_SHM_VERSION)
        return GECKO_LOOPBACK_TAP_UNSET;
    const uint32_t tap = LOAD_RELAXED(&rd->control.loopback_tap);
    return (tap >= GECKO_LOOPBACK_TAP_OFF && tap <= GECKO_LOOPBACK_TAP_POST) ? tap : GECKO_LOOPBACK_TAP_UNSET;
}

uint32_t gecko_shm_writer_read_pre(GeckoShmWriter* w, float* dst, uint32_t n, double sample_time) {
    const uint32_t ch = w->channels;
    const size_t fb = (size_t)ch * sizeof(float);
    GeckoShmWriterSegment* seg = __atomic_load_n(&w->seg, __ATOMIC_ACQUIRE);
    const bool time_ok = isfinite(sample_time) && sample_time >= 0.0 && sample_time < 9.0e15;
    const uint64_t cap = w->capacity_frames;
    const uint64_t kept = w->run_frames < cap ? w->run_frames : cap; /* never overwritten since */
    if (!seg || !time_ok || kept == 0) {
        memset(dst, 0, (size_t)n * fb);
        return n;
    }
    const uint64_t t = (uint64_t)sample_time;
    const uint64_t run_lo = w->run_end_time - kept;
    const uint64_t lo = t > run_lo ? t : run_lo;
    const uint64_t hi = (t + n) < w->run_end_time ? (t + n) : w->run_end_time;
    if (lo >= hi) {
        memset(dst, 0, (size_t)n * fb);
        return n;
    }
    if (lo > t) memset(dst, 0, (size_t)(lo - t) * fb);
    const uint64_t count = w->run_end_count - (w->run_end_time - lo); /* write count of `lo` */
    const uint64_t idx = count & (cap - 1u);
    const uint64_t len = hi - lo;
    const uint64_t first = (cap - idx) < len ? (cap - idx) : len;
    float* out = dst + (size_t)(lo - t) * ch;
    memcpy(out, w->frames + idx * ch, (size_t)first * fb);
    if (len > first) memcpy(out + (size_t)first * ch, w->frames, (size_t)(len - first) * fb);
    if (hi < t + n) memset(dst + (size_t)(hi - t) * ch, 0, (size_t)(t + n - hi) * fb);
    return (uint32_t)(n - len);
}

void gecko_shm_writer_post_unsync(GeckoShmWriter* w) {
    w->tap_synced = false;
}

/** The loopback header still says what the attach thread validated. */
static inline bool tap_header_ok(const GeckoShmTapMap* m) {
    const GeckoShmLoopbackHeader* h = &m->seg->header;
    return LOAD_RELAXED(&h->magic) == GECKO_SHM_LOOPBACK_MAGIC &&
           LOAD_RELAXED(&h->version) == GECKO_SHM_VERSION &&
           LOAD_RELAXED(&h->capacity_frames) == m->capacity_frames &&
           LOAD_RELAXED(&h->channels) == m->channels &&
           LOAD_RELAXED(&h->instance_id) == m->instance;
}

/** Copies `count` samples and says whether any is not in [-1, 1] (NaN and
 *  infinities included), in one pass. On the IEEE-754 bits: |x| <= 1.0 exactly
 *  when (bits & 0x7fffffff) <= 0x3f800000 (1.0f), and adding 0x407fffff to that
 *  sets bit 31 exactly when it is above (the sum never overflows 32 bits); so one
 *  AND, one ADD and one OR per sample besides the copy, OR-reduced. Written with
 *  the compilers' vector extension, 16 samples a step in four independent OR
 *  chains: GCC's -O2 vectoriser would do one 4-lane step at a time. */
typedef uint32_t __attribute__((may_alias)) gecko_u32_alias; /* float bits, moved as such */
/** Four lanes of float bits (GCC/clang vector extension: SSE2 on x86-64, NEON on arm64). */
typedef uint32_t gecko_v4u __attribute__((vector_size(16)));
static inline bool copy_any_bad(float* restrict dst, const float* restrict src, size_t count) {
    const gecko_v4u mask = {0x7fffffffu, 0x7fffffffu, 0x7fffffffu, 0x7fffffffu};
    const gecko_v4u bias = {0x407fffffu, 0x407fffffu, 0x407fffffu, 0x407fffffu};
    gecko_v4u a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}; /* four chains, not one */
    const unsigned char* s = (const unsigned char*)src;
    unsigned char* d = (unsigned char*)dst;
    size_t i = 0;
    for (; i + 16 <= count; i += 16) {
        gecko_v4u v0, v1, v2, v3;
        memcpy(&v0, s + 4 * i, 16);
        memcpy(&v1, s + 4 * i + 16, 16);
        memcpy(&v2, s + 4 * i + 32, 16);
        memcpy(&v3, s + 4 * i + 48, 16);
        memcpy(d + 4 * i, &v0, 16);
        memcpy(d + 4 * i + 16, &v1, 16);
        memcpy(d + 4 * i + 32, &v2, 16);
        memcpy(d + 4 * i + 48, &v3, 16);
        a0 |= (v0 & mask) + bias;
        a1 |= (v1 & mask) + bias;
        a2 |= (v2 & mask) + bias;
        a3 |= (v3 & mask) + bias;
    }
    const gecko_v4u a = a0 | a1 | a2 | a3;
    uint32_t acc = a[0] | a[1] | a[2] | a[3];
    const gecko_u32_alias* su = (const gecko_u32_alias*)(const void*)src;
    gecko_u32_alias* du = (gecko_u32_alias*)(void*)dst;
    for (; i < count; i++) {
        const uint32_t u = su[i];
        du[i] = u;
        acc |= (u & 0x7fffffffu) + 0x407fffffu;
    }
    return (acc & 0x80000000u) != 0;
}

/** Repairs samples in place: NaN -> 0, beyond full scale (infinities too) -> +-1.0.
 *  Returns how many it changed. */
static uint32_t repair(float* x, size_t count) {
    uint32_t bad = 0;
    for (size_t i = 0; i < count; i++) {
        const float v = x[i];
        if (!(fabsf(v) <= 1.0f)) {
            x[i] = (v != v) ? 0.0f : (v > 0.0f ? 1.0f : -1.0f);
            bad++;
        }
    }
    return bad;
}

/** Copies `n` frames at loopback frame count `at` into dst (in two stretches when
 *  the ring wraps), checking every sample on the way, then repairs the copy (our
 *  own memory: the engine cannot change it under the repair) if a sample was bad
 *  (rare: only a faulty engine writes them). Returns the samples repaired. */
static inline uint64_t tap_copy(const GeckoShmTapMap* m, float* dst, uint64_t at, uint32_t n) {
    const uint64_t cap = m->capacity_frames;
    const uint32_t ch = m->channels;
    const uint64_t idx = at & (cap - 1u);
    const uint64_t first = (cap - idx) < n ? (cap - idx) : n;
    bool bad = copy_any_bad(dst, m->frames + idx * ch, (size_t)first * ch);
    if (n > first) bad |= copy_any_bad(dst + (size_t)first * ch, m->frames, (size_t)(n - first) * ch);
    return bad ? repair(dst, (size_t)n * ch) : 0;
}

GeckoTapRead gecko_shm_writer_read_post(GeckoShmWriter* w, float* dst, uint32_t n, double sample_time,
                                        double device_rate) {
    const size_t bytes = (size_t)n * w->channels * sizeof(float);
    const GeckoShmTapMap* m = io_tap(w);
    w->lb_post_attached = m ? 1u : 0u;
    const bool time_ok = isfinite(sample_time) && sample_time >= 0.0 && sample_time < 9.0e15;
    const uint64_t t = time_ok ? (uint64_t)sample_time : 0u;
    if (!m || !time_ok) {
        w->tap_synced = false;
        memset(dst, 0, bytes);
        return GECKO_TAP_SILENT;
    }
    if (!tap_header_ok(m)) {
        w->lb_post_faults++;
        w->tap_synced = false;
        memset(dst, 0, bytes);
        return GECKO_TAP_SILENT;
    }
    /* Frames at another rate (the engine plays at another rate than the device's):
     * nothing this tap can serve on the device's clock. */
    if (!(fabs(m->sample_rate - device_rate) < 0.5)) {
        w->tap_synced = false;
        memset(dst, 0, bytes);
        return GECKO_TAP_SILENT;
    }
    const uint64_t cap = m->capacity_frames;
    uint32_t block = LOAD_RELAXED(&m->seg->header.block_frames);
    if (block > cap / 4u) block = (uint32_t)(cap / 4u);
    uint64_t delay = (uint64_t)block + 2u * (uint64_t)n + GECKO_TAP_MARGIN_FRAMES;
    if (delay > cap / 2u) delay = cap / 2u;
    const uint64_t wc = LOAD_ACQUIRE(&m->seg->ring.write_count);
    bool resynced = false;
    if (w->tap_synced && t == w->tap_next_time) {
        const uint64_t avail = wc - w->tap_pos; /* wraps huge if the count went backwards */
        /* Late (the engine stalled, or is gone) or lapped / running away: re-lock. */
        if (avail < n || avail > 2u * delay || avail > cap - n) w->tap_synced = false;
    } else {
        w->tap_synced = false;
    }
    if (!w->tap_synced) {
        /* Not enough frames yet, or not enough new ones since the last served
         * (a stalled or killed engine's frozen stream is never served twice). */
        if (wc < delay || delay < n || wc - delay < w->tap_served) {
            memset(dst, 0, bytes);
            return GECKO_TAP_SILENT;
        }
        w->tap_pos = wc - delay;
        w->tap_synced = true;
        w->lb_post_delay = (uint32_t)delay;
        w->lb_resync_events++;
        resynced = true;
    }
    const uint64_t repaired = tap_copy(m, dst, w->tap_pos, n);
    /* Were any of those frames overwritten while we copied? (seqlock-style check.) */
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    const uint64_t wc2 = LOAD_RELAXED(&m->seg->ring.write_count);
    if (wc2 - w->tap_pos > cap || wc2 < wc) {
        w->lb_post_faults++;
        w->tap_synced = false;
        memset(dst, 0, bytes);
        return GECKO_TAP_SILENT;
    }
    w->lb_repaired_samples += repaired;
    w->tap_pos += n;
    w->tap_served = w->tap_pos;
    w->tap_next_time = t + n;
    return resynced ? GECKO_TAP_RESYNCED : GECKO_TAP_DATA;
}

void gecko_shm_writer_loopback_done(GeckoShmWriter* w, uint32_t tap, uint32_t n, uint32_t silent) {
    w->lb_input_cycles++;
    w->lb_input_frames += n;
    w->lb_silent_frames += silent;
    w->lb_tap = tap;
    GeckoShmWriterSegment* seg = __atomic_load_n(&w->seg, __ATOMIC_ACQUIRE);
    if (!seg) return;
    GeckoShmLoopbackCounters* c = &seg->loopback;
    STORE_RELAXED(&c->input_cycles, w->lb_input_cycles);
    STORE_RELAXED(&c->input_frames, w->lb_input_frames);
    STORE_RELAXED(&c->silent_frames, w->lb_silent_frames);
    STORE_RELAXED(&c->resync_events, w->lb_resync_events);
    STORE_RELAXED(&c->post_faults, w->lb_post_faults);
    STORE_RELAXED(&c->repaired_samples, w->lb_repaired_samples);
    STORE_RELAXED(&c->tap, w->lb_tap);
    STORE_RELAXED(&c->post_delay_frames, w->lb_post_delay);
    STORE_RELAXED(&c->post_attached, w->lb_post_attached);
}

/* ---- loopback segment discovery (attach thread) --------------------------------- */

static bool is_pow2(uint64_t v) {
    return v != 0 && (v & (v - 1u)) == 0;
}

/** Maps the loopback segment read-only if it exists and its header is valid for our
 *  format; returns a new GeckoShmTapMap (malloc) or NULL with *err as map_reader's. */
static GeckoShmTapMap* map_tap(GeckoShmWriter* w, int* err) {
    int fd = shm_open(w->tap_name, O_RDONLY, 0);
    if (fd < 0) {
        *err = errno;
        return NULL;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || sb.st_size < (off_t)GECKO_SHM_LOOPBACK_HEADER_SIZE) {
        *err = -1;
        close(fd);
        return NULL;
    }
    /* First the header alone: the size the header claims must match the object's. */
    void* head = mmap(NULL, GECKO_SHM_LOOPBACK_HEADER_SIZE, PROT_READ, MAP_SHARED, fd, 0);
    if (head == MAP_FAILED) {
        *err = errno;
        close(fd);
        return NULL;
    }
    const GeckoShmLoopbackHeader* h = head;
    const uint64_t id = LOAD_ACQUIRE(&h->instance_id);
    const uint32_t cap = LOAD_RELAXED(&h->capacity_frames);
    const uint32_t ch = LOAD_RELAXED(&h->channels);
    const uint64_t size = LOAD_RELAXED(&h->segment_size);
    const uint64_t rate_bits = LOAD_RELAXED((const uint64_t*)(const void*)&h->sample_rate);
    double rate;
    memcpy(&rate, &rate_bits, sizeof rate);
    const bool ok = LOAD_RELAXED(&h->magic) == GECKO_SHM_LOOPBACK_MAGIC &&
                    LOAD_RELAXED(&h->version) == GECKO_SHM_VERSION &&
                    LOAD_RELAXED(&h->header_size) == GECKO_SHM_LOOPBACK_HEADER_SIZE &&
                    LOAD_RELAXED(&h->sample_format) == GECKO_SHM_FORMAT_F32_INTERLEAVED && id != 0 &&
                    ch == w->channels && LOAD_RELAXED(&h->bytes_per_frame) == ch * (uint32_t)sizeof(float) &&
                    is_pow2(cap) && cap >= GECKO_SHM_LOOPBACK_MIN_CAPACITY_FRAMES &&
                    cap <= GECKO_SHM_LOOPBACK_MAX_CAPACITY_FRAMES &&
                    size == (uint64_t)GECKO_SHM_LOOPBACK_HEADER_SIZE + (uint64_t)cap * ch * sizeof(float) &&
                    gecko_shm_size_ok((uint64_t)sb.st_size, size) && isfinite(rate) && rate > 0.0;
    munmap(head, GECKO_SHM_LOOPBACK_HEADER_SIZE);
    if (!ok) {
        *err = -1; /* foreign, or the engine is still writing its header: retried */
        close(fd);
        return NULL;
    }
    void* base = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
    *err = errno;
    close(fd);
    if (base == MAP_FAILED) return NULL;
    GeckoShmTapMap* m = calloc(1, sizeof *m);
    if (!m) {
        munmap(base, (size_t)size);
        *err = ENOMEM;
        return NULL;
    }
    m->seg = base;
    m->frames = (const float*)(const void*)((const unsigned char*)base + GECKO_SHM_LOOPBACK_HEADER_SIZE);
    m->map_size = (size_t)size;
    m->instance = id;
    m->capacity_frames = cap;
    m->channels = ch;
    m->sample_rate = rate;
    *err = 0;
    return m;
}

static void free_tap(GeckoShmTapMap* m) {
    if (!m) return;
    munmap((void*)m->seg, m->map_size);
    free(m);
}

static void reap_tap_handback(GeckoShmWriter* w) {
    const uintptr_t h = __atomic_load_n(&w->tap_handback, __ATOMIC_ACQUIRE);
    if (!h) return;
    free_tap((GeckoShmTapMap*)h);
    __atomic_store_n(&w->tap_handback, (uintptr_t)0, __ATOMIC_RELEASE);
}

static void log_tap_state(GeckoShmWriter* w, int err) {
    if (err == w->tap_last_error) return;
    w->tap_last_error = err;
    if (err == 0)
        gecko_log(LOG_INFO, "loopback segment %s attached", w->tap_name);
    else if (err == ENOENT)
        gecko_log(LOG_INFO, "loopback segment %s absent", w->tap_name);
    else if (err == -1)
        gecko_log(LOG_NOTICE, "loopback segment %s invalid or not ready", w->tap_name);
    else
        gecko_log(LOG_WARNING, "loopback segment %s: %s", w->tap_name, strerror(err));
}

/** Attach thread: follows the loopback segment by name, as attach_step does the
 *  reader segment (a new instance id: a new engine; the name gone: detach). */
static void tap_step(GeckoShmWriter* w, bool recheck) {
    reap_tap_handback(w);
    const GeckoShmTapMap* cur = w->tap_offered;
    if (cur && !recheck) return;
    if (__atomic_load_n(&w->tap_offer, __ATOMIC_ACQUIRE) != 0) return; /* earlier offer untaken */
    int err = 0;
    GeckoShmTapMap* next = map_tap(w, &err);
    if (!next) {
        if (cur && err == ENOENT) {
            __atomic_store_n(&w->tap_offer, GECKO_RD_DETACH, __ATOMIC_RELEASE);
            w->tap_offered = NULL;
            log_tap_state(w, ENOENT);
        }
        if (!cur) log_tap_state(w, err);
        return;
    }
    if (cur && next->instance == cur->instance) {
        free_tap(next);
        return;
    }
    log_tap_state(w, 0);
    __atomic_store_n(&w->tap_offer, (uintptr_t)next, __ATOMIC_RELEASE);
    w->tap_offered = next;
}

/* ---- reader segment discovery (attach thread) ------------------------------------- */

/** Maps the reader segment read-only if it exists and is valid. Returns NULL otherwise;
 *  *err receives an errno-like code for change-only logging (0 = ok, -1 = invalid).
 *  The size may be page-rounded (macOS); the header's own segment_size must be the v1
 *  size. *instance receives the engine's instance id (identity: no dev/ino on macOS). */
static GeckoShmReaderSegment* map_reader(GeckoShmWriter* w, uint64_t* instance, int* err) {
    int fd = shm_open(w->reader_name, O_RDONLY, 0);
    if (fd < 0) {
        *err = errno;
        return NULL;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || sb.st_size < 0 ||
        !gecko_shm_size_ok((uint64_t)sb.st_size, GECKO_SHM_READER_SEGMENT_SIZE)) {
        *err = -1; /* not (yet) sized by the engine, or foreign */
        close(fd);
        return NULL;
    }
    void* base = mmap(NULL, GECKO_SHM_READER_SEGMENT_SIZE, PROT_READ, MAP_SHARED, fd, 0);
    *err = errno;
    close(fd);
    if (base == MAP_FAILED) return NULL;
    GeckoShmReaderSegment* rd = (GeckoShmReaderSegment*)base;
    const uint64_t id = LOAD_ACQUIRE(&rd->header.instance_id);
    if (LOAD_RELAXED(&rd->header.magic) != GECKO_SHM_READER_MAGIC ||
        LOAD_RELAXED(&rd->header.version) != GECKO_SHM_VERSION ||
        LOAD_RELAXED(&rd->header.segment_size) != GECKO_SHM_READER_SEGMENT_SIZE || id == 0) {
        munmap(base, GECKO_SHM_READER_SEGMENT_SIZE);
        *err = -1; /* the engine may still be writing its header: retried */
        return NULL;
    }
    *instance = id;
    *err = 0;
    return rd;
}

/** Unmaps the mapping the IO thread handed back, if any (attach thread, or the
 *  control path once IO stopped). */
static void reap_handback(GeckoShmWriter* w) {
    const uintptr_t h = __atomic_load_n(&w->handback, __ATOMIC_ACQUIRE);
    if (!h) return;
    munmap((void*)h, GECKO_SHM_READER_SEGMENT_SIZE);
    __atomic_store_n(&w->handback, (uintptr_t)0, __ATOMIC_RELEASE);
}

/** Offers `next` (NULL = detach) to the IO thread. False while an earlier offer is
 *  still untaken (the caller keeps or unmaps `next` and retries later). */
static bool offer_reader(GeckoShmWriter* w, GeckoShmReaderSegment* next) {
    if (__atomic_load_n(&w->offer, __ATOMIC_ACQUIRE) != 0) return false;
    __atomic_store_n(&w->offer, next ? (uintptr_t)next : GECKO_RD_DETACH, __ATOMIC_RELEASE);
    w->offered = next;
    return true;
}

static void log_reader_state(GeckoShmWriter* w, int err) {
    if (err == w->reader_last_error) return;
    w->reader_last_error = err;
    if (err == 0)
        gecko_log(LOG_INFO, "reader segment %s attached", w->reader_name);
    else if (err == ENOENT)
        gecko_log(LOG_INFO, "reader segment %s absent", w->reader_name);
    else if (err == -1)
        gecko_log(LOG_NOTICE, "reader segment %s invalid or not ready", w->reader_name);
    else
        gecko_log(LOG_WARNING, "reader segment %s: %s", w->reader_name, strerror(err));
}

/** One step of the attach thread: `recheck` re-opens by name to spot a new engine
 *  (another instance id behind the name: a re-created segment, or the same one
 *  taken over by a new engine), or a removed segment. */
static void attach_step(GeckoShmWriter* w, bool recheck) {
    reap_handback(w);
    const GeckoShmReaderSegment* cur = w->offered;
    if (cur && !recheck) return;
    if (__atomic_load_n(&w->offer, __ATOMIC_ACQUIRE) != 0) return; /* earlier offer untaken */
    uint64_t instance = 0;
    int err = 0;
    GeckoShmReaderSegment* next = map_reader(w, &instance, &err);
    if (!next) {
        /* Engine gone (name removed): stop honouring its read_count. A segment that
         * is there but not valid yet keeps the current mapping until it is. */
        if (cur && err == ENOENT && offer_reader(w, NULL)) log_reader_state(w, ENOENT);
        if (!cur) log_reader_state(w, err);
        return;
    }
    if (cur && instance == w->reader_instance) { /* the one we follow */
        munmap(next, GECKO_SHM_READER_SEGMENT_SIZE);
        return;
    }
    log_reader_state(w, 0);
    if (offer_reader(w, next))
        w->reader_instance = instance;
    else
        munmap(next, GECKO_SHM_READER_SEGMENT_SIZE);
}

/** Attach thread, every ~500 ms: the latency the attached engine reports
 *  (GeckoShmReaderControl.latency_frames), handed to the driver's hook when it
 *  changed. Values above GECKO_SHM_MAX_LATENCY_FRAMES are ignored (hostile or
 *  corrupt); so is an engine that follows another generation. */
static void check_latency(GeckoShmWriter* w) {
    const GeckoShmReaderSegment* rd = w->offered;
    if (!rd || !w->latency) return;
    if (LOAD_ACQUIRE(&rd->counters.attached_generation) != __atomic_load_n(&w->generation, __ATOMIC_RELAXED))
        return;
    const uint32_t frames = LOAD_RELAXED(&rd->control.latency_frames);
    if (frames > GECKO_SHM_MAX_LATENCY_FRAMES) return;
    if (w->latency_seen_valid && frames == w->latency_seen) return;
    if (w->latency(w->reopen_ctx, frames)) {
        w->latency_seen = frames;
        w->latency_seen_valid = true;
    }
}

static void* attach_main(void* arg) {
    GeckoShmWriter* w = arg;
    const struct timespec tick = {0, 10 * 1000 * 1000}; /* 10 ms: stop latency */
    unsigned ticks = 0;
    while (!__atomic_load_n(&w->attach_stop, __ATOMIC_ACQUIRE)) {
        nanosleep(&tick, NULL);
        if (++ticks % 5u) continue; /* act every 50 ms */
        const bool every_500ms = (ticks % 50u) == 0;
        /* No writer segment yet (creation refused, nothing pre-created): try again
         * while IO runs, so Gecko Sink starts carrying audio as soon as a usable
         * segment appears, not only at the next StartIO. */
        if (every_500ms && w->reopen && !__atomic_load_n(&w->seg, __ATOMIC_ACQUIRE))
            w->reopen(w->reopen_ctx);
        attach_step(w, every_500ms); /* re-open by name every 500 ms */
        tap_step(w, every_500ms);
        if (every_500ms) check_latency(w);
        if (every_500ms && w->tick) w->tick(w->reopen_ctx);
    }
    return NULL;
}

void gecko_shm_writer_attach_start(GeckoShmWriter* w) {
    if (w->attach_running) return;
    w->reader_last_error = 1; /* force the first state to be logged */
    w->tap_last_error = 1;
    attach_step(w, true);     /* attach at once if the engine is there */
    tap_step(w, true);
    __atomic_store_n(&w->attach_stop, 0u, __ATOMIC_RELEASE);
    int rc = pthread_create(&w->attach_thread, NULL, attach_main, w);
    if (rc != 0) {
        gecko_log(LOG_ERR, "cannot start the reader attach thread: %s", strerror(rc));
        return;
    }
    w->attach_running = true;
}

void gecko_shm_writer_attach_stop(GeckoShmWriter* w) {
    if (w->attach_running) {
        __atomic_store_n(&w->attach_stop, 1u, __ATOMIC_RELEASE);
        pthread_join(w->attach_thread, NULL);
        w->attach_running = false;
    }
    /* IO is stopped: nothing uses the mappings any more. */
    const uintptr_t o = __atomic_exchange_n(&w->offer, (uintptr_t)0, __ATOMIC_ACQ_REL);
    if (o != 0 && o != GECKO_RD_DETACH) munmap((void*)o, GECKO_SHM_READER_SEGMENT_SIZE);
    if (w->io_reader) munmap(w->io_reader, GECKO_SHM_READER_SEGMENT_SIZE);
    w->io_reader = NULL;
    w->offered = NULL;
    reap_handback(w);
    w->cached_valid = false;
    w->cached_for = NULL;
    const uintptr_t t = __atomic_exchange_n(&w->tap_offer, (uintptr_t)0, __ATOMIC_ACQ_REL);
    if (t != 0 && t != GECKO_RD_DETACH) free_tap((GeckoShmTapMap*)t);
    free_tap(w->io_tap);
    w->io_tap = NULL;
    w->tap_offered = NULL;
    reap_tap_handback(w);
    w->tap_synced = false;
}

void gecko_shm_writer_close(GeckoShmWriter* w) {
    gecko_shm_writer_attach_stop(w);
    if (w->seg) {
        munmap(w->seg, w->map_size);
        w->seg = NULL;
        w->frames = NULL;
    }
}

/* ---- ring state (control path; the 'gkrs' property) ------------------------------ */

int gecko_shm_writer_format_state(const GeckoShmWriter* w, bool io_running, char* buf, size_t cap) {
    const GeckoShmWriterSegment* seg = w->seg;
    const int err = seg ? 0 : w->open_errno;
    const char* source = "none";
    if (seg && w->source == GECKO_SHM_SOURCE_CREATED) source = "created";
    if (seg && w->source == GECKO_SHM_SOURCE_EXISTING) source = "existing";
    const unsigned attached = seg ? (unsigned)LOAD_RELAXED(&seg->counters.reader_attached) : 0u;
    const unsigned long long faults = seg ? (unsigned long long)LOAD_RELAXED(&seg->counters.reader_faults) : 0u;
    return snprintf(buf, cap,
                    "writer=%s\nreader=%s\nmapped=%d\nsegment_bytes=%zu\nopen_errno=%d\nopen_error=%s\n"
                    "source=%s\nreader_attached=%u\nreader_faults=%llu\ngeneration=%llu\nio_running=%d\n",
                    w->name, w->reader_name, seg ? 1 : 0, segment_bytes(w->channels, w->capacity_frames),
                    err, err ? strerror(err) : "", source, attached ? 1u : 0u, faults,
                    (unsigned long long)w->generation, io_running ? 1 : 0);
}
