/*
 * gecko_shm_abi.h — the Gecko shared-memory ring, protocol v1.
 *
 * This header IS the ABI between the C driver (the writer, inside coreaudiod)
 * and the Rust engine (the reader). docs/shm-protocol.md explains it in prose;
 * crates/gecko-ring mirrors every struct with #[repr(C)] types and a test
 * compiles this header and checks every size and offset.
 *
 * Two POSIX shared-memory segments, each written by exactly one side:
 *
 *   writer segment  GECKO_SHM_DEFAULT_NAME  ("/GeckoAudioShm")
 *     created, sized and written only by the driver (user _coreaudiod),
 *     mode 0644: the engine maps it read-only.
 *       [0,   128)  GeckoShmWriterHeader   format, immutable within a generation
 *       [128, 256)  GeckoShmWriterCounters write_count (hot) and event counters
 *       [256, 384)  GeckoShmWriterState    seqlock: generation, rate, zero timestamp, volume
 *       [384, 512)  GeckoShmLoopbackCounters the input stream (loopback) state
 *       [header_size, segment_size)  capacity_frames x channels float32, interleaved
 *
 *   reader segment  <writer name> GECKO_SHM_READER_SUFFIX  ("/GeckoAudioShm.rd")
 *     created, sized and written only by the engine (the logged-in user),
 *     mode 0644: the driver maps it read-only.
 *       [0,   128)  GeckoShmReaderHeader
 *       [128, 256)  GeckoShmReaderCounters read_count (hot), attached generation
 *       [256, 384)  GeckoShmReaderControl  engine -> driver controls
 *
 *   loopback segment  <writer name> GECKO_SHM_LOOPBACK_SUFFIX ("/GeckoAudioShm.lp")
 *     created, sized and written only by the engine, mode 0644: the driver maps
 *     it read-only. The engine's output, for the post tap (see below).
 *
 * Every field is stored in the machine's native byte order (little-endian on
 * both arm64 and x86_64 Macs). Fields documented as "atomic" are accessed only
 * with atomic loads/stores of their natural size (C11 __atomic builtins,
 * Rust AtomicU64/AtomicU32); the orderings are given per field. Frame
 * counters are monotonically increasing 64-bit frame counts; the ring index
 * of frame count c is (c & (capacity_frames - 1)).
 *
 * Everything read from the other side's segment is untrusted: validate it
 * before use (see docs/shm-protocol.md, "Validation").
 */
#ifndef GECKO_SHM_ABI_H
#define GECKO_SHM_ABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- names, identity, limits ------------------------------------------ */

/** Default POSIX shm name of the writer segment (macOS limits names to 31 bytes). */
#define GECKO_SHM_DEFAULT_NAME "/GeckoAudioShm"
/** The reader segment's name is the writer segment's name followed by this suffix. */
#define GECKO_SHM_READER_SUFFIX ".rd"
/** Longest shm name macOS accepts (PSHMNAMLEN), in bytes, excluding the NUL. */
#define GECKO_SHM_NAME_MAX 31u
/** Longest writer-segment name, leaving room for the reader suffix. */
#define GECKO_SHM_WRITER_NAME_MAX (GECKO_SHM_NAME_MAX - 3u)

/** "GECKORNG" read as a little-endian u64: bytes 47 45 43 4B 4F 52 4E 47. */
#define GECKO_SHM_WRITER_MAGIC 0x474E524F4B434547ull
/** "GECKORDR" read as a little-endian u64: bytes 47 45 43 4B 4F 52 44 52. */
#define GECKO_SHM_READER_MAGIC 0x5244524F4B434547ull
/** Protocol version; a reader refuses any other value. */
#define GECKO_SHM_VERSION 1u

