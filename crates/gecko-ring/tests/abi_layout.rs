//! Compares the C compiler's view of `driver/include/gecko_shm_abi.h`
//! (compiled by build.rs from csrc/abi_layout.c) with the Rust mirror in
//! `gecko_ring::abi`, in both directions.

use gecko_ring::abi::*;
use std::collections::BTreeMap;
use std::ffi::{CStr, c_char};
use std::mem::{offset_of, size_of};

#[repr(C)]
struct Entry {
    name: *const c_char,
    value: u64,
}

unsafe extern "C" {
    static gecko_abi_layout: [Entry; 0];
}

fn c_layout() -> BTreeMap<String, u64> {
    let mut map = BTreeMap::new();
    // SAFETY: the C table is a static array terminated by a NULL name.
    unsafe {
        let mut p = gecko_abi_layout.as_ptr();
        while !(*p).name.is_null() {
            let name = CStr::from_ptr((*p).name).to_str().unwrap().to_owned();
            map.insert(name, (*p).value);
            p = p.add(1);
        }
    }
    map
}

macro_rules! layout {
    ($map:ident; $($c:literal => $rust:ty { $($f:ident),* $(,)? })*) => {$(
        $map.insert(format!("sizeof {}", $c), size_of::<$rust>() as u64);
        $( $map.insert(format!("{}.{}", $c, stringify!($f)), offset_of!($rust, $f) as u64); )*
    )*};
}

fn rust_layout() -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    layout! { m;
        "GeckoShmWriterHeader" => WriterHeader { magic, version, header_size, segment_size,
            capacity_frames, channels, sample_format, bytes_per_frame, writer_pid, flags, instance_id, reserved }
        "GeckoShmWriterCounters" => WriterCountersRaw { write_count, io_cycles, gap_events,
            gap_frames, overlap_events, overlap_frames, overrun_events, overrun_frames,
            reader_faults, heartbeat_host_time, reader_attached, reserved0, reserved }
        "GeckoShmWriterState" => WriterStateRaw { seq, generation, sample_rate, zts_sample_time,
            zts_host_time, zts_seed, host_ticks_per_frame, host_ticks_per_second, volume_scalar,
            mute, io_running, zts_period_frames, clock_adjust_ppm, reserved }
        "GeckoShmWriterSegment" => WriterSegment { header, counters, state, loopback }
        "GeckoShmLoopbackCounters" => LoopbackCountersRaw { input_cycles, input_frames, silent_frames,
            resync_events, post_faults, repaired_samples, tap, post_delay_frames, post_attached,
            reserved0, reserved }
        "GeckoShmReaderHeader" => ReaderHeader { magic, version, segment_size, reader_pid, flags,
            instance_id, reserved }
        "GeckoShmReaderCounters" => ReaderCountersRaw { read_count, attached_generation,
            underrun_events, underrun_frames, skipped_frames, resync_events, heartbeat_ns,
            reserved }
        "GeckoShmReaderControl" => ReaderControl { seq, clock_adjust_ppm, latency_frames, loopback_tap, reserved }
        "GeckoShmReaderSegment" => ReaderSegment { header, counters, control }
        "GeckoShmLoopbackHeader" => LoopbackHeader { magic, version, header_size, segment_size,
            capacity_frames, channels, sample_format, bytes_per_frame, writer_pid, block_frames,
            instance_id, sample_rate, reserved }
        "GeckoShmLoopbackRing" => LoopbackRing { write_count, heartbeat_ns, reserved }
        "GeckoShmLoopbackSegment" => LoopbackSegment { header, ring }
    }
    let consts: [(&str, u64); 27] = [
        ("GECKO_SHM_NAME_MAX", NAME_MAX),
        ("GECKO_SHM_WRITER_NAME_MAX", WRITER_NAME_MAX),
        ("GECKO_SHM_WRITER_MAGIC", WRITER_MAGIC),
        ("GECKO_SHM_READER_MAGIC", READER_MAGIC),
        ("GECKO_SHM_VERSION", VERSION as u64),
        ("GECKO_SHM_CACHE_LINE", CACHE_LINE),
        ("GECKO_SHM_WRITER_HEADER_SIZE", WRITER_HEADER_SIZE as u64),
        ("GECKO_SHM_READER_SEGMENT_SIZE", READER_SEGMENT_SIZE as u64),
        ("GECKO_SHM_FORMAT_F32_INTERLEAVED", FORMAT_F32_INTERLEAVED as u64),
        ("GECKO_SHM_MIN_CAPACITY_FRAMES", MIN_CAPACITY_FRAMES as u64),
        ("GECKO_SHM_MAX_CAPACITY_FRAMES", MAX_CAPACITY_FRAMES as u64),
        ("GECKO_SHM_DEFAULT_CAPACITY_FRAMES", DEFAULT_CAPACITY_FRAMES as u64),
        ("GECKO_SHM_MIN_CHANNELS", MIN_CHANNELS as u64),
        ("GECKO_SHM_MAX_CHANNELS", MAX_CHANNELS as u64),
        ("GECKO_SHM_MODE", MODE as u64),
        ("GECKO_SHM_MAX_PAGE_SIZE", MAX_PAGE_SIZE),
        ("GECKO_SHM_MAX_LATENCY_FRAMES", MAX_LATENCY_FRAMES as u64),
        ("GECKO_SHM_MAX_CLOCK_ADJUST_PPM", MAX_CLOCK_ADJUST_PPM as u64),
        ("GECKO_SHM_MAX_CLOCK_SLEW_PPM", MAX_CLOCK_SLEW_PPM as u64),
        ("GECKO_LOOPBACK_TAP_UNSET", TAP_UNSET as u64),
        ("GECKO_LOOPBACK_TAP_OFF", TAP_OFF as u64),
        ("GECKO_LOOPBACK_TAP_PRE", TAP_PRE as u64),
        ("GECKO_LOOPBACK_TAP_POST", TAP_POST as u64),
        ("GECKO_SHM_LOOPBACK_MAGIC", LOOPBACK_MAGIC),
        ("GECKO_SHM_LOOPBACK_HEADER_SIZE", LOOPBACK_HEADER_SIZE as u64),
        ("GECKO_SHM_LOOPBACK_MIN_CAPACITY_FRAMES", LOOPBACK_MIN_CAPACITY_FRAMES as u64),
        ("GECKO_SHM_LOOPBACK_MAX_CAPACITY_FRAMES", LOOPBACK_MAX_CAPACITY_FRAMES as u64),
    ];
    for (k, v) in consts {
        m.insert(k.to_owned(), v);
    }
    m
}

