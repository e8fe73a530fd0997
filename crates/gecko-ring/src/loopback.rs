//! The loopback: Gecko Sink's input stream, and the engine's side of it.
//!
//! The driver serves one of three [`Tap`]s on Gecko Sink's input stream
//! (`driver/src/gecko_loopback.c`): what apps played (`pre`), what the
//! engine plays (`post`), or silence (`off`). The engine chooses with
//! [`crate::Reader::set_loopback_tap`]; for the post tap it writes every
//! frame it sends to the speakers into the loopback segment
//! ([`LoopbackWriter`], `<ring>.lp`), which the driver maps read-only. What
//! the driver did is in the writer segment's [`LoopbackCounters`]
//! ([`crate::RingStatus::loopback`]).

use crate::abi::{self, off};
use crate::error::RingError;
use crate::shm::{self, atomic_u32, atomic_u64};
use memmap2::{MmapMut, MmapOptions};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::mman::{shm_open, shm_unlink};
use nix::sys::stat::{Mode, fchmod, fstat};
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;

/// Which signal Gecko Sink's input stream carries. On the control
/// protocol's wire (gecko-control's `LoopbackTap`) it is `"pre"`, `"post"`
/// or `"off"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tap {
    /// Silence.
    Off,
    /// What apps played, exactly, at unity gain: before device volume and
    /// before the engine. Zero latency: input sample time t carries the
    /// output frame of sample time t. The driver's default.
    #[default]
    Pre,
    /// What the engine sends to the speakers: after EQ, limiter and volume.
    /// Latency: the engine's plus the tap's distance behind it (reported in
    /// the device's input-scope `kAudioDevicePropertyLatency`).
    Post,
}

impl Tap {
    /// The ABI code (`GECKO_LOOPBACK_TAP_*`).
    pub fn code(self) -> u32 {
        match self {
            Tap::Off => abi::TAP_OFF,
            Tap::Pre => abi::TAP_PRE,
            Tap::Post => abi::TAP_POST,
        }
    }

    /// The tap for an ABI code; `None` for [`abi::TAP_UNSET`] and invalid codes.
    pub fn from_code(code: u32) -> Option<Tap> {
        match code {
            abi::TAP_OFF => Some(Tap::Off),
            abi::TAP_PRE => Some(Tap::Pre),
            abi::TAP_POST => Some(Tap::Post),
            _ => None,
        }
    }

    /// What the tap carries, for people (the CLI and the app say it alike).
    pub fn describe(self) -> &'static str {
        match self {
            Tap::Pre => "what apps play, before volume and EQ",
            Tap::Post => "what you hear, after EQ, limiter and volume",
            Tap::Off => "silence",
        }
    }

    /// The name used by the CLI and the control protocol: `off`, `pre`, `post`.
    pub fn name(self) -> &'static str {
        match self {
            Tap::Off => "off",
            Tap::Pre => "pre",
            Tap::Post => "post",
        }
    }
}

impl std::fmt::Display for Tap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Tap {
    type Err = String;
    fn from_str(s: &str) -> Result<Tap, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "off" => Ok(Tap::Off),
            "pre" => Ok(Tap::Pre),
            "post" => Ok(Tap::Post),
            other => Err(format!("unknown loopback tap {other:?}: use pre, post or off")),
        }
    }
}

/// What the driver's input stream did (`GeckoShmLoopbackCounters`, relaxed
/// snapshot; the fields are not mutually consistent).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoopbackCounters {
    /// ReadInput operations performed (0: no app records Gecko Sink).
    pub input_cycles: u64,
    /// Frames delivered to the input stream.
    pub input_frames: u64,
    /// Of those, frames of silence substituted because the tap had nothing
    /// (off; post without a live engine; pre where nothing was played).
    pub silent_frames: u64,
    /// Times the post tap (re)locked onto the engine's stream.
    pub resync_events: u64,
    /// Invalid loopback-segment contents the driver saw.
    pub post_faults: u64,
    /// Samples the driver repaired (non-finite → 0, beyond ±1.0 → ±1.0).
    pub repaired_samples: u64,
    /// The tap in effect (`None` before the first ReadInput).
    pub tap: Option<Tap>,
    /// The post tap's distance behind the engine's newest frame, frames.
    pub post_delay_frames: u32,
    /// The driver has a valid loopback segment mapped.
    pub post_attached: bool,
}