/** Cache-line size the layout is padded to (Apple Silicon uses 128-byte lines). */
#define GECKO_SHM_CACHE_LINE 128u
/** Bytes before the first frame in a v1 writer segment. */
#define GECKO_SHM_WRITER_HEADER_SIZE 512u
/** Size in bytes of a v1 reader segment. */
#define GECKO_SHM_READER_SEGMENT_SIZE 384u

/** sample_format: IEEE-754 float32, native endian, channels interleaved. */
#define GECKO_SHM_FORMAT_F32_INTERLEAVED 1u

/** Ring capacity bounds in frames (both powers of two). */
#define GECKO_SHM_MIN_CAPACITY_FRAMES 1024u
#define GECKO_SHM_MAX_CAPACITY_FRAMES 1048576u
/** Capacity the driver creates: 32768 frames = 683 ms at 48 kHz, 171 ms at 192 kHz. */
#define GECKO_SHM_DEFAULT_CAPACITY_FRAMES 32768u
/** Channel-count bounds. */
#define GECKO_SHM_MIN_CHANNELS 1u
#define GECKO_SHM_MAX_CHANNELS 64u

/** Mode of both segments: owner read/write, everyone else read-only. Given to
 *  shm_open(O_CREAT); macOS applies no umask to it (XNU bsd/kern/posix_shm.c,
 *  shm_open) and refuses fchmod on a shm descriptor (EINVAL). */
#define GECKO_SHM_MODE 0644

/** Largest page of a supported Mac (16 KiB on Apple silicon, 4 KiB on Intel).
 *  macOS rounds a shm object's size up to the page at its one ftruncate (XNU
 *  pshm_truncate) and fstat reports the rounded size, so a segment whose size
 *  is in [nominal, nominal rounded up to this] is the right size. */
#define GECKO_SHM_MAX_PAGE_SIZE 16384u

/* ---- writer segment (driver-owned) ------------------------------------- */

/**
 * Offset 0, 128 bytes. Written by the driver only while GeckoShmWriterState.seq
 * is odd (i.e. under the seqlock); a reader copies it inside a seqlock read
 * and re-validates it whenever the generation changes. Plain (non-atomic)
 * fields: read them only inside the seqlock read section.
 */
typedef struct GeckoShmWriterHeader {
    uint64_t magic;           /*   0: GECKO_SHM_WRITER_MAGIC */
    uint32_t version;         /*   8: GECKO_SHM_VERSION */
    uint32_t header_size;     /*  12: bytes before frame data; multiple of 128, >= 512 */
    uint64_t segment_size;    /*  16: header_size + capacity_frames * bytes_per_frame */
    uint32_t capacity_frames; /*  24: ring length in frames, a power of two */
    uint32_t channels;        /*  28: samples per frame */
    uint32_t sample_format;   /*  32: GECKO_SHM_FORMAT_F32_INTERLEAVED */
    uint32_t bytes_per_frame; /*  36: channels * 4 */
    uint32_t writer_pid;      /*  40: pid of the process hosting the driver */
    uint32_t flags;           /*  44: 0 in v1 */
    uint64_t instance_id;     /*  48: random, never 0, new each time the driver maps the
                                      segment: tells segments apart (macOS's fstat of a shm
                                      object has st_dev = st_ino = 0) */
    uint8_t  reserved[72];    /*  56: zero */
} GeckoShmWriterHeader;

/**
 * Offset 128, 128 bytes: the writer's hot cache line. Every field is atomic
 * and written only by the driver's IO thread.
 *   write_count: frames ever written to the ring (monotonic within a
 *     generation). Store-release AFTER the frames are in the ring; the reader
 *     load-acquires it before reading frames.
 *   the event counters: relaxed stores, relaxed loads (statistics).
 *   heartbeat_host_time: host time (host ticks) of the last IO cycle, relaxed.
 *   reader_attached: 1 while the driver sees a valid reader segment attached
 *     to the current generation (flow control active), else 0. Relaxed.
 */
