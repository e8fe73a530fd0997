//! The engine side: [`ControlServer`] listens on a Unix socket, serves each
//! client on its own thread, applies their edits to a shared
//! [`ControlState`] and answers from the latest snapshot the engine's
//! control thread [published](ControlServer::publish). Nothing here blocks
//! the engine: its control thread only takes a mutex to copy a snapshot in
//! or the settings out.

use crate::protocol::{
    self, ErrorBody, ErrorCode, FormatInfo, Hello, LoopbackInfo, MAX_LINE, MAX_RATE_HZ, MIN_RATE_HZ, PROTOCOL_VERSION,
    Reply, Request, Status, TelemetryMsg, WriterStats,
};
use crate::state::{ControlState, Edit};
use gecko_dsp::ChainParams;
use std::io::{self, BufRead, BufReader, ErrorKind, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Clients served at once; more are refused with `too_many_clients`.
pub const MAX_CLIENTS: usize = 16;

/// How often idle client threads look at the stop flag.
const POLL: Duration = Duration::from_millis(200);

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Another engine answers on the socket.
    #[error("an engine is already listening on {0}: stop it first, or give this one another --control-socket")]
    AlreadyRunning(PathBuf),
    /// Something that is not a socket is in the way.
    #[error("{0} exists and is not a socket: remove it or choose another --control-socket")]
    NotASocket(PathBuf),
    /// The socket's directory belongs to someone else or is open to others.
    #[error("{path}: {why}; use a directory only you can write to (e.g. under $XDG_RUNTIME_DIR)")]
    UnsafeDir {
        /// The directory.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// A system call failed.
    #[error("control socket {path}: {source}")]
    Io {
        /// The socket or its directory.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
}

/// What the engine is, fixed for its run.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineInfo {
    /// Name of Gecko Sink's shared-memory ring.
    pub ring: String,
    /// The recording's path, if recording.
    pub recording: Option<String>,
    /// The engine's version.
    pub engine_version: String,
}

/// What the engine's control thread publishes, about 10 times a second.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The ring's format.
    pub format: FormatInfo,
    /// The output device, if playing.
    pub output_device: Option<String>,
    /// Output devices that disappeared while playing, since the engine started.
    pub output_losses: u64,
    /// The driver's counters.
    pub writer: WriterStats,
    /// Meters and drift (`seq` is set by the server).
    pub telemetry: TelemetryMsg,
    /// The loopback as the driver serves it (`requested` is filled in by the server).
    pub loopback: LoopbackInfo,
}

struct Shared {
    state: Arc<ControlState>,
    info: EngineInfo,
    latest: Mutex<Option<Snapshot>>,
    seq: AtomicUsize,
    stop: AtomicBool,
    clients: AtomicUsize,
}

impl Shared {
    fn latest(&self) -> MutexGuard<'_, Option<Snapshot>> {
        self.latest.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The control socket of a running engine (see the module docs). Dropping
/// it stops accepting, ends the client threads and removes the socket file.
pub struct ControlServer {
    shared: Arc<Shared>,
    path: PathBuf,
    inode: (u64, u64),
    accept: Option<JoinHandle<()>>,
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> ServerError + '_ {
    move |source| ServerError::Io { path: path.to_owned(), source }
}

/// Creates the socket's directory (mode 0700) if needed and checks that it
/// is ours and closed to others.
fn prepare_dir(dir: &Path) -> Result<(), ServerError> {
    if !dir.exists() {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io_err(dir))?;
    }
    let md = std::fs::metadata(dir).map_err(io_err(dir))?;
    // SAFETY: no preconditions.
    let me = unsafe { libc::geteuid() };
    if md.uid() != me {
        return Err(ServerError::UnsafeDir {
            path: dir.to_owned(),
            why: format!("owned by uid {}, not by you ({me})", md.uid()),
        });
    }
    if md.mode() & 0o022 != 0 && md.mode() & 0o1000 == 0 {
        return Err(ServerError::UnsafeDir {
            path: dir.to_owned(),
            why: format!("others may write to it (mode {:o})", md.mode() & 0o7777),
        });
    }
    Ok(())
}