impl LoopbackCounters {
    /// Reads the counters at `base` (a writer segment's mapping).
    ///
    /// # Safety
    /// `base` must point at a live mapping of at least
    /// [`abi::WRITER_HEADER_SIZE`] bytes.
    pub(crate) unsafe fn load(base: *const u8) -> LoopbackCounters {
        let o = off::W_LOOPBACK;
        // SAFETY: the loopback line is inside the first 512 bytes (caller's contract).
        let (u64_at, u32_at) = unsafe {
            (
                |i: usize| atomic_u64(base, o + 8 * i).load(Ordering::Relaxed),
                |b: usize| atomic_u32(base, o + b).load(Ordering::Relaxed),
            )
        };
        LoopbackCounters {
            input_cycles: u64_at(0),
            input_frames: u64_at(1),
            silent_frames: u64_at(2),
            resync_events: u64_at(3),
            post_faults: u64_at(4),
            repaired_samples: u64_at(5),
            tap: Tap::from_code(u32_at(48)),
            post_delay_frames: u32_at(52),
            post_attached: u32_at(56) != 0,
        }
    }
}

/// The loopback segment's name for a ring's writer-segment name.
pub fn loopback_name(writer_name: &str) -> String {
    format!("{writer_name}{}", abi::LOOPBACK_SUFFIX)
}

/// The engine's loopback segment (`<ring>.lp`): every frame the engine
/// plays, for the driver's post tap. Created anew by [`LoopbackWriter::create`]
/// (a fresh instance id the driver follows), removed on drop.
pub struct LoopbackWriter {
    name: String,
    map: MmapMut,
    instance: u64,
    channels: usize,
    capacity: u64,
    write_count: u64,
    block_frames: u32,
}

impl LoopbackWriter {
    /// Frames the engine keeps by default: 16384 (341 ms at 48 kHz).
    pub const DEFAULT_CAPACITY_FRAMES: u32 = 16384;

