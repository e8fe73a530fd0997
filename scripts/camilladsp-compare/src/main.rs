//! In-process, single-thread throughput of CamillaDSP's Pipeline (and its
//! ChunkResampler), same methodology as gecko-dsp's benches/chain.rs:
//! 20 s of the same programme, 128-frame output chunks, warm-up + 7 runs,
//! best and median × real time. No file I/O, no threads, no channels.
//! Per chunk, "full" mode does what CamillaDSP's file capture/playback threads
//! and processing thread do to the audio: interleaved F32_LE bytes -> f64 AudioChunk
//! (buffer_to_chunk_rawbytes), [resample_chunk], Pipeline::process_chunk
//! (main volume + steps), AudioChunk -> F32_LE bytes (chunk_to_buffer_rawbytes).
//! "dsp" mode: clone a pre-converted f64 AudioChunk + [resample] + process_chunk.
use camilladsp::audiochunk::AudioChunk;
use camilladsp::config::{self, BinarySampleFormat};
use camilladsp::filters::fftconv::ConvCoeffCache;
use camilladsp::pipeline::Pipeline;
use camilladsp::utils::conversions::{buffer_to_chunk_rawbytes, chunk_to_buffer_rawbytes};
use camilladsp::utils::resampling::new_resampler;
use camilladsp::ProcessingParameters;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

const CH: usize = 2;
const SECS: usize = 20;
const RUNS: usize = 7;

#[path = "../../../crates/gecko-dsp/benches/common/programme.rs"]
mod programme;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let cfg_path = &args[1];
    let mode = args[2].as_str(); // "full" or "dsp"
    let volume_db: f32 = args.get(3).map(|s| s.parse().unwrap()).unwrap_or(0.0);
    let (conf, _imp) = config::load_validate_config(cfg_path).expect("config");
    let out_fs = conf.devices.samplerate();
    let in_fs = conf.devices.capture_samplerate();
    let chunksize = conf.devices.chunksize();
    let has_pipeline = conf.pipeline.as_ref().map_or(false, |p| !p.is_empty());
    let input = programme::programme(in_fs, SECS);
    let in_bytes: Vec<u8> = input.iter().flat_map(|x| x.to_le_bytes()).collect();
    let in_frames = input.len() / CH;
    let out_chunks = SECS * out_fs / chunksize;
    let audio_secs = (out_chunks * chunksize) as f64 / out_fs as f64;
    let fmt = BinarySampleFormat::F32_LE;
    let mask = vec![true; CH];
    let mut outbuf = vec![0u8; chunksize * CH * 4];
    let mut results = Vec::new();
    let mut checksum = 0.0f64;
    let mut peak = 0.0f32;
    for run in 0..=RUNS {
        let params = Arc::new(ProcessingParameters::new(&[volume_db, 0.0, 0.0, 0.0, 0.0], &[false; 5]));
        let mut pipeline = Pipeline::from_config(conf.clone(), params.clone(), None, &mut ConvCoeffCache::new());
        let mut rs = new_resampler(&conf.devices.resampler, CH, out_fs, in_fs, chunksize, params.clone());
        // Pre-converted chunks for "dsp" mode (only used without resampler: fixed 128-frame input).
        let pre: Vec<AudioChunk> = if mode == "dsp" && rs.is_none() {
            in_bytes.chunks(chunksize * CH * 4).take(out_chunks)
                .map(|b| buffer_to_chunk_rawbytes(b, CH, &fmt, b.len(), &mask, true)).collect()
        } else { Vec::new() };
        let mut pos = 0usize; // frame position in input (cyclic)
        let mut scratch: Vec<u8> = Vec::new();
        let t = Instant::now();
        for n in 0..out_chunks {
            let mut chunk = if !pre.is_empty() {
                { let c = &pre[n]; AudioChunk::new(c.waveforms.clone(), c.maxval, c.minval, c.frames, c.valid_frames) }
            } else {
                let need = rs.as_ref().map_or(chunksize, |r| r.resampler.input_frames_next());
                scratch.clear();
                let mut left = need;
                while left > 0 {
                    let take = left.min(in_frames - pos);
                    scratch.extend_from_slice(&in_bytes[pos * CH * 4..(pos + take) * CH * 4]);
                    pos = (pos + take) % in_frames;
                    left -= take;
                }
                buffer_to_chunk_rawbytes(&scratch, CH, &fmt, scratch.len(), &mask, true)
            };
            if let Some(r) = rs.as_mut() {
                r.resample_chunk(&mut chunk, chunksize, CH);
            }
            if has_pipeline {
                chunk = pipeline.process_chunk(chunk);
            }
            if mode == "full" {
                let (valid, _clipped) = chunk_to_buffer_rawbytes(chunk, &mut outbuf, &fmt);
                black_box(&outbuf[..valid]);
                if run == RUNS && n % 97 == 0 {
                    let s = f32::from_le_bytes(outbuf[0..4].try_into().unwrap());
                    checksum += s as f64; peak = peak.max(s.abs());
                }
            } else {
                if run == RUNS && n % 97 == 0 {
                    checksum += chunk.waveforms[0][0]; peak = peak.max(chunk.waveforms[0][0].abs() as f32);
                }
                black_box(chunk);
            }
        }
        let el = t.elapsed().as_secs_f64();
        if run > 0 { results.push(audio_secs / el); } // run 0 = warm-up
    }
    results.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!("{} {}: best {:.0}x median {:.0}x (runs: {:?}) [check: sum {:.4} peak {:.3}]",
        std::path::Path::new(cfg_path).file_name().unwrap().to_string_lossy(), mode,
        results[RUNS - 1], results[RUNS / 2], results.iter().map(|x| x.round() as i64).collect::<Vec<_>>(), checksum, peak);
}
