//! `Peek::free_frames_fast` against a forged writer segment and a real
//! `Reader`: it must agree with the full `Peek::status().free_frames()`.

use gecko_ring::{AttachOptions, Peek, Reader};
use gecko_test_kit::forge::ForgedWriter;

const CAP: u32 = 1024;
const CH: u32 = 2;

#[test]
fn free_frames_fast_agrees_with_status() {
    let f = ForgedWriter::valid("gkpf", CAP, CH, 48000.0);
    let mut peek = Peek::open(f.name()).unwrap();
    // No reader segment at all: the whole ring is free.
    assert_eq!(peek.free_frames_fast(), CAP as u64);

    let mut reader = Reader::attach(f.name(), &AttachOptions::default()).unwrap();
    // Peek has not mapped the reader segment yet: still "no reader" until status().
    f.set_write_count(300);
    assert_eq!(peek.free_frames_fast(), CAP as u64);
    let st = peek.status().unwrap();
    assert_eq!(st.free_frames(), CAP as u64 - 300);
    assert_eq!(peek.free_frames_fast(), CAP as u64 - 300);

    // The reader consumes 100 frames: 100 more are free.
    let mut out = vec![0.0f32; 100 * CH as usize];
    assert_eq!(reader.read(&mut out).unwrap().frames, 100);
    assert_eq!(peek.free_frames_fast(), CAP as u64 - 200);
    assert_eq!(peek.status().unwrap().free_frames(), peek.free_frames_fast());

    // Exactly full, then a write count more than a ring ahead (invalid): 0.
    f.set_write_count(100 + CAP as u64);
    assert_eq!(peek.free_frames_fast(), 0);
    f.set_write_count(100 + CAP as u64 + 1);
    assert_eq!(peek.free_frames_fast(), 0);
    assert_eq!(peek.status().unwrap().free_frames(), 0);

    // Detached reader (dropped): the reader no longer counts.
    drop(reader);
    assert_eq!(peek.free_frames_fast(), CAP as u64);
    assert_eq!(peek.status().unwrap().free_frames(), CAP as u64);
}