impl ControlServer {
    /// Listens on `path` (mode 0600). A socket file nobody answers on (left
    /// by an engine that crashed) is replaced; a live one is an error.
    /// Edits from clients go to `state`.
    pub fn bind(path: &Path, state: Arc<ControlState>, info: EngineInfo) -> Result<ControlServer, ServerError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            prepare_dir(dir)?;
        }
        match std::fs::symlink_metadata(path) {
            Ok(md) if md.file_type().is_socket() => {
                if UnixStream::connect(path).is_ok() {
                    return Err(ServerError::AlreadyRunning(path.to_owned()));
                }
                std::fs::remove_file(path).map_err(io_err(path))?;
            }
            Ok(_) => return Err(ServerError::NotASocket(path.to_owned())),
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(path)(e)),
        }
        // Bound under a temporary name, made owner-only, then renamed into
        // place: the socket never appears at `path` with the umask's mode.
        let tmp = path.with_file_name(format!(".gecko-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        let listener = UnixListener::bind(&tmp).map_err(io_err(&tmp))?;
        let placed = std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))
            .and_then(|_| std::fs::rename(&tmp, path));
        if let Err(e) = placed {
            let _ = std::fs::remove_file(&tmp);
            return Err(io_err(path)(e));
        }
        let md = std::fs::symlink_metadata(path).map_err(io_err(path))?;
        let shared = Arc::new(Shared {
            state,
            info,
            latest: Mutex::new(None),
            seq: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            clients: AtomicUsize::new(0),
        });
        let s = shared.clone();
        let accept = std::thread::Builder::new()
            .name("gecko-control-accept".into())
            .spawn(move || accept_loop(listener, s))
            .map_err(io_err(path))?;
        Ok(ControlServer { shared, path: path.to_owned(), inode: (md.dev(), md.ino()), accept: Some(accept) })
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The shared settings.
    pub fn state(&self) -> &Arc<ControlState> {
        &self.shared.state
    }

    /// The settings changed since the last call, if they did (the engine's
    /// `controls` callback).
    pub fn latest(&self) -> Option<ChainParams> {
        self.shared.state.latest()
    }

    /// Stores the engine's latest state for clients (the engine's
    /// `progress` callback): one short mutex hold, no I/O.
    pub fn publish(&self, mut snapshot: Snapshot) {
        snapshot.telemetry.seq = self.shared.seq.fetch_add(1, Ordering::Relaxed) as u64 + 1;
        *self.shared.latest() = Some(snapshot);
    }

    /// Clients connected now.
    pub fn clients(&self) -> usize {
        self.shared.clients.load(Ordering::Relaxed)
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept thread. If the socket file was deleted under us it
        // cannot be woken: leave it blocked (it ends with the process) rather
        // than hang the engine's shutdown.
        let woken = UnixStream::connect(&self.path).is_ok();
        if let Some(h) = self.accept.take()
            && woken
        {
            let _ = h.join();
        }
        // Remove the socket only if it is still ours (not a newer engine's).
        if let Ok(md) = std::fs::symlink_metadata(&self.path)
            && (md.dev(), md.ino()) == self.inode
        {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

struct ClientSlot(Arc<Shared>);

impl Drop for ClientSlot {
    fn drop(&mut self) {
        self.0.clients.fetch_sub(1, Ordering::SeqCst);
    }
}

fn accept_loop(listener: UnixListener, shared: Arc<Shared>) {
    for conn in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(mut stream) = conn else {
            // EMFILE and friends: back off instead of spinning.
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        let n = shared.clients.fetch_add(1, Ordering::SeqCst) + 1;
        let slot = ClientSlot(shared.clone());
        if n > MAX_CLIENTS {
            let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
            let e = ErrorBody::new(
                ErrorCode::TooManyClients,
                format!(
                    "the engine already serves {MAX_CLIENTS} clients: close some (other app windows, `gecko ctl telemetry --follow`) and retry"
                ),
            );
            let _ = writeln!(stream, "{}", protocol::encode_reply(&Err(e)));
            continue;
        }
        let spawned = std::thread::Builder::new().name("gecko-control-client".into()).spawn(move || {
            let _slot = slot;
            let _ = serve(&_slot.0, stream);
        });
        if spawned.is_err() {
            eprintln!("gecko-control: could not start a client thread");
        }
    }
}

enum LineRead {
    Line,
    Eof,
    TooLong,
    Stopped,
}

/// Reads one line into `buf` (without the newline), at most `max` bytes,
/// checking `stop` while idle.
fn read_line(r: &mut impl BufRead, buf: &mut Vec<u8>, max: usize, stop: &AtomicBool) -> io::Result<LineRead> {
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(LineRead::Stopped);
        }
        let avail = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => {
                continue;
            }
            Err(e) => return Err(e),
        };
        if avail.is_empty() {
            return Ok(if buf.is_empty() { LineRead::Eof } else { LineRead::Line });
        }
        let (take, done) = match avail.iter().position(|&b| b == b'\n') {
            Some(i) => (i, true),
            None => (avail.len(), false),
        };
        buf.extend_from_slice(&avail[..take]);
        r.consume(if done { take + 1 } else { take });
        if buf.len() > max {
            return Ok(LineRead::TooLong);
        }
        if done {
            return Ok(LineRead::Line);
        }
    }
}

fn send(w: &mut UnixStream, r: &Result<Reply, ErrorBody>) -> io::Result<()> {
    let mut line = protocol::encode_reply(r);
    line.push('\n');
    w.write_all(line.as_bytes())
}