typedef struct GeckoShmWriterCounters {
    uint64_t write_count;         /* 128: frames */
    uint64_t io_cycles;           /* 136: write-mix operations performed */
    uint64_t gap_events;          /* 144: cycles whose sample time jumped forward */
    uint64_t gap_frames;          /* 152: frames of silence written for gaps */
    uint64_t overlap_events;      /* 160: cycles whose sample time went backwards */
    uint64_t overlap_frames;      /* 168: frames dropped because already written */
    uint64_t overrun_events;      /* 176: cycles that found the ring full */
    uint64_t overrun_frames;      /* 184: frames dropped because the ring was full */
    uint64_t reader_faults;       /* 192: invalid reader-segment contents seen */
    uint64_t heartbeat_host_time; /* 200: host ticks */
    uint32_t reader_attached;     /* 208: 0 or 1 */
    uint32_t reserved0;           /* 212 */
    uint8_t  reserved[40];        /* 216 */
} GeckoShmWriterCounters;

/**
 * Offset 256, 128 bytes: the writer's published state, under a seqlock.
 * Writer: move seq from even to odd (CAS), then a release fence (so the
 * field stores cannot become visible before the odd seq), write the fields
 * (and, on (re)initialisation, the header), then store seq + 1 (even) with
 * release ordering. Reader: s1 = load-acquire(seq); if odd retry; copy the
 * fields (and header) with relaxed atomic loads; acquire fence;
 * s2 = load(seq); retry if s1 != s2. A reader bounds its retries and reports
 * an error instead of spinning forever on a hostile writer.
 * `generation` may also be load-acquired alone, outside the seqlock, as a
 * cheap "did anything change" check.
 */
typedef struct GeckoShmWriterState {
    uint64_t seq;                   /* 256: seqlock sequence, odd while writing */
    uint64_t generation;            /* 264: changes on every (re)start or format change; never 0 */
    double   sample_rate;           /* 272: Hz, the device's nominal sample rate */
    double   zts_sample_time;       /* 280: last zero timestamp, sample time (frames) */
    uint64_t zts_host_time;         /* 288: last zero timestamp, host time (host ticks) */
    uint64_t zts_seed;              /* 296: zero-timestamp seed; changes on a discontinuity */
    double   host_ticks_per_frame;  /* 304: host ticks per frame at the nominal rate */
    double   host_ticks_per_second; /* 312: host clock frequency (1e9 on Linux; mach timebase on macOS) */
    float    volume_scalar;         /* 320: device master volume, 0..1 (linear gain to apply) */
    uint32_t mute;                  /* 324: 0 or 1 */
    uint32_t io_running;            /* 328: 1 between StartIO and StopIO */
    uint32_t zts_period_frames;     /* 332: zero-timestamp period in frames */
    double   clock_adjust_ppm;      /* 336: clock adjustment the driver applies now, ppm (see GeckoShmReaderControl) */
    uint8_t  reserved[40];          /* 344 */
} GeckoShmWriterState;

/** Loopback taps (GeckoShmLoopbackCounters.tap, GeckoShmReaderControl.loopback_tap):
 *  which signal Gecko Sink's input stream carries. 0 in the reader control = no
 *  preference (an engine that predates loopback): the driver keeps its tap. */
#define GECKO_LOOPBACK_TAP_UNSET 0u
/** Silence. */
#define GECKO_LOOPBACK_TAP_OFF 1u
/** What apps played, at unity gain, before device volume and the engine (the
 *  driver's own copy of each WriteMix, by sample time: zero latency). */
#define GECKO_LOOPBACK_TAP_PRE 2u
/** What the engine sends to the speakers (after EQ, limiter and volume), read
 *  from the engine's loopback segment. */
#define GECKO_LOOPBACK_TAP_POST 3u

/**
 * Offset 384, 128 bytes: the input stream's state, written only by the
 * driver's IO thread (ReadInput), relaxed atomic stores; readers load them
 * relaxed (statistics). A line of its own, so the input path never touches
 * the ring's hot counters line.
 */
