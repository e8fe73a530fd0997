/*
 * gecko_shm_writer.h — the driver side of the Gecko shared-memory ring
 * (protocol v1, driver/include/gecko_shm_abi.h).
 *
 * Kept apart from the CoreAudio code so another transport could replace it:
 * the rest of the driver only calls the functions below.
 *
 * Threads:
 *   control path (Initialize, StartIO, StopIO): open, publish_state,
 *     attach_start, attach_stop. May block, allocate, log.
 *   attach thread (started by attach_start): discovers and maps the engine's
 *     reader segment, offers it to the IO thread (again on re-creation), unmaps
 *     the mappings the IO thread hands back.
 *   IO thread: write_mix, try_publish_zts, clock_request. Never blocks, allocates, locks,
 *     logs, makes a syscall or issues a full memory fence.
 *
 * Reader-mapping hand-over (two single-slot mailboxes, acquire/release only):
 *   `offer`: the attach thread stores a new mapping (or GECKO_RD_DETACH) while it
 *     is 0; the IO thread takes it at its next use and stores 0.
 *   `handback`: when it takes an offer, the IO thread stores the mapping it stops
 *     using while the slot is 0 (it keeps the old one until then); the attach
 *     thread unmaps it and stores 0. The IO thread's last access to a mapping
 *     happens before its release store of `handback`, which happens before the
 *     munmap: no mapping is unmapped while the IO thread may still read it.
 */
#ifndef GECKO_SHM_WRITER_H
#define GECKO_SHM_WRITER_H

#include "gecko_shm_abi.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/** What the writer publishes in GeckoShmWriterState (under the seqlock). */
typedef struct GeckoShmParams {
    double sample_rate;           /* Hz */
    double zts_sample_time;       /* frames */
    uint64_t zts_host_time;       /* host ticks */
    uint64_t zts_seed;
    double host_ticks_per_frame;  /* host ticks per frame */
    double host_ticks_per_second; /* host ticks per second */
    float volume_scalar;          /* 0..1 */
    uint32_t mute;                /* 0 or 1 */
    uint32_t io_running;          /* 0 or 1 */
    uint32_t zts_period_frames;   /* frames */
    double clock_adjust_ppm;      /* applied clock adjustment, ppm */
} GeckoShmParams;

/** How the writer segment was obtained (GeckoShmWriter.source). */
typedef enum GeckoShmSource {
    GECKO_SHM_SOURCE_NONE = 0, /* not mapped */
    GECKO_SHM_SOURCE_CREATED,  /* created (or re-created) by the driver */
    GECKO_SHM_SOURCE_EXISTING, /* an existing segment opened without O_CREAT */
} GeckoShmSource;

