//! The app's and `gecko ctl`'s side: [`ControlClient`].

use crate::protocol::{
    self, Applied, ErrorBody, Hello, LoopbackInfo, LoopbackTap, MAX_LINE, OutputSet, Reply, Request, Status,
    TelemetryMsg,
};
use gecko_dsp::EqBand;
use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a request waits for its reply.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing listens on the socket.
    #[error("no engine is listening on {0}: start one with `gecko engine`")]
    NotRunning(PathBuf),
    /// The socket exists but may not be opened.
    #[error("may not connect to {0}: the engine belongs to another user")]
    PermissionDenied(PathBuf),
    /// The engine refused the request.
    #[error("the engine refused: {}", .0.message)]
    Engine(ErrorBody),
    /// The engine's reply was not what the protocol says.
    #[error("unexpected reply from the engine: {0}")]
    Protocol(String),
    /// The engine closed the connection (it stopped).
    #[error("the engine closed the connection (did it stop?)")]
    Closed,
    /// The engine did not answer in time.
    #[error("the engine did not answer within {} s", REPLY_TIMEOUT.as_secs())]
    Timeout,
    /// Another I/O error.
    #[error("control socket: {0}")]
    Io(#[from] io::Error),
}

/// A connection to an engine's control socket.
pub struct ControlClient {
    r: BufReader<UnixStream>,
    w: UnixStream,
    path: PathBuf,
}

impl ControlClient {
    /// Connects; [`ClientError::NotRunning`] when no engine listens there.
    pub fn connect(path: &Path) -> Result<ControlClient, ClientError> {
        let s = UnixStream::connect(path).map_err(|e| match e.kind() {
            ErrorKind::NotFound | ErrorKind::ConnectionRefused => ClientError::NotRunning(path.to_owned()),
            ErrorKind::PermissionDenied => ClientError::PermissionDenied(path.to_owned()),
            _ => ClientError::Io(e),
        })?;
        s.set_read_timeout(Some(REPLY_TIMEOUT))?;
        s.set_write_timeout(Some(REPLY_TIMEOUT))?;
        Ok(ControlClient { w: s.try_clone()?, r: BufReader::new(s), path: path.to_owned() })
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sends a raw line (for tests and tools) and returns the reply line.
    pub fn raw(&mut self, line: &str) -> Result<String, ClientError> {
        self.w.write_all(line.as_bytes())?;
        self.w.write_all(b"\n")?;
        self.read_line()
    }

    fn read_line(&mut self) -> Result<String, ClientError> {
        let mut buf = Vec::new();
        let n = (&mut self.r).take(MAX_LINE as u64 * 4).read_until(b'\n', &mut buf).map_err(|e| match e.kind() {
            ErrorKind::WouldBlock | ErrorKind::TimedOut => ClientError::Timeout,
            _ => ClientError::Io(e),
        })?;
        if n == 0 {
            return Err(ClientError::Closed);
        }
        if buf.last() != Some(&b'\n') {
            return Err(ClientError::Protocol("reply line too long or cut short".into()));
        }
        buf.pop();
        String::from_utf8(buf).map_err(|_| ClientError::Protocol("reply is not UTF-8".into()))
    }

    fn read_reply(&mut self) -> Result<Reply, ClientError> {
        let line = self.read_line()?;
        match protocol::decode_reply(&line) {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) => Err(ClientError::Engine(e)),
            Err(e) => Err(ClientError::Protocol(e.message)),
        }
    }

    /// Sends a request and reads its reply.
    pub fn request(&mut self, req: &Request) -> Result<Reply, ClientError> {
        let mut line = protocol::encode_request(req);
        line.push('\n');
        self.w.write_all(line.as_bytes())?;
        self.read_reply()
    }

    /// Protocol version, engine version and pid.
    pub fn hello(&mut self) -> Result<Hello, ClientError> {
        match self.request(&Request::Hello)? {
            Reply::Hello(h) => Ok(h),
            r => Err(unexpected(&r)),
        }
    }

    /// The engine's state.
    pub fn status(&mut self) -> Result<Status, ClientError> {
        match self.request(&Request::Status)? {
            Reply::Status(s) => Ok(*s),
            r => Err(unexpected(&r)),
        }
    }