typedef struct GeckoShmLoopbackCounters {
    uint64_t input_cycles;      /* 384: ReadInput operations performed */
    uint64_t input_frames;      /* 392: frames delivered to the input stream */
    uint64_t silent_frames;     /* 400: of those, frames of silence substituted because the tap had
                                         nothing to give (off, post tap without a live engine) */
    uint64_t resync_events;     /* 408: times the post tap (re)locked onto the engine's stream */
    uint64_t post_faults;       /* 416: invalid loopback-segment contents seen (header changed,
                                         frames overwritten while copied) */
    uint64_t repaired_samples;  /* 424: non-finite samples replaced by 0, or clamped to +-1.0 */
    uint32_t tap;               /* 432: the tap in effect, GECKO_LOOPBACK_TAP_* */
    uint32_t post_delay_frames; /* 436: the post tap's distance behind the engine's newest frame */
    uint32_t post_attached;     /* 440: 1 while a valid loopback segment is mapped */
    uint32_t reserved0;         /* 444 */
    uint8_t  reserved[64];      /* 448 */
} GeckoShmLoopbackCounters;

/** The first GECKO_SHM_WRITER_HEADER_SIZE bytes of the writer segment. */
typedef struct GeckoShmWriterSegment {
    GeckoShmWriterHeader   header;   /*   0 */
    GeckoShmWriterCounters counters; /* 128 */
    GeckoShmWriterState    state;    /* 256 */
    GeckoShmLoopbackCounters loopback; /* 384 */
} GeckoShmWriterSegment;

/* ---- reader segment (engine-owned) ------------------------------------- */

/** Offset 0, 128 bytes, written once by the engine when it creates the segment. */
typedef struct GeckoShmReaderHeader {
    uint64_t magic;        /*   0: GECKO_SHM_READER_MAGIC */
    uint32_t version;      /*   8: GECKO_SHM_VERSION */
    uint32_t segment_size; /*  12: GECKO_SHM_READER_SEGMENT_SIZE */
    uint32_t reader_pid;   /*  16: pid of the engine (informational) */
    uint32_t flags;        /*  20: 0 in v1 */
    uint64_t instance_id;  /*  24: random, never 0, new at each attach of an engine; the
                                   driver re-maps the segment behind the name when it differs
                                   from the one it maps (no dev/ino on macOS) */
    uint8_t  reserved[96]; /*  32 */
} GeckoShmReaderHeader;

/**
 * Offset 128, 128 bytes: the reader's hot cache line; atomic fields written
 * only by the engine.
 *   read_count: frames consumed (same counting as write_count). Store-release
 *     AFTER the frames were copied out; the driver load-acquires it before
 *     overwriting ring frames.
 *   attached_generation: the writer generation this reader follows; 0 =
 *     detached. To attach, the reader stores read_count first, then
 *     store-releases attached_generation; the driver load-acquires
 *     attached_generation and honours read_count only when it equals the
 *     current generation.
 *   the rest: reader-side statistics, relaxed.
 */
typedef struct GeckoShmReaderCounters {
    uint64_t read_count;          /* 128: frames */
    uint64_t attached_generation; /* 136 */
    uint64_t underrun_events;     /* 144: times the reader wanted frames that were not there */
    uint64_t underrun_frames;     /* 152: frames of silence the reader had to substitute */
    uint64_t skipped_frames;      /* 160: frames jumped over on attach / resync */
    uint64_t resync_events;       /* 168: attaches and resynchronisations */
    uint64_t heartbeat_ns;        /* 176: reader's monotonic clock, ns (informational) */
    uint8_t  reserved[72];        /* 184 */
} GeckoShmReaderCounters;

