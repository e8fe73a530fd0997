//! Audio sources that feed the simulated mix: decoded files and a sine
//! generator. Every source produces interleaved f32 blocks
//! (`frames × channels`) at the device's sample rate and channel count.
//!
//! # Files
//! Decoded with symphonia (WAV, FLAC, MP3, OGG/Vorbis, and whatever else
//! symphonia's enabled formats probe). Decoding is **streaming**: packets are
//! decoded on demand as [`AudioSource::read`] asks for frames, so memory
//! stays bounded (a few packets plus the resampler's chunk) whatever the
//! file's length.
//!
//! Channel mapping to a device of `D` channels, from a file of `F` channels:
//! `F == 1` → the mono signal on every device channel; `F == D` → as is;
//! `F == 2 < D` → L, R on device channels 0 and 1, silence on the others;
//! `F > D` (or any other combination) → [`SourceError::Channels`].
//!
//! Sample rate: when the file's rate differs from the device's, the file is
//! resampled with rubato's `SincFixedIn` (sinc length 256, cutoff 0.95,
//! Blackman-Harris², cubic interpolation, oversampling 256) and
//! [`AudioSource::resampled_from`] says so; with [`Resample::Reject`] it is a
//! [`SourceError::RateMismatch`] instead. The resampler's delay is removed
//! and its tail flushed, so the output has `round(in_frames × ratio)` frames.

use rubato::{Resampler, SincFixedIn, SincInterpolationParameters, SincInterpolationType, WindowFunction};
use std::path::{Path, PathBuf};
use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{CODEC_TYPE_NULL, Decoder, DecoderOptions};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

/// Errors opening or decoding a source. File errors name the file.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The file does not exist or cannot be opened.
    #[error("cannot open audio file {path}: {source}")]
    Open {
        /// The audio file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// No demuxer/decoder recognises the file.
    #[error("unsupported audio file {path}: {reason}")]
    Unsupported {
        /// The audio file.
        path: PathBuf,
        /// What symphonia said.
        reason: String,
    },
    /// The file is recognised but its contents are invalid.
    #[error("corrupt audio file {path}: {reason}")]
    Corrupt {
        /// The audio file.
        path: PathBuf,
        /// What symphonia said.
        reason: String,
    },
    /// The file's channel count cannot be mapped to the device's.
    #[error(
        "audio file {path} has {file} channels; the device has {device} (supported: mono, stereo, or the device's count)"
    )]
    Channels {
        /// The audio file.
        path: PathBuf,
        /// The file's channels.
        file: u32,
        /// The device's channels.
        device: u32,
    },
    /// The file's rate differs from the device's and resampling was refused.
    #[error("audio file {path} is at {file} Hz but the device runs at {device} Hz (resampling disabled)")]
    RateMismatch {
        /// The audio file.
        path: PathBuf,
        /// The file's sample rate, Hz.
        file: f64,
        /// The device's nominal sample rate, Hz.
        device: f64,
    },
    /// The resampler failed.
    #[error("resampling {path}: {reason}")]
    Resample {
        /// The audio file.
        path: PathBuf,
        /// What rubato said.
        reason: String,
    },
    /// A generator parameter is out of range.
    #[error("invalid generator parameter: {0}")]
    InvalidParameter(String),
}

/// A producer of interleaved f32 frames at a fixed rate and channel count.
pub trait AudioSource: Send {
    /// Channels per frame (the device's).
    fn channels(&self) -> u32;
    /// Sample rate in Hz (the device's).
    fn sample_rate(&self) -> f64;
    /// Fills the start of `out` (interleaved, `frames × channels`; its length
    /// must be a multiple of `channels`) and returns the number of frames
    /// written: fewer than requested only at the end, 0 once exhausted.
    fn read(&mut self, out: &mut [f32]) -> Result<usize, SourceError>;
    /// Total frames this source will produce, when known.
    fn total_frames(&self) -> Option<u64>;
    /// The original rate in Hz when the source is being resampled.
    fn resampled_from(&self) -> Option<f64> {
        None
    }
    /// A one-line description for reports.
    fn describe(&self) -> String;
}

/// A sine wave on every channel.
pub struct SineSource {
    channels: u32,
    rate: f64,
    freq: f64,
    amplitude: f64,
    total: u64,
    pos: u64,
}