    /// The latest telemetry.
    pub fn telemetry(&mut self) -> Result<TelemetryMsg, ClientError> {
        match self.request(&Request::Telemetry)? {
            Reply::Telemetry(t) => Ok(*t),
            r => Err(unexpected(&r)),
        }
    }

    fn applied(&mut self, req: Request) -> Result<Applied, ClientError> {
        match self.request(&req)? {
            Reply::Applied(a) => Ok(*a),
            r => Err(unexpected(&r)),
        }
    }

    /// Sets the gain, dB.
    pub fn set_gain(&mut self, db: f64) -> Result<Applied, ClientError> {
        self.applied(Request::SetGain { db })
    }

    /// Loads a built-in preset by name or a preset's TOML text.
    pub fn set_preset(&mut self, name_or_toml: &str) -> Result<Applied, ClientError> {
        self.applied(Request::SetPreset { name_or_toml: name_or_toml.to_owned() })
    }

    /// Replaces one EQ band.
    pub fn set_eq_band(&mut self, index: usize, band: EqBand) -> Result<Applied, ClientError> {
        self.applied(Request::SetEqBand { index, band })
    }

    /// Limiter on/off and ceiling (`None`: unchanged).
    pub fn set_limiter(&mut self, enabled: Option<bool>, ceiling_dbtp: Option<f64>) -> Result<Applied, ClientError> {
        self.applied(Request::SetLimiter { enabled, ceiling_dbtp })
    }

    /// Gain 0 dB, no EQ, limiter off.
    pub fn bypass(&mut self) -> Result<Applied, ClientError> {
        self.applied(Request::Bypass)
    }

    /// Mutes or unmutes the engine's output.
    pub fn set_mute(&mut self, muted: bool) -> Result<Applied, ClientError> {
        self.applied(Request::SetMute { muted })
    }

    /// Scales the whole EQ correction to `percent` (0–100) of what is written.
    pub fn set_strength(&mut self, percent: f64) -> Result<Applied, ClientError> {
        self.applied(Request::SetStrength { percent })
    }

    /// Moves the engine's playback to `device` (`None`: the system default)
    /// while it runs; returns where it plays when the new device runs. The
    /// engine refuses (and keeps playing where it was) a device it cannot
    /// open, Gecko Sink itself, or any device when it runs headless.
    pub fn set_output(&mut self, device: Option<&str>) -> Result<OutputSet, ClientError> {
        match self.request(&Request::SetOutput { device: device.map(str::to_owned) })? {
            Reply::Output(o) => Ok(o),
            r => Err(unexpected(&r)),
        }
    }

    /// Chooses what Gecko Sink's input stream carries; returns the loopback's state.
    pub fn set_loopback(&mut self, tap: LoopbackTap) -> Result<LoopbackInfo, ClientError> {
        match self.request(&Request::SetLoopback { tap })? {
            Reply::Loopback(l) => Ok(l),
            r => Err(unexpected(&r)),
        }
    }

    /// Turns this connection into a telemetry stream at `rate_hz` (clamped
    /// to 10–30 Hz); returns the rate granted and the stream.
    pub fn subscribe(mut self, rate_hz: f64) -> Result<Subscription, ClientError> {
        match self.request(&Request::Subscribe { rate_hz })? {
            Reply::Subscribed { rate_hz } => Ok(Subscription { client: self, rate_hz }),
            r => Err(unexpected(&r)),
        }
    }
}

fn unexpected(r: &Reply) -> ClientError {
    ClientError::Protocol(format!("{r:?}"))
}

/// Telemetry messages as the engine streams them; ends (with an error)
/// when the engine goes away.
pub struct Subscription {
    client: ControlClient,
    rate_hz: f64,
}

impl Subscription {
    /// The rate the engine granted, Hz.
    pub fn rate_hz(&self) -> f64 {
        self.rate_hz
    }
}

impl Iterator for Subscription {
    type Item = Result<TelemetryMsg, ClientError>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(match self.client.read_reply() {
            Ok(Reply::Telemetry(t)) => Ok(*t),
            Ok(r) => Err(unexpected(&r)),
            Err(e) => Err(e),
        })
    }
}
