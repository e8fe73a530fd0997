//! The driver's own account of its ring, read through CoreAudio.
//!
//! The driver publishes it as the custom property `'gkrs'` of the device
//! (`GECKO_PROPERTY_RING_STATE`, listed in the device's
//! `kAudioObjectPropertyCustomPropertyInfoList` as a CFString), so the
//! engine, `gecko doctor` and the app can tell why Gecko Sink is silent on a
//! Mac — shm creation refused by the plug-in sandbox, a segment of the wrong
//! size, no engine attached — without reading the system log. The text is
//! `key=value` lines (`driver/src/gecko_shm_writer.c`,
//! `gecko_shm_writer_format_state`); this module parses it.

use std::fmt;

/// How the driver obtained its writer segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentSource {
    /// It has none.
    None,
    /// It created (or re-created) it.
    Created,
    /// It opened one that existed, without `O_CREAT` (pre-created for it:
    /// `gecko ring precreate`; the sandbox fallback).
    Existing,
}

/// The driver's ring state (`'gkrs'`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverRingState {
    /// The writer segment's name.
    pub writer: String,
    /// The reader segment's name.
    pub reader: String,
    /// The writer segment is mapped.
    pub mapped: bool,
    /// The writer segment's nominal size, bytes.
    pub segment_bytes: u64,
    /// errno of the last failure to open, size or map the writer segment (0 once mapped).
    pub open_errno: i32,
    /// The same as text (`strerror`), empty when 0.
    pub open_error: String,
    /// How the segment was obtained.
    pub source: SegmentSource,
    /// The driver honours an engine's reader segment.
    pub reader_attached: bool,
    /// Invalid reader-segment contents seen.
    pub reader_faults: u64,
    /// The ring's generation.
    pub generation: u64,
    /// IO is running (a client is playing into Gecko Sink).
    pub io_running: bool,
}

/// A malformed ring-state text: which line and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the driver's ring state is malformed: {}", self.0)
    }
}

impl std::error::Error for ParseError {}

impl DriverRingState {
    /// Parses the property's text. Unknown keys are ignored (a newer driver
    /// may add some); every key above must be present and well-formed.
    pub fn parse(text: &str) -> Result<DriverRingState, ParseError> {
        let mut kv = std::collections::HashMap::new();
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.is_empty()) {
            let (k, v) =
                line.split_once('=').ok_or_else(|| ParseError(format!("line {}: no '=' in {line:?}", i + 1)))?;
            kv.insert(k, v);
        }
        let get = |k: &str| kv.get(k).copied().ok_or_else(|| ParseError(format!("no {k}=")));
        fn num<T: std::str::FromStr>(k: &str, v: &str) -> Result<T, ParseError> {
            v.parse().map_err(|_| ParseError(format!("{k}={v:?} is not a number")))
        }
        let flag = |k: &str| -> Result<bool, ParseError> {
            match get(k)? {
                "0" => Ok(false),
                "1" => Ok(true),
                v => Err(ParseError(format!("{k}={v:?} is not 0 or 1"))),
            }
        };
        let (writer, reader) = (get("writer")?.to_owned(), get("reader")?.to_owned());
        let source = match get("source")? {
            "none" => SegmentSource::None,
            "created" => SegmentSource::Created,
            "existing" => SegmentSource::Existing,
            v => return Err(ParseError(format!("source={v:?} is not none, created or existing"))),
        };
        Ok(DriverRingState {
            writer,
            reader,
            mapped: flag("mapped")?,
            segment_bytes: num("segment_bytes", get("segment_bytes")?)?,
            open_errno: num("open_errno", get("open_errno")?)?,
            open_error: get("open_error")?.to_owned(),
            source,
            reader_attached: flag("reader_attached")?,
            reader_faults: num("reader_faults", get("reader_faults")?)?,
            generation: num("generation", get("generation")?)?,
            io_running: flag("io_running")?,
        })
    }

    /// What is wrong, in a sentence a user can act on; `None` when the ring
    /// is healthy as far as the driver can tell.
    pub fn problem(&self) -> Option<String> {
        if !self.mapped {
            let why = if self.open_errno == libc::EPERM || self.open_errno == libc::EACCES {
                format!(
                    "the driver may not create its shared memory {} ({}): the plug-in sandbox refused it and \
                     nothing was pre-created for it; run `sudo -u _coreaudiod gecko ring precreate` (the \
                     installer's boot job does this)",
                    self.writer, self.open_error
                )
            } else if self.open_errno != 0 {
                format!("the driver could not open its shared memory {}: {}", self.writer, self.open_error)
            } else {
                format!("the driver has not mapped its shared memory {} yet", self.writer)
            };
            return Some(why);
        }
        if self.io_running && !self.reader_attached {
            return Some(format!("Gecko Sink is playing but no engine reads {} (start `gecko engine`)", self.reader));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = "writer=/GeckoAudioShm\nreader=/GeckoAudioShm.rd\nmapped=1\nsegment_bytes=262656\n\
                      open_errno=0\nopen_error=\nsource=created\nreader_attached=1\nreader_faults=0\n\
                      generation=7\nio_running=1\n";

    #[test]
    fn a_healthy_state_parses_and_has_no_problem() {
        let s = DriverRingState::parse(OK).unwrap();
        assert_eq!(s.writer, "/GeckoAudioShm");
        assert_eq!((s.mapped, s.segment_bytes, s.source, s.generation), (true, 262_656, SegmentSource::Created, 7));
        assert_eq!(s.problem(), None);
    }

    #[test]
    fn a_refused_creation_says_what_to_do() {
        let t = OK
            .replace("mapped=1", "mapped=0")
            .replace("open_errno=0", "open_errno=1")
            .replace("open_error=\n", "open_error=Operation not permitted\n")
            .replace("source=created", "source=none");
        let p = DriverRingState::parse(&t).unwrap().problem().unwrap();
        assert!(p.contains("sandbox") && p.contains("gecko ring precreate"), "{p}");
    }

    #[test]
    fn malformed_text_is_an_error_naming_the_field() {
        assert!(DriverRingState::parse("writer=/x\n").unwrap_err().0.contains("reader"));
        let e = DriverRingState::parse(&OK.replace("mapped=1", "mapped=yes")).unwrap_err();
        assert!(e.0.contains("mapped"), "{e}");
        assert!(DriverRingState::parse("garbage").unwrap_err().0.contains("line 1"));
        // A newer driver's extra key is fine.
        assert!(DriverRingState::parse(&format!("{OK}future=1\n")).is_ok());
    }
}