fn serve(shared: &Shared, stream: UnixStream) -> io::Result<()> {
    stream.set_read_timeout(Some(POLL))?;
    stream.set_write_timeout(Some(Duration::from_secs(2)))?;
    let mut w = stream.try_clone()?;
    let mut r = BufReader::new(stream);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match read_line(&mut r, &mut buf, MAX_LINE, &shared.stop)? {
            LineRead::Eof | LineRead::Stopped => return Ok(()),
            LineRead::TooLong => {
                let e = ErrorBody::new(
                    ErrorCode::LineTooLong,
                    format!(
                        "the request is longer than {MAX_LINE} bytes; send one request per line (a preset file is far smaller); closing the connection"
                    ),
                );
                return send(&mut w, &Err(e));
            }
            LineRead::Line => {}
        }
        let Ok(line) = std::str::from_utf8(&buf) else {
            send(&mut w, &Err(ErrorBody::new(ErrorCode::MalformedJson, "the line is not UTF-8 text; send JSON")))?;
            continue;
        };
        if line.trim().is_empty() {
            continue;
        }
        match protocol::decode_request(line) {
            Err(e) => send(&mut w, &Err(e))?,
            Ok(Request::Subscribe { rate_hz }) => return stream_telemetry(shared, &mut w, rate_hz),
            Ok(req) => send(&mut w, &handle(shared, req))?,
        }
    }
}

fn not_ready() -> ErrorBody {
    ErrorBody::new(
        ErrorCode::NotReady,
        "the engine has not attached to Gecko Sink yet: is the driver running (`gecko status`, or `gecko host` on Linux)? Retry in a moment",
    )
}

fn handle(shared: &Shared, req: Request) -> Result<Reply, ErrorBody> {
    let edit = match req {
        Request::Hello => {
            return Ok(Reply::Hello(Hello {
                protocol: PROTOCOL_VERSION,
                engine_version: shared.info.engine_version.clone(),
                pid: std::process::id(),
            }));
        }
        Request::Status => {
            let (params, preset) = shared.state.current();
            let latest = shared.latest().clone();
            return Ok(Reply::Status(Box::new(Status {
                engine_version: shared.info.engine_version.clone(),
                pid: std::process::id(),
                ring: shared.info.ring.clone(),
                format: latest.as_ref().map(|s| s.format),
                output_device: latest.as_ref().and_then(|s| s.output_device.clone()),
                output_losses: latest.as_ref().map_or(0, |s| s.output_losses),
                drift: latest.as_ref().and_then(|s| s.telemetry.drift.clone()),
                idle: latest.as_ref().is_some_and(|s| s.telemetry.idle),
                writer: latest.as_ref().map(|s| s.writer),
                recording: shared.info.recording.clone(),
                params,
                preset,
                clients: shared.clients.load(Ordering::Relaxed),
                loopback: latest
                    .as_ref()
                    .map(|s| LoopbackInfo { requested: shared.state.loopback(), ..s.loopback.clone() }),
            })));
        }
        Request::Telemetry => {
            return shared
                .latest()
                .as_ref()
                .map(|s| Reply::Telemetry(Box::new(s.telemetry.clone())))
                .ok_or_else(not_ready);
        }
        Request::Subscribe { .. } => unreachable!("handled by serve"),
        Request::SetGain { db } => Edit::Gain(db),
        Request::SetPreset { name_or_toml } => Edit::Preset(name_or_toml),
        Request::SetEqBand { index, band } => Edit::EqBand { index, band },
        Request::SetLimiter { enabled, ceiling_dbtp } => Edit::Limiter { enabled, ceiling_dbtp },
        Request::Bypass => Edit::Bypass,
        Request::SetMute { muted } => Edit::Mute(muted),
        Request::SetStrength { percent } => Edit::Strength(percent),
        Request::SetLoopback { tap } => {
            shared.state.set_loopback(Some(tap));
            let now = shared.latest().as_ref().map(|s| s.loopback.clone()).unwrap_or_default();
            return Ok(Reply::Loopback(LoopbackInfo { requested: Some(tap), ..now }));
        }
        Request::SetOutput { device } => {
            let device = device.filter(|d| !d.trim().is_empty());
            let o = shared.state.request_output(device, crate::state::OUTPUT_SWITCH_TIMEOUT)?;
            // `status` says so at once, not only from the engine's next snapshot.
            if let Some(snap) = shared.latest().as_mut() {
                snap.output_device = Some(o.device.clone());
            }
            return Ok(Reply::Output(o));
        }
    };
    shared.state.edit(&edit).map(|a| Reply::Applied(Box::new(a)))
}

/// Sends the latest telemetry every 1/rate s until the client goes away or
/// the server stops. Nothing is sent before the engine's first snapshot.
fn stream_telemetry(shared: &Shared, w: &mut UnixStream, rate_hz: f64) -> io::Result<()> {
    let rate = if rate_hz.is_finite() { rate_hz.clamp(MIN_RATE_HZ, MAX_RATE_HZ) } else { 20.0 };
    send(w, &Ok(Reply::Subscribed { rate_hz: rate }))?;
    let period = Duration::from_secs_f64(1.0 / rate);
    let mut next = Instant::now() + period;
    while !shared.stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        }
        next += period;
        if Instant::now() > next + period {
            // Fell behind (a stalled client): resume the rhythm from now.
            next = Instant::now() + period;
        }
        let t = shared.latest().as_ref().map(|s| s.telemetry.clone());
        if let Some(t) = t {
            send(w, &Ok(Reply::Telemetry(Box::new(t))))?;
        }
    }
    Ok(())
}