/** The writer's state. Zero-initialise, then gecko_shm_writer_init. */
typedef struct GeckoShmWriter {
    /* configuration (control path) */
    char name[GECKO_SHM_NAME_MAX + 1];        /* writer segment name */
    char reader_name[GECKO_SHM_NAME_MAX + 1]; /* name + GECKO_SHM_READER_SUFFIX */
    uint32_t channels;                        /* samples per frame */
    uint32_t capacity_frames;                 /* ring length, frames, power of two */

    /* writer segment (mapped by the control path before IO starts) */
    GeckoShmWriterSegment* seg; /* NULL when not mapped; stored last with release, IO thread loads acquire */
    float* frames;              /* capacity_frames x channels float32, interleaved */
    size_t map_size;            /* bytes */
    uint64_t generation;        /* never 0 once mapped */
    bool open_failed_logged;    /* a failure to open was logged (open_logged_errno) */
    int open_logged_errno;
    int open_errno;             /* errno of the last failed open, 0 when mapped */
    GeckoShmSource source;      /* how `seg` was obtained (control path) */
    /* Called by the attach thread about every 500 ms while IO runs and `seg` is
     * NULL; it must not block (try the driver's lock, give up if busy) and, if it
     * can, call gecko_shm_writer_open. NULL: no re-open while IO runs. */
    void (*reopen)(void* ctx);
    void* reopen_ctx;
    /* Called by the attach thread (about every 500 ms, only when the value changed)
     * with the attached engine's latency_frames, already validated; same rules as
     * `reopen` (never block). Returns false to be called again with the same value
     * (it could not act now). Context: reopen_ctx. NULL: ignored. */
    bool (*latency)(void* ctx, uint32_t frames);
    /* Called by the attach thread about every 500 ms while IO runs, after the
     * reader checks; same rules as `reopen` (never block). Context: reopen_ctx.
     * NULL: none. */
    void (*tick)(void* ctx);
    uint32_t latency_seen;   /* attach thread: the last value `latency` took */
    bool latency_seen_valid;

    /* reader segment hand-over (see the top of this file) */
    uintptr_t offer;                  /* atomic: 0, a mapping, or GECKO_RD_DETACH */
    uintptr_t handback;               /* atomic: 0 or a mapping to unmap */
    GeckoShmReaderSegment* io_reader; /* IO thread only: the mapping in use; NULL = none */
    GeckoShmReaderSegment* offered;   /* attach thread only: the newest mapping offered */
    uint64_t reader_instance;         /* instance id of `offered` (attach thread) */
    pthread_t attach_thread;
    bool attach_running;            /* control path */
    uint32_t attach_stop;           /* atomic flag */
    int reader_last_error;          /* attach thread: last logged state, to log changes only */

    /* loopback segment (the post tap) hand-over: `tap_offer` / `tap_handback`, the
     * same single-slot protocol as the reader's, carrying a GeckoShmTapMap the
     * attach thread allocates (and frees once handed back). */
    char tap_name[GECKO_SHM_NAME_MAX + 1];     /* name + GECKO_SHM_LOOPBACK_SUFFIX */
    uintptr_t tap_offer;                       /* atomic: 0, a GeckoShmTapMap*, or GECKO_RD_DETACH */
    uintptr_t tap_handback;                    /* atomic: 0 or a GeckoShmTapMap* to release */
    struct GeckoShmTapMap* io_tap;             /* IO thread only: the mapping in use */
    struct GeckoShmTapMap* tap_offered;        /* attach thread only: the newest mapping offered */
    int tap_last_error;                        /* attach thread: last logged state */

    /* IO-thread private post-tap reading state (ReadInput) */
    uint64_t tap_pos;          /* next loopback frame (count) to serve */
    uint64_t tap_next_time;    /* input sample time expected next */
    bool tap_synced;           /* tap_pos is locked onto the engine's stream */
    uint64_t tap_served;       /* loopback frames of this mapping served so far (end count) */
    /* IO-thread private: the latest run of frames whose sample times and ring
     * positions follow each other (the pre tap reads the ring by sample time):
     * sample times [run_end_time - run_frames, run_end_time) sit at write
     * counts [run_end_count - run_frames, run_end_count). */
    uint64_t run_end_time, run_end_count, run_frames;
    /* IO-thread private mirrors of GeckoShmLoopbackCounters */
    uint64_t lb_input_cycles, lb_input_frames, lb_silent_frames, lb_resync_events;
    uint64_t lb_post_faults, lb_repaired_samples;
    uint32_t lb_tap, lb_post_delay, lb_post_attached;

    /* IO-thread private ring state */
    uint64_t write_count;     /* W: frames ever written (this writer) */
    uint64_t expected_time;   /* E: sample time (frames) expected next */
    bool expected_valid;      /* false on the first cycle and after an invalid time */
    uint64_t cached_read;     /* last read_count loaded from the reader */
    const GeckoShmReaderSegment* cached_for; /* mapping cached_read came from */
    bool cached_valid;

    /* IO-thread private mirrors of GeckoShmWriterCounters */
    uint64_t io_cycles, gap_events, gap_frames, overlap_events, overlap_frames;
    uint64_t overrun_events, overrun_frames, reader_faults;
    bool events_dirty;            /* an event counter changed since it was last stored */
    uint32_t attached_published;  /* the reader_attached value last stored */
} GeckoShmWriter;

/**
 * Sets the names and the format. `name`: writer segment name (starts with
 * '/', at most GECKO_SHM_WRITER_NAME_MAX bytes). `channels`: samples per
 * frame; `capacity_frames`: ring length in frames (power of two).
 */
void gecko_shm_writer_init(GeckoShmWriter* w, const char* name, uint32_t channels,
                           uint32_t capacity_frames);

/** A mapped loopback segment as the attach thread validated it (attach thread
 *  allocates, IO thread uses, attach thread frees after the hand-back). The IO
 *  thread trusts only these copies, never the segment's own header fields. */