#[test]
fn every_c_size_offset_and_constant_matches_the_rust_mirror() {
    let c = c_layout();
    let rust = rust_layout();
    assert!(c.len() > 60, "the C table looks truncated: {} entries", c.len());
    let mut mismatches = Vec::new();
    for (k, cv) in &c {
        match rust.get(k) {
            Some(rv) if rv == cv => {}
            Some(rv) => mismatches.push(format!("{k}: C {cv} vs Rust {rv}")),
            None => mismatches.push(format!("{k}: in C only")),
        }
    }
    for k in rust.keys().filter(|k| !c.contains_key(*k)) {
        mismatches.push(format!("{k}: in Rust only"));
    }
    assert!(mismatches.is_empty(), "ABI mismatches:\n{}", mismatches.join("\n"));
}

#[test]
fn hot_counters_sit_on_separate_cache_lines() {
    assert_eq!(off::WRITE_COUNT % CACHE_LINE as usize, 0);
    assert_eq!(off::READ_COUNT % CACHE_LINE as usize, 0);
    assert_ne!(off::WRITE_COUNT / 128, off::SEQ / 128);
    assert_eq!(&WRITER_MAGIC.to_le_bytes(), b"GECKORNG");
    assert_eq!(&READER_MAGIC.to_le_bytes(), b"GECKORDR");
    assert_eq!(&LOOPBACK_MAGIC.to_le_bytes(), b"GECKOLPB");
    assert_eq!(off::LP_WRITE_COUNT % CACHE_LINE as usize, 0);
    assert_eq!(off::W_LOOPBACK % CACHE_LINE as usize, 0);
    assert!(DEFAULT_NAME.len() as u64 + READER_SUFFIX.len() as u64 <= NAME_MAX);
}