impl SineSource {
    /// `freq_hz` (0 < f < rate/2), level in dBFS (≤ 0; peak amplitude
    /// 10^(dBFS/20)), duration in seconds (rounded to frames), at `rate` Hz
    /// on `channels` channels (identical on every channel).
    pub fn new(freq_hz: f64, dbfs: f64, seconds: f64, rate: f64, channels: u32) -> Result<Self, SourceError> {
        if !(rate.is_finite() && rate > 0.0) || channels == 0 {
            return Err(SourceError::InvalidParameter(format!("rate {rate} Hz, {channels} channels")));
        }
        if !(freq_hz.is_finite() && freq_hz > 0.0 && freq_hz < rate / 2.0) {
            return Err(SourceError::InvalidParameter(format!(
                "frequency {freq_hz} Hz must be in (0, {}) Hz",
                rate / 2.0
            )));
        }
        if !(dbfs.is_finite() && dbfs <= 0.0) {
            return Err(SourceError::InvalidParameter(format!("level {dbfs} dBFS must be finite and <= 0")));
        }
        if !(seconds.is_finite() && seconds >= 0.0) {
            return Err(SourceError::InvalidParameter(format!("duration {seconds} s")));
        }
        Ok(SineSource {
            channels,
            rate,
            freq: freq_hz,
            amplitude: 10f64.powf(dbfs / 20.0),
            total: (seconds * rate).round() as u64,
            pos: 0,
        })
    }

    /// The sample value at frame `n` (what every channel carries).
    pub fn sample_at(&self, n: u64) -> f32 {
        (self.amplitude * (2.0 * std::f64::consts::PI * self.freq * n as f64 / self.rate).sin()) as f32
    }
}

impl AudioSource for SineSource {
    fn channels(&self) -> u32 {
        self.channels
    }
    fn sample_rate(&self) -> f64 {
        self.rate
    }
    fn read(&mut self, out: &mut [f32]) -> Result<usize, SourceError> {
        let ch = self.channels as usize;
        let n = ((out.len() / ch) as u64).min(self.total - self.pos) as usize;
        for (i, frame) in out.chunks_exact_mut(ch).take(n).enumerate() {
            frame.fill(self.sample_at(self.pos + i as u64));
        }
        self.pos += n as u64;
        Ok(n)
    }
    fn total_frames(&self) -> Option<u64> {
        Some(self.total)
    }
    fn describe(&self) -> String {
        format!("sine {} Hz at {:.1} dBFS, {} frames", self.freq, 20.0 * self.amplitude.log10(), self.total)
    }
}

/// What to do when a file's sample rate differs from the device's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Resample {
    /// Resample with rubato (sinc).
    #[default]
    Allow,
    /// Refuse with [`SourceError::RateMismatch`] (`--no-resample`).
    Reject,
}

/// Per-channel FIFO of planar f32 frames.
struct Planar {
    ch: Vec<Vec<f32>>,
    start: usize,
}

impl Planar {
    fn new(channels: usize) -> Self {
        Planar { ch: vec![Vec::new(); channels], start: 0 }
    }
    fn len(&self) -> usize {
        self.ch.first().map_or(0, |c| c.len() - self.start)
    }
    fn consume(&mut self, n: usize) {
        self.start += n;
        if self.start > 8192 && self.start * 2 > self.ch[0].len() {
            for c in &mut self.ch {
                c.drain(..self.start);
            }
            self.start = 0;
        }
    }
    fn slices(&self, n: usize) -> Vec<&[f32]> {
        self.ch.iter().map(|c| &c[self.start..self.start + n]).collect()
    }
    fn push_interleaved(&mut self, data: &[f32]) {
        let n = self.ch.len();
        for frame in data.chunks_exact(n) {
            for (c, &s) in self.ch.iter_mut().zip(frame) {
                c.push(s);
            }
        }
    }
    fn push_planar(&mut self, data: &[Vec<f32>], skip: usize) {
        for (c, d) in self.ch.iter_mut().zip(data) {
            c.extend_from_slice(&d[skip.min(d.len())..]);
        }
    }
}

struct Rs {
    r: SincFixedIn<f32>,
    ratio: f64,
    /// Output frames still to drop (the resampler's delay).
    to_skip: usize,
    in_frames: u64,
    out_frames: u64,
}

