//! The loopback tap the person chose (`gecko loopback`, the app), kept
//! across engine restarts: the driver remembers it only while coreaudiod
//! runs, so every engine start passes the saved choice on again.

use gecko_control::{LoopbackInfo, LoopbackTap};
use std::path::{Path, PathBuf};

/// The file holding the choice: `GECKO_LOOPBACK_FILE`, else `loopback` next
/// to the presets folder (`~/.config/gecko/loopback`; on macOS
/// `~/Library/Application Support/Gecko/loopback`). One word: `pre`, `post`
/// or `off`.
pub fn saved_tap_path() -> PathBuf {
    if let Some(p) = std::env::var_os("GECKO_LOOPBACK_FILE").filter(|v| !v.is_empty()) {
        return PathBuf::from(p);
    }
    let presets = crate::locations::presets_dir_from_env();
    presets.parent().map_or_else(|| presets.join("loopback"), |d| d.join("loopback"))
}

/// The saved choice at `path`; `Ok(None)` when nothing was saved. A file
/// that does not hold a tap is an error naming it.
pub fn load(path: &Path) -> Result<Option<LoopbackTap>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => text.parse().map(Some).map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// Saves `tap` at `path` (creating its folder), replacing the file whole
/// (written aside, then renamed: never half a word).
pub fn save(path: &Path, tap: LoopbackTap) -> Result<(), String> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, format!("{}\n", tap.name())).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The driver's input-stream counters (the writer segment's loopback line)
/// in the control protocol's terms; `requested` and `post_available` are not
/// the driver's to say (`None`, `false`: the engine fills them in).
pub fn info_from_counters(l: &gecko_ring::LoopbackCounters) -> LoopbackInfo {
    LoopbackInfo {
        requested: None,
        active: l.tap,
        post_available: false,
        post_attached: l.post_attached,
        input_cycles: l.input_cycles,
        input_frames: l.input_frames,
        silent_frames: l.silent_frames,
        resync_events: l.resync_events,
        post_faults: l.post_faults,
        repaired_samples: l.repaired_samples,
        post_delay_frames: l.post_delay_frames,
    }
}

/// What the driver's input stream does, read from its ring `ring` directly
/// (for when no engine runs to ask; [`info_from_counters`]). `None` when the
/// ring cannot be read.
pub fn driver_state(ring: &str) -> Option<LoopbackInfo> {
    Some(info_from_counters(&gecko_ring::Peek::open(ring).ok()?.status().ok()?.loopback))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_choice_round_trips_and_a_bad_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/loopback");
        assert_eq!(load(&p), Ok(None));
        for t in [LoopbackTap::Post, LoopbackTap::Off, LoopbackTap::Pre] {
            save(&p, t).unwrap();
            assert_eq!(load(&p), Ok(Some(t)));
        }
        std::fs::write(&p, "loud\n").unwrap();
        let e = load(&p).unwrap_err();
        assert!(e.contains("loopback") && e.contains("pre, post or off"), "{e}");
    }
}