typedef struct GeckoShmTapMap {
    const GeckoShmLoopbackSegment* seg; /* read-only mapping */
    const float* frames;                /* capacity_frames x channels, interleaved */
    size_t map_size;                    /* bytes mapped */
    uint64_t instance;                  /* header.instance_id at map time */
    uint32_t capacity_frames;           /* validated power of two */
    uint32_t channels;                  /* == the writer's */
    double sample_rate;                 /* Hz, header.sample_rate at map time */
} GeckoShmTapMap;

/**
 * Control path. Creates or reuses the writer segment, maps it and publishes
 * the header and `p` with a new generation. `host_now` (host ticks) seeds the
 * generation when no valid old one exists. No-op returning 0 when already
 * mapped. Returns 0 on success, -1 on failure (logged; the driver keeps
 * working without shm and retries at the next StartIO).
 */
int gecko_shm_writer_open(GeckoShmWriter* w, const GeckoShmParams* p, uint64_t host_now);

/**
 * Control path. Publishes `p` under the seqlock; with `new_generation`, also
 * moves to a new generation (the reader re-attaches) and resets the IO-private
 * sample-time tracking. No-op when not mapped.
 */
void gecko_shm_writer_publish(GeckoShmWriter* w, const GeckoShmParams* p, bool new_generation);

/**
 * Forgets the IO-private sample-time tracking so the next WriteMix is treated
 * as the first of a run (no gap/overlap accounting against the previous run's
 * sample times). Control path, only while IO is stopped (first StartIO).
 */
void gecko_shm_writer_io_restart(GeckoShmWriter* w);

/**
 * Control path. Publishes only the volume (linear gain, 0..1) and mute fields
 * under the seqlock (safe while IO runs: it never touches the IO thread's
 * zero-timestamp fields). No-op when not mapped.
 */
void gecko_shm_writer_publish_volume(GeckoShmWriter* w, float gain, uint32_t mute);

/**
 * IO path. Publishes a new zero timestamp (frames, host ticks, seed) and the
 * applied clock adjustment (ppm) if the seqlock is free right now; returns
 * false (caller retries later) if not.
 */
bool gecko_shm_writer_try_publish_zts(GeckoShmWriter* w, double sample_time, uint64_t host_time,
                                      uint64_t seed, double clock_adjust_ppm);

/**
 * IO path. The engine's requested clock adjustment (GeckoShmReaderControl.
 * clock_adjust_ppm, ppm, unvalidated: may be any bit pattern) when a valid
 * reader segment is attached to the current generation; false otherwise.
 * A few atomic loads (one 64-bit load of the value), no syscall.
 */
bool gecko_shm_writer_clock_request(GeckoShmWriter* w, double* out_ppm);

/**
 * IO path. Writes `n` frames of interleaved float32 (`src`, n x channels)
 * whose first frame has device sample time `sample_time` (frames) into the
 * ring, following the WriteMix algorithm (gaps → silence, overlaps dropped,
 * full ring → overrun). `host_time`: host ticks of this cycle (heartbeat).
 * Requires 0 < n <= capacity_frames.
 */
void gecko_shm_writer_write_mix(GeckoShmWriter* w, const float* src, uint32_t n,
                                double sample_time, uint64_t host_time);

/** What gecko_shm_writer_read_post delivered. */
typedef enum GeckoTapRead {
    GECKO_TAP_SILENT = 0,   /* no usable loopback frames: `dst` holds silence */
    GECKO_TAP_DATA = 1,     /* frames that follow the previous cycle's */
    GECKO_TAP_RESYNCED = 2, /* frames after a (re)lock: not continuous with the previous cycle */
} GeckoTapRead;

/** Frames the post tap stays behind the engine's newest frame, besides the engine's
 *  block and two IO buffers: scheduling margin (10.7 ms at 48 kHz). */
#define GECKO_TAP_MARGIN_FRAMES 512u

/**
 * IO path (ReadInput). The loopback tap the attached engine asks for
 * (GeckoShmReaderControl.loopback_tap) when it is GECKO_LOOPBACK_TAP_OFF, _PRE or
 * _POST; GECKO_LOOPBACK_TAP_UNSET when no engine is attached or it expresses none
 * (or an invalid value). A few atomic loads.
 */
uint32_t gecko_shm_writer_tap_request(GeckoShmWriter* w);