/// A decoded (and possibly resampled) audio file. See the module docs.
pub struct FileSource {
    path: PathBuf,
    format: Box<dyn FormatReader>,
    decoder: Box<dyn Decoder>,
    track_id: u32,
    file_channels: u32,
    file_rate: f64,
    device_channels: u32,
    device_rate: f64,
    total_file_frames: Option<u64>,
    sample_buf: Option<SampleBuffer<f32>>,
    /// Decoded, not yet resampled (file rate, file channels).
    decoded: Planar,
    /// Ready frames (device rate, file channels).
    ready: Planar,
    rs: Option<Rs>,
    eof: bool,
    flushed: bool,
    decode_errors: u64,
}

fn open_err(path: &Path, e: SymError) -> SourceError {
    match e {
        SymError::IoError(source) if source.kind() != std::io::ErrorKind::UnexpectedEof => {
            SourceError::Open { path: path.to_path_buf(), source }
        }
        SymError::Unsupported(r) => SourceError::Unsupported { path: path.to_path_buf(), reason: r.to_string() },
        other => SourceError::Corrupt { path: path.to_path_buf(), reason: other.to_string() },
    }
}

impl FileSource {
    /// Opens `path` for a device of `device_channels` channels at
    /// `device_rate` Hz. Decodes the first packet to learn the real format.
    ///
    /// Errors: [`SourceError::Open`], [`SourceError::Unsupported`],
    /// [`SourceError::Corrupt`], [`SourceError::Channels`],
    /// [`SourceError::RateMismatch`], [`SourceError::Resample`].
    pub fn open(path: &Path, device_channels: u32, device_rate: f64, resample: Resample) -> Result<Self, SourceError> {
        let file =
            std::fs::File::open(path).map_err(|source| SourceError::Open { path: path.to_path_buf(), source })?;
        let mss = MediaSourceStream::new(Box::new(file), Default::default());
        let mut hint = Hint::new();
        if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
            hint.with_extension(ext);
        }
        let probed = symphonia::default::get_probe()
            .format(&hint, mss, &FormatOptions::default(), &MetadataOptions::default())
            .map_err(|e| match e {
                SymError::Unsupported(_) => SourceError::Unsupported {
                    path: path.to_path_buf(),
                    reason: "no demuxer recognises this file".into(),
                },
                other => open_err(path, other),
            })?;
        let format = probed.format;
        let track =
            format.tracks().iter().find(|t| t.codec_params.codec != CODEC_TYPE_NULL).ok_or_else(|| {
                SourceError::Unsupported { path: path.to_path_buf(), reason: "no audio track".into() }
            })?;
        let track_id = track.id;
        let total_file_frames = track.codec_params.n_frames;
        let decoder = symphonia::default::get_codecs()
            .make(&track.codec_params, &DecoderOptions::default())
            .map_err(|e| open_err(path, e))?;
        let mut s = FileSource {
            path: path.to_path_buf(),
            format,
            decoder,
            track_id,
            file_channels: 0,
            file_rate: 0.0,
            device_channels,
            device_rate,
            total_file_frames,
            sample_buf: None,
            decoded: Planar::new(0),
            ready: Planar::new(0),
            rs: None,
            eof: false,
            flushed: false,
            decode_errors: 0,
        };
        // Decode until the first audio so that the format is the decoder's, not a guess.
        while s.file_channels == 0 {
            if !s.decode_packet()? {
                return Err(SourceError::Corrupt { path: path.to_path_buf(), reason: "no decodable audio".into() });
            }
        }
        let (fc, dc) = (s.file_channels, device_channels);
        if !(fc == 1 || fc == dc || (fc == 2 && dc > 2)) {
            return Err(SourceError::Channels { path: path.to_path_buf(), file: fc, device: dc });
        }
        if (s.file_rate - device_rate).abs() > 1e-9 {
            if resample == Resample::Reject {
                return Err(SourceError::RateMismatch {
                    path: path.to_path_buf(),
                    file: s.file_rate,
                    device: device_rate,
                });
            }
            let ratio = device_rate / s.file_rate;
            let params = SincInterpolationParameters {
                sinc_len: 256,
                f_cutoff: 0.95,
                oversampling_factor: 256,
                interpolation: SincInterpolationType::Cubic,
                window: WindowFunction::BlackmanHarris2,
            };
            let r = SincFixedIn::<f32>::new(ratio, 1.0, params, 1024, fc as usize)
                .map_err(|e| SourceError::Resample { path: path.to_path_buf(), reason: e.to_string() })?;
            // rubato 0.16's SincFixedIn starts its read position half a filter
            // length before the first input frame, so its output is already
            // aligned with the input (measured: an impulse at input frame n
            // peaks at output frame n × ratio); `output_delay()` reports the
            // filter's half length, which must NOT be skipped here. The unit
            // test `resampling_keeps_length_and_frequency` checks the alignment.
            let to_skip = 0;
            s.rs = Some(Rs { r, ratio, to_skip, in_frames: 0, out_frames: 0 });
        }
        Ok(s)
    }

    /// The file's own channel count.
    pub fn file_channels(&self) -> u32 {
        self.file_channels
    }

    /// The file's own sample rate, Hz.
    pub fn file_rate(&self) -> f64 {
        self.file_rate
    }

    /// Packets that failed to decode and were skipped.
    pub fn decode_errors(&self) -> u64 {
        self.decode_errors
    }

    /// Decodes one packet into `decoded`. Returns false at end of stream.
    fn decode_packet(&mut self) -> Result<bool, SourceError> {
        loop {
            let packet = match self.format.next_packet() {
                Ok(p) => p,
                Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    self.eof = true;
                    return Ok(false);
                }
                Err(SymError::ResetRequired) => {
                    self.eof = true;
                    return Ok(false);
                }
                Err(e) => return Err(SourceError::Corrupt { path: self.path.clone(), reason: e.to_string() }),
            };
            if packet.track_id() != self.track_id {
                continue;
            }
            let buf = match self.decoder.decode(&packet) {
                Ok(b) => b,
                Err(SymError::DecodeError(reason)) => {
                    self.decode_errors += 1;
                    tracing::warn!("{}: skipping undecodable packet: {reason}", self.path.display());
                    if self.decode_errors > 100 {
                        return Err(SourceError::Corrupt {
                            path: self.path.clone(),
                            reason: format!("too many decode errors ({reason})"),
                        });
                    }
                    continue;
                }
                Err(e) => return Err(SourceError::Corrupt { path: self.path.clone(), reason: e.to_string() }),
            };
            let spec = *buf.spec();
            let ch = spec.channels.count() as u32;
            if ch == 0 || spec.rate == 0 {
                return Err(SourceError::Corrupt {
                    path: self.path.clone(),
                    reason: "zero channels or zero rate".into(),
                });
            }
            if self.file_channels == 0 {
                self.file_channels = ch;
                self.file_rate = spec.rate as f64;
                self.decoded = Planar::new(ch as usize);
                self.ready = Planar::new(ch as usize);
            } else if ch != self.file_channels || spec.rate as f64 != self.file_rate {
                return Err(SourceError::Unsupported {
                    path: self.path.clone(),
                    reason: format!("format changes mid-stream ({ch} ch, {} Hz)", spec.rate),
                });
            }
            let frames = buf.frames();
            if frames == 0 {
                continue;
            }
            let need = buf.capacity() as u64;
            if self.sample_buf.as_ref().is_none_or(|b| (b.capacity() as u64) < need) {
                self.sample_buf = Some(SampleBuffer::<f32>::new(need, spec));
            }
            if let Some(sb) = self.sample_buf.as_mut() {
                sb.copy_interleaved_ref(buf);
                self.decoded.push_interleaved(&sb.samples()[..frames * ch as usize]);
            }
            return Ok(true);
        }
    }

    /// Moves decoded frames through the resampler (or straight) into `ready`.
    fn pump(&mut self) -> Result<(), SourceError> {
        let Some(rs) = self.rs.as_mut() else {
            let n = self.decoded.len();
            let data: Vec<Vec<f32>> = self.decoded.slices(n).iter().map(|s| s.to_vec()).collect();
            self.ready.push_planar(&data, 0);
            self.decoded.consume(n);
            return Ok(());
        };
        let path = &self.path;
        let err = |e: rubato::ResampleError| SourceError::Resample { path: path.clone(), reason: e.to_string() };
        while self.decoded.len() >= rs.r.input_frames_next() {
            let n = rs.r.input_frames_next();
            let out = rs.r.process(&self.decoded.slices(n), None).map_err(err)?;
            self.decoded.consume(n);
            rs.in_frames += n as u64;
            push_resampled(&mut self.ready, rs, &out);
        }
        if self.eof && !self.flushed {
            let n = self.decoded.len();
            if n > 0 {
                let out = rs.r.process_partial(Some(&self.decoded.slices(n)), None).map_err(err)?;
                self.decoded.consume(n);
                rs.in_frames += n as u64;
                push_resampled(&mut self.ready, rs, &out);
            }
            let expected = (rs.in_frames as f64 * rs.ratio).round() as u64;
            let mut guard = 0;
            while rs.out_frames < expected && guard < 64 {
                let out = rs.r.process_partial(None::<&[Vec<f32>]>, None).map_err(err)?;
                push_resampled(&mut self.ready, rs, &out);
                guard += 1;
            }
            // Trim any excess from the last flush.
            if rs.out_frames > expected {
                let excess = (rs.out_frames - expected) as usize;
                for c in &mut self.ready.ch {
                    let keep = c.len().saturating_sub(excess);
                    c.truncate(keep.max(self.ready.start));
                }
                rs.out_frames = expected;
            }
            self.flushed = true;
        }
        Ok(())
    }
}