/**
 * Offset 256, 128 bytes: engine -> driver controls, written only by the engine.
 *   clock_adjust_ppm: the rate the engine asks the device clock to run at,
 *     relative to nominal, in parts per million (+ = faster: more frames per
 *     host second). An atomic 64-bit store (relaxed) of an IEEE-754 double;
 *     the driver's WriteMix thread loads it once per IO cycle and the clock
 *     applies it at most once per zero-timestamp period; it ignores
 *     non-finite values, clamps it to +-GECKO_SHM_MAX_CLOCK_ADJUST_PPM and
 *     moves towards it by at most GECKO_SHM_MAX_CLOCK_SLEW_PPM per period.
 *     Honoured only while attached_generation equals the writer's generation;
 *     0 (nominal) otherwise.
 *   latency_frames: the engine's latency after the ring, in frames at the
 *     ring's sample rate (its target fill level); a relaxed 32-bit store. The
 *     driver's attach thread reads it about every 500 ms from an attached
 *     engine, ignores values above GECKO_SHM_MAX_LATENCY_FRAMES, and when it
 *     differs by more than 5 ms from the latency the device reports, asks the
 *     host to change it (RequestDeviceConfigurationChange), so the device's
 *     kAudioDevicePropertyLatency covers it and players stay in lip-sync.
 *   loopback_tap: the signal the user wants on Gecko Sink's input stream
 *     (GECKO_LOOPBACK_TAP_OFF/PRE/POST); a relaxed 32-bit store. The driver's
 *     IO thread loads it at each ReadInput from an attached engine and keeps
 *     the last valid value it saw (also once the engine is gone); 0 and any
 *     value outside 1..3 are ignored. The driver starts with the pre tap.
 */
typedef struct GeckoShmReaderControl {
    uint64_t seq;              /* 256: reserved for multi-field updates (0 in v1) */
    double   clock_adjust_ppm; /* 264: ppm */
    uint32_t latency_frames;   /* 272: frames the engine holds between the ring and the speakers */
    uint32_t loopback_tap;     /* 276: GECKO_LOOPBACK_TAP_*, the tap the user chose (0 = no preference) */
    uint8_t  reserved[104];    /* 280 */
} GeckoShmReaderControl;

/** Largest latency_frames the driver accepts (about 2.7 s at 192 kHz); more is
 *  ignored as a hostile or corrupt value. */
#define GECKO_SHM_MAX_LATENCY_FRAMES 524288u

/** Largest clock adjustment the driver applies, ppm (1 %). */
#define GECKO_SHM_MAX_CLOCK_ADJUST_PPM 10000.0
/** Largest change of the applied adjustment per zero-timestamp period, ppm. */
#define GECKO_SHM_MAX_CLOCK_SLEW_PPM 100.0

/** The whole reader segment. */
typedef struct GeckoShmReaderSegment {
    GeckoShmReaderHeader   header;   /*   0 */
    GeckoShmReaderCounters counters; /* 128 */
    GeckoShmReaderControl  control;  /* 256 */
} GeckoShmReaderSegment;

/* ---- loopback segment (engine-owned): the post tap ------------------------ */

/** The loopback segment's name is the writer segment's name followed by this suffix. */
#define GECKO_SHM_LOOPBACK_SUFFIX ".lp"
/** "GECKOLPB" read as a little-endian u64: bytes 47 45 43 4B 4F 4C 50 42. */
#define GECKO_SHM_LOOPBACK_MAGIC 0x42504C4F4B434547ull
/** Bytes before the first frame of a v1 loopback segment. */
#define GECKO_SHM_LOOPBACK_HEADER_SIZE 256u
/** Loopback ring capacity bounds in frames (powers of two). */
#define GECKO_SHM_LOOPBACK_MIN_CAPACITY_FRAMES 1024u
#define GECKO_SHM_LOOPBACK_MAX_CAPACITY_FRAMES 65536u