/**
 * IO path (ReadInput). Fills `dst` (n x channels float32, interleaved) with the
 * engine's loopback stream for input sample time `sample_time` (frames; false
 * `time_ok` = unknown): a fixed distance behind the engine's newest frame,
 * continuous while the sample times are. Locks (again) onto the stream at the
 * first call, after a discontinuity in sample time, after a shortage (the engine
 * absent or late: silence this cycle), and when the engine lapped the reading
 * position. Every header field is re-validated; samples are repaired
 * (non-finite -> 0, clamped to +-1.0). Never blocks, allocates or makes a syscall.
 */
GeckoTapRead gecko_shm_writer_read_post(GeckoShmWriter* w, float* dst, uint32_t n, double sample_time,
                                        double device_rate);

/**
 * IO path (ReadInput, on the WriteMix thread). The pre tap: fills `dst` (n x
 * channels float32, interleaved) with the frames WriteMix wrote for output sample
 * times [sample_time, sample_time + n), read back from the ring (the driver's own
 * segment: trusted); silence for times no WriteMix covered, or overwritten since
 * (more than a ring's length ago). Returns the frames of silence. At most two
 * memcpy per covered stretch; no syscall.
 */
uint32_t gecko_shm_writer_read_pre(GeckoShmWriter* w, float* dst, uint32_t n, double sample_time);

/** IO path: forgets the post tap's lock (the next read re-locks), e.g. when the tap changes. */
void gecko_shm_writer_post_unsync(GeckoShmWriter* w);

/** IO path (end of ReadInput): counts one input cycle of `n` frames, `silent` of them
 *  silence, with `tap` in effect, and stores the loopback counters to the writer
 *  segment (relaxed stores to their own cache line). */
void gecko_shm_writer_loopback_done(GeckoShmWriter* w, uint32_t tap, uint32_t n, uint32_t silent);

/** Control path (first StartIO): maps the reader segment if present and starts
 *  the attach thread. */
void gecko_shm_writer_attach_start(GeckoShmWriter* w);

/** Control path (last StopIO, teardown): stops and joins the attach thread and
 *  unmaps every reader mapping. The IO thread must not be running. */
void gecko_shm_writer_attach_stop(GeckoShmWriter* w);

/** shm_open as the platform has it: on macOS the system's; in the Linux build for
 *  the simulated host, the system's unless the host asked to play a sandbox that
 *  refuses creation (GeckoSimConfig.deny_shm_create: any O_CREAT fails with EPERM,
 *  as XNU's MAC check does whenever O_CREAT is given). driver/src/gecko_clock.c. */
int gecko_shm_open(const char* name, int oflag, mode_t mode);

/** Whether `actual` bytes (fstat) is a segment of `nominal` bytes, allowing the
 *  kernel's rounding up to the page (at most GECKO_SHM_MAX_PAGE_SIZE). */
bool gecko_shm_size_ok(uint64_t actual, uint64_t nominal);

/** Control path (teardown): attach_stop, then unmaps the writer segment (never unlinks it). */
void gecko_shm_writer_close(GeckoShmWriter* w);

/** Bytes that always hold gecko_shm_writer_format_state's text (two names of at
 *  most GECKO_SHM_NAME_MAX bytes, strerror's text, nine numbers). */
#define GECKO_SHM_STATE_TEXT_MAX 768u

/**
 * Control path (the caller serialises it with open/publish/close). Formats
 * the writer's state as "key=value\n" lines, in this order: writer (segment
 * name), reader (reader segment name), mapped (1/0), segment_bytes (nominal
 * writer segment size, bytes), open_errno (errno of the last failure to
 * open/create/size/map the writer segment; 0 when mapped), open_error
 * (strerror(open_errno), empty when 0), source (created|existing|none),
 * reader_attached (the published counters.reader_attached, 1/0), reader_faults
 * (the published counter), generation, io_running (the caller's `io_running`,
 * 1/0). Counters are read with relaxed atomic loads. Writes at most `cap` bytes
 * into `buf`, NUL-terminated (GECKO_SHM_STATE_TEXT_MAX always suffices); returns
 * snprintf's count. No allocation.
 */
int gecko_shm_writer_format_state(const GeckoShmWriter* w, bool io_running, char* buf, size_t cap);

#endif /* GECKO_SHM_WRITER_H */