fn push_resampled(ready: &mut Planar, rs: &mut Rs, out: &[Vec<f32>]) {
    let n = out.first().map_or(0, |c| c.len());
    let skip = rs.to_skip.min(n);
    rs.to_skip -= skip;
    ready.push_planar(out, skip);
    rs.out_frames += (n - skip) as u64;
}

impl AudioSource for FileSource {
    fn channels(&self) -> u32 {
        self.device_channels
    }
    fn sample_rate(&self) -> f64 {
        self.device_rate
    }
    fn read(&mut self, out: &mut [f32]) -> Result<usize, SourceError> {
        let dc = self.device_channels as usize;
        let want = out.len() / dc;
        while self.ready.len() < want && !(self.eof && self.flushed) {
            if !self.eof {
                self.decode_packet()?;
            }
            self.pump()?;
            if self.eof && self.rs.is_none() {
                self.flushed = true;
            }
        }
        let n = want.min(self.ready.len());
        let src = self.ready.slices(n);
        let fc = self.file_channels as usize;
        for (i, frame) in out.chunks_exact_mut(dc).take(n).enumerate() {
            if fc == 1 {
                frame.fill(src[0][i]);
            } else {
                for (c, s) in frame.iter_mut().enumerate() {
                    *s = if c < fc { src[c][i] } else { 0.0 };
                }
            }
        }
        self.ready.consume(n);
        Ok(n)
    }
    fn total_frames(&self) -> Option<u64> {
        let f = self.total_file_frames?;
        Some(match &self.rs {
            Some(rs) => (f as f64 * rs.ratio).round() as u64,
            None => f,
        })
    }
    fn resampled_from(&self) -> Option<f64> {
        self.rs.as_ref().map(|_| self.file_rate)
    }
    fn describe(&self) -> String {
        let mut s = format!("{} ({} ch, {} Hz)", self.path.display(), self.file_channels, self.file_rate);
        if self.rs.is_some() {
            s.push_str(&format!(", resampled to {} Hz", self.device_rate));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_wav(path: &Path, channels: u16, rate: u32, frames: usize, f: impl Fn(usize, usize) -> f32) {
        let spec = hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let mut w = hound::WavWriter::create(path, spec).expect("create wav");
        for i in 0..frames {
            for c in 0..channels as usize {
                w.write_sample(f(i, c)).expect("write");
            }
        }
        w.finalize().expect("finalize");
    }

    fn read_all(s: &mut dyn AudioSource, block: usize) -> Vec<f32> {
        let ch = s.channels() as usize;
        let mut all = Vec::new();
        let mut buf = vec![0.0; block * ch];
        loop {
            let n = s.read(&mut buf).expect("read");
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buf[..n * ch]);
        }
        all
    }

    #[test]
    fn sine_is_exact_and_ends() {
        let mut s = SineSource::new(1000.0, -6.0, 0.1, 48000.0, 2).expect("sine");
        let all = read_all(&mut s, 512);
        assert_eq!(all.len(), 4800 * 2);
        let amp = 10f64.powf(-6.0 / 20.0) as f32;
        let peak = all.iter().fold(0f32, |m, &x| m.max(x.abs()));
        assert!((peak - amp).abs() < 1e-3, "peak {peak} vs {amp}");
        assert_eq!(all[2 * 12], all[2 * 12 + 1]);
        assert!(SineSource::new(30000.0, 0.0, 1.0, 48000.0, 2).is_err());
        assert!(SineSource::new(100.0, 3.0, 1.0, 48000.0, 2).is_err());
    }

    #[test]
    fn wav_stereo_passthrough_is_bit_exact() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("s.wav");
        let f = |i: usize, c: usize| ((i * 7 + c * 3) % 1000) as f32 / 1000.0 - 0.5;
        write_wav(&p, 2, 48000, 10_000, f);
        let mut s = FileSource::open(&p, 2, 48000.0, Resample::Reject).expect("open");
        assert_eq!(s.resampled_from(), None);
        let all = read_all(&mut s, 333);
        assert_eq!(all.len(), 20_000);
        for i in 0..10_000 {
            assert_eq!(all[2 * i], f(i, 0));
            assert_eq!(all[2 * i + 1], f(i, 1));
        }
    }