    /// Creates the loopback segment of the ring `writer_name` for `channels`
    /// interleaved float32 channels at `sample_rate` Hz, holding
    /// `capacity_frames` frames (a power of two within
    /// [`abi::LOOPBACK_MIN_CAPACITY_FRAMES`]..=[`abi::LOOPBACK_MAX_CAPACITY_FRAMES`]).
    /// An old segment of that name is unlinked first: within macOS's rules
    /// (one `ftruncate` per shm object, XNU `pshm_truncate`; no umask and no
    /// `fchmod` on shm there) a segment is sized once, so a new one is the
    /// only safe way to start. Mode 0644.
    ///
    /// Errors: [`RingError::InvalidName`], [`RingError::ShmOpen`],
    /// [`RingError::ShmIo`], [`RingError::Mmap`]; [`RingError::Corrupt`] for
    /// a bad capacity or channel count.
    pub fn create(
        writer_name: &str,
        channels: u32,
        sample_rate: f64,
        capacity_frames: u32,
    ) -> Result<LoopbackWriter, RingError> {
        shm::validate_name(writer_name)?;
        let name = loopback_name(writer_name);
        let bad = |what: String| RingError::LoopbackFormat { name: name.clone(), what };
        if !capacity_frames.is_power_of_two()
            || !(abi::LOOPBACK_MIN_CAPACITY_FRAMES..=abi::LOOPBACK_MAX_CAPACITY_FRAMES).contains(&capacity_frames)
        {
            return Err(bad(format!("loopback capacity {capacity_frames} frames is not a power of two in range")));
        }
        if !(abi::MIN_CHANNELS..=abi::MAX_CHANNELS).contains(&channels) {
            return Err(bad(format!("{channels} channels")));
        }
        if !(sample_rate.is_finite() && sample_rate > 0.0) {
            return Err(bad(format!("sample rate {sample_rate}")));
        }
        let bytes_per_frame = channels * 4;
        let size = abi::LOOPBACK_HEADER_SIZE as u64 + capacity_frames as u64 * bytes_per_frame as u64;
        let mode = Mode::from_bits_truncate(abi::MODE as _);
        match shm_unlink(name.as_str()) {
            Ok(()) | Err(Errno::ENOENT) => {}
            Err(source) => return Err(RingError::ShmOpen { name, source }),
        }
        let fd = shm_open(name.as_str(), OFlag::O_RDWR | OFlag::O_CREAT | OFlag::O_EXCL, mode)
            .map_err(|source| RingError::ShmOpen { name: name.clone(), source })?;
        let st =
            fstat(fd.as_raw_fd()).map_err(|source| RingError::ShmIo { what: "stat", name: name.clone(), source })?;
        if st.st_mode as u32 & 0o777 != abi::MODE {
            // Linux's umask narrowed it; macOS applies none (and refuses fchmod on shm).
            fchmod(fd.as_raw_fd(), mode).map_err(|source| RingError::ShmIo {
                what: "chmod",
                name: name.clone(),
                source,
            })?;
        }
        nix::unistd::ftruncate(&fd, size as i64).map_err(|source| RingError::ShmIo {
            what: "size",
            name: name.clone(),
            source,
        })?;
        // SAFETY: a shared mapping of the segment we just created and sized; it
        // is accessed only through atomics and raw copies (the driver reads it).
        let mut map = unsafe { MmapOptions::new().len(size as usize).map_mut(&fd) }
            .map_err(|source| RingError::Mmap { name: name.clone(), source })?;
        let instance = crate::reader::new_instance_id();
        let h = abi::LoopbackHeader {
            magic: abi::LOOPBACK_MAGIC,
            version: abi::VERSION,
            header_size: abi::LOOPBACK_HEADER_SIZE,
            segment_size: size,
            capacity_frames,
            channels,
            sample_format: abi::FORMAT_F32_INTERLEAVED,
            bytes_per_frame,
            writer_pid: std::process::id(),
            block_frames: 0,
            instance_id: 0,
            sample_rate,
            reserved: [0; 64],
        };
        // SAFETY: the header fits the mapping (size >= 256) and nobody reads it
        // before instance_id is published below.
        unsafe { std::ptr::write_unaligned(map.as_mut_ptr() as *mut abi::LoopbackHeader, h) };
        // SAFETY: offset 48 is inside the mapping, 8-byte aligned (page-aligned base).
        unsafe { atomic_u64(map.as_ptr(), off::LP_INSTANCE_ID) }.store(instance, Ordering::Release);
        Ok(LoopbackWriter {
            name,
            map,
            instance,
            channels: channels as usize,
            capacity: capacity_frames as u64,
            write_count: 0,
            block_frames: 0,
        })
    }

    /// The segment's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Channels per frame.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Frames written so far.
    pub fn write_count(&self) -> u64 {
        self.write_count
    }