/**
 * The loopback segment <writer name> GECKO_SHM_LOOPBACK_SUFFIX
 * ("/GeckoAudioShm.lp"): created, sized and written only by the engine, mode
 * 0644; the driver maps it read-only and never writes to it. The engine puts
 * every frame it sends to the speakers into it (interleaved float32, the
 * writer segment's channel count, at `sample_rate`), after its DSP, as a
 * stream without time stamps; the driver serves it on the input stream a
 * fixed distance behind the newest frame (the post tap).
 *
 *   [0,   128)  GeckoShmLoopbackHeader   written once at creation (instance_id last,
 *                                        store-release); block_frames may grow later
 *   [128, 256)  GeckoShmLoopbackRing     write_count (hot)
 *   [256, segment_size)  capacity_frames x channels float32, interleaved
 *
 * There is no read counter: the engine never waits for the driver and simply
 * overwrites the oldest frames. The driver validates the header at map time
 * and at every ReadInput, load-acquires write_count before copying frames,
 * and after the copy (acquire fence) re-loads write_count: frames the engine
 * may have overwritten meanwhile are discarded (silence, a post fault).
 */
typedef struct GeckoShmLoopbackHeader {
    uint64_t magic;           /*   0: GECKO_SHM_LOOPBACK_MAGIC */
    uint32_t version;         /*   8: GECKO_SHM_VERSION */
    uint32_t header_size;     /*  12: GECKO_SHM_LOOPBACK_HEADER_SIZE */
    uint64_t segment_size;    /*  16: header_size + capacity_frames * bytes_per_frame */
    uint32_t capacity_frames; /*  24: a power of two in the bounds above */
    uint32_t channels;        /*  28: samples per frame (the writer segment's) */
    uint32_t sample_format;   /*  32: GECKO_SHM_FORMAT_F32_INTERLEAVED */
    uint32_t bytes_per_frame; /*  36: channels * 4 */
    uint32_t writer_pid;      /*  40: pid of the engine (informational) */
    uint32_t block_frames;    /*  44: atomic (relaxed): the most frames the engine writes at once */
    uint64_t instance_id;     /*  48: random, never 0, new per segment; store-release, last */
    double   sample_rate;     /*  56: Hz, the rate of the frames (the device's nominal rate) */
    uint8_t  reserved[64];    /*  64 */
} GeckoShmLoopbackHeader;

/** Offset 128: write_count, frames ever written (atomic; store-release after the frames). */
typedef struct GeckoShmLoopbackRing {
    uint64_t write_count;  /* 128: frames */
    uint64_t heartbeat_ns; /* 136: engine's monotonic clock at the last write, ns (informational) */
    uint8_t  reserved[112]; /* 144 */
} GeckoShmLoopbackRing;

/** The first GECKO_SHM_LOOPBACK_HEADER_SIZE bytes of the loopback segment. */
typedef struct GeckoShmLoopbackSegment {
    GeckoShmLoopbackHeader header; /*   0 */
    GeckoShmLoopbackRing   ring;   /* 128 */
} GeckoShmLoopbackSegment;

/* Compile-time layout checks (C11). */
#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
_Static_assert(sizeof(GeckoShmWriterHeader) == 128, "writer header is one cache line");
_Static_assert(sizeof(GeckoShmWriterCounters) == 128, "writer counters are one cache line");
_Static_assert(sizeof(GeckoShmWriterState) == 128, "writer state is one cache line");
_Static_assert(sizeof(GeckoShmWriterSegment) == GECKO_SHM_WRITER_HEADER_SIZE, "writer header size");
_Static_assert(sizeof(GeckoShmReaderSegment) == GECKO_SHM_READER_SEGMENT_SIZE, "reader segment size");
_Static_assert(sizeof(GeckoShmLoopbackCounters) == 128, "loopback counters are one cache line");
_Static_assert(sizeof(GeckoShmLoopbackSegment) == GECKO_SHM_LOOPBACK_HEADER_SIZE, "loopback header size");
#endif

#ifdef __cplusplus
}
#endif

#endif /* GECKO_SHM_ABI_H */