    #[test]
    fn mono_is_duplicated_and_stereo_on_wider_device_is_padded() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("m.wav");
        write_wav(&p, 1, 48000, 100, |i, _| i as f32 / 100.0);
        let mut s = FileSource::open(&p, 2, 48000.0, Resample::Reject).expect("open");
        let all = read_all(&mut s, 64);
        assert_eq!(all.len(), 200);
        assert_eq!((all[20], all[21]), (0.1, 0.1));

        let p2 = dir.path().join("st.wav");
        write_wav(&p2, 2, 48000, 10, |i, c| if c == 0 { i as f32 } else { -(i as f32) });
        let mut s = FileSource::open(&p2, 4, 48000.0, Resample::Reject).expect("open");
        let all = read_all(&mut s, 64);
        assert_eq!(&all[12..16], &[3.0, -3.0, 0.0, 0.0]);
    }

    #[test]
    fn errors_name_the_file() {
        let dir = tempfile::tempdir().expect("tmp");
        let missing = dir.path().join("missing.wav");
        let e = FileSource::open(&missing, 2, 48000.0, Resample::Allow).err().expect("error");
        assert!(matches!(e, SourceError::Open { .. }));
        assert!(e.to_string().contains("missing.wav"));

        let junk = dir.path().join("junk.flac");
        std::fs::write(&junk, vec![0x5au8; 4096]).expect("write");
        let e = FileSource::open(&junk, 2, 48000.0, Resample::Allow).err().expect("error");
        assert!(matches!(e, SourceError::Unsupported { .. } | SourceError::Corrupt { .. }), "{e}");
        assert!(e.to_string().contains("junk.flac"));

        let six = dir.path().join("six.wav");
        write_wav(&six, 6, 48000, 10, |_, _| 0.0);
        let e = FileSource::open(&six, 2, 48000.0, Resample::Allow).err().expect("error");
        assert!(matches!(e, SourceError::Channels { file: 6, device: 2, .. }), "{e}");

        let r44 = dir.path().join("r44.wav");
        write_wav(&r44, 2, 44100, 10, |_, _| 0.0);
        let e = FileSource::open(&r44, 2, 48000.0, Resample::Reject).err().expect("error");
        assert!(matches!(e, SourceError::RateMismatch { .. }), "{e}");
    }

    #[test]
    fn resampling_keeps_length_and_frequency() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("r.wav");
        let n_in = 44100; // 1 s
        write_wav(&p, 1, 44100, n_in, |i, _| {
            (0.5 * (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / 44100.0).sin()) as f32
        });
        let mut s = FileSource::open(&p, 2, 48000.0, Resample::Allow).expect("open");
        assert_eq!(s.resampled_from(), Some(44100.0));
        assert_eq!(s.total_frames(), Some(48000));
        let all = read_all(&mut s, 512);
        assert_eq!(all.len() / 2, 48000);
        // Compare with an ideal 1 kHz sine at 48 kHz, away from the edges.
        let mut err = 0f64;
        for i in 2000..46000 {
            let ideal = 0.5 * (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / 48000.0).sin();
            err = err.max((all[2 * i] as f64 - ideal).abs());
        }
        // rubato places output frames ~0.09 frame late (a 2 µs phase shift at
        // 1 kHz → ~5.6e-3 max deviation at amplitude 0.5). 1e-2 bounds the
        // misalignment to < 0.16 frame; a whole-frame error would be ~6.5e-2.
        assert!(err < 1e-2, "max error {err}");
    }
}