    /// Appends `frames` (interleaved, `n × channels` samples; a partial frame
    /// at the end is ignored) after the previous ones, overwriting the oldest
    /// when the ring is full (the driver never holds the engine back).
    /// Real-time safe: copies, two atomic stores (three when the block is the
    /// largest so far), no allocation, lock or syscall. `heartbeat_ns`: the
    /// engine's monotonic clock, informational.
    pub fn write(&mut self, frames: &[f32], heartbeat_ns: u64) {
        let ch = self.channels;
        let mut n = (frames.len() / ch) as u64;
        let mut src = &frames[..n as usize * ch];
        if n > self.capacity {
            // Only the newest `capacity` frames can be kept.
            src = &src[(n - self.capacity) as usize * ch..];
            self.write_count += n - self.capacity;
            n = self.capacity;
        }
        if n == 0 {
            return;
        }
        if n as u32 > self.block_frames {
            self.block_frames = n as u32;
            // SAFETY: offset 44 is inside the header, 4-byte aligned.
            unsafe { atomic_u32(self.map.as_ptr(), off::LP_BLOCK_FRAMES) }.store(self.block_frames, Ordering::Relaxed);
        }
        let idx = (self.write_count & (self.capacity - 1)) as usize;
        let first = (self.capacity as usize - idx).min(n as usize);
        let base = self.map.as_mut_ptr();
        // SAFETY: the frame area is `capacity × ch` f32 from offset 256; idx +
        // first <= capacity and n - first < capacity, so both copies stay in it.
        unsafe {
            let data = base.add(abi::LOOPBACK_HEADER_SIZE as usize) as *mut f32;
            std::ptr::copy_nonoverlapping(src.as_ptr(), data.add(idx * ch), first * ch);
            std::ptr::copy_nonoverlapping(src.as_ptr().add(first * ch), data, (n as usize - first) * ch);
        }
        self.write_count += n;
        // SAFETY: offsets 128 and 136 are inside the mapping, 8-byte aligned.
        unsafe {
            atomic_u64(base, off::LP_HEARTBEAT_NS).store(heartbeat_ns, Ordering::Relaxed);
            atomic_u64(base, off::LP_WRITE_COUNT).store(self.write_count, Ordering::Release);
        }
    }
}

impl Drop for LoopbackWriter {
    /// Removes the segment if the name still holds this instance (a newer
    /// engine's segment is left alone).
    fn drop(&mut self) {
        let ours = shm::map_readonly(&self.name).ok().is_some_and(|m| {
            m.len() >= abi::LOOPBACK_HEADER_SIZE as usize
                // SAFETY: offset 48 is inside the checked length, 8-byte aligned.
                && unsafe { atomic_u64(m.as_ptr(), off::LP_INSTANCE_ID) }.load(Ordering::Acquire) == self.instance
        });
        if ours {
            let _ = shm_unlink(self.name.as_str());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taps_have_names_and_codes_both_ways() {
        for t in [Tap::Off, Tap::Pre, Tap::Post] {
            assert_eq!(Tap::from_code(t.code()), Some(t));
            assert_eq!(t.name().parse::<Tap>(), Ok(t));
        }
        assert_eq!(Tap::from_code(abi::TAP_UNSET), None);
        assert_eq!(Tap::from_code(7), None);
        assert!("loud".parse::<Tap>().unwrap_err().contains("pre, post or off"));
    }

    #[test]
    fn the_loopback_ring_wraps_and_publishes_its_count() {
        let ring = format!("/gklp{}", std::process::id());
        let mut w = LoopbackWriter::create(&ring, 2, 48000.0, 1024).unwrap();
        let block: Vec<f32> = (0..600 * 2).map(|i| i as f32).collect();
        w.write(&block, 1);
        w.write(&block, 2); // wraps: frames 1024..1200 land at the start
        assert_eq!(w.write_count(), 1200);
        let m = shm::map_readonly(w.name()).unwrap();
        // SAFETY: reading our own segment's header and frames within its size.
        unsafe {
            let h = std::ptr::read_unaligned(m.as_ptr() as *const abi::LoopbackHeader);
            assert_eq!(h.magic, abi::LOOPBACK_MAGIC);
            assert_eq!((h.capacity_frames, h.channels, h.block_frames), (1024, 2, 600));
            assert_eq!(h.segment_size, 256 + 1024 * 8);
            assert_eq!(atomic_u64(m.as_ptr(), off::LP_WRITE_COUNT).load(Ordering::Acquire), 1200);
            let data = m.as_ptr().add(256) as *const f32;
            // frame 1024 (= frame 424 of the second block) sits at index 0
            assert_eq!(*data, (424 * 2) as f32);
            assert_eq!(*data.add(1023 * 2), (423 * 2) as f32);
        }
        let name = w.name().to_owned();
        drop(w);
        assert!(shm::map_readonly(&name).is_err(), "dropped writer removes its segment");
    }
}
