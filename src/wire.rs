//! Messages between clients (the hook, `codex-otel` commands) and the daemon over its Unix
//! socket ([`crate::paths::StateDir::socket`]).
//!
//! # Protocol
//!
//! - Every message is one frame: a 4-byte big-endian length, then that many bytes of JSON.
//!   A frame longer than [`MAX_FRAME_BYTES`] is refused before it is read ([`Error::TooLarge`]).
//! - A client connects, sends one [`Request`] and, except for [`Request::Poke`], reads one
//!   [`Response`]; then the connection closes. A poke is fire-and-forget: the hook never
//!   waits for the daemon, because the event is already durable in the journal.
//! - A poke carries the hook's [`Route`]: the destination-relevant environment of the
//!   session (it may hold credentials). It travels only over this socket, which lives in the
//!   0700 state directory; it is never written to disk or logs, and its `Debug` shows names
//!   only.
//!
//! - The client checks who answers before it sends anything: the peer of the socket must run
//!   as the same user ([`Error::ForeignPeer`] otherwise), so a socket another user planted or
//!   squatted never receives a route.
//!
//! The blocking client functions ([`send`], [`request`]) are for the hook and the CLI. The
//! daemon's async side reads a header, checks it with [`frame_len`], reads the body and calls
//! [`decode`] (or [`try_decode`] on a buffer), and answers with [`encode`].

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use socket2::{Domain, SockAddr, Socket, Type};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Largest frame body accepted or produced. Bigger frames are refused with
/// [`Error::TooLarge`]; no message needs more than a few kilobytes.
pub const MAX_FRAME_BYTES: usize = 1 << 20;
/// Size of the length header in front of each frame body.
pub const HEADER_BYTES: usize = 4;

/// Name prefixes of the environment variables a [`Route`] carries.
pub const ROUTE_PREFIXES: [&str; 4] =
    ["OTEL_", "BRAINTRUST_", "TRACE_TO_BRAINTRUST", "CODEX_OTEL_"];
/// Exact names a [`Route`] carries as well: where to attach the session's trace (a parent
/// trace, or the parent session and tool call of a `codex exec` a tool command ran), and where
/// the session's `config.json` is (the plugin's data directory, Codex's home).
pub const ROUTE_NAMES: [&str; 8] = [
    "CODEX_PARENT_SPAN_ID",
    "CODEX_ROOT_SPAN_ID",
    "TRACEPARENT",
    "TRACESTATE",
    "CODEX_SESSION_ID",
    "CODEX_TOOL_CALL_ID",
    "PLUGIN_DATA",
    "CODEX_HOME",
];

/// The destination-relevant environment of a hook: the variables named by
/// [`ROUTE_PREFIXES`] and [`ROUTE_NAMES`]. Values may be secrets: `Debug` prints names only.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Route(BTreeMap<String, String>);

impl Route {
    /// The route of this process's environment.
    pub fn from_env() -> Self {
        Self::from_vars(std::env::vars_os())
    }

    /// The route of an environment given as pairs; names or values that are not UTF-8 are
    /// left out.
    pub fn from_vars(vars: impl IntoIterator<Item = (OsString, OsString)>) -> Self {
        let vars = vars.into_iter().filter_map(|(name, value)| {
            let name = name.into_string().ok().filter(|n| Self::carries(n))?;
            Some((name, value.into_string().ok()?))
        });
        Route(vars.collect())
    }

    /// Whether a route carries the variable `name` ([`ROUTE_PREFIXES`], [`ROUTE_NAMES`]).
    pub fn carries(name: &str) -> bool {
        ROUTE_PREFIXES.iter().any(|p| name.starts_with(p)) || ROUTE_NAMES.contains(&name)
    }

    /// The value of `name`, if the route has it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Every `(name, value)`, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// True when no variable was carried.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Route")
            .field("names", &self.0.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// A message to the daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Request {
    /// An event was appended to `session_id`'s journal: read it. Never answered.
    Poke {
        /// The session (root thread) id.
        session_id: String,
        /// The environment the session's spans should be routed with.
        #[serde(default)]
        route: Route,
    },
    /// Export what is journaled so far, for one session or all, within `timeout_ms`.
    /// Answered with [`Response::Flushed`] or [`Response::TimedOut`].
    Flush {
        /// The session, or `None` for every session.
        session_id: Option<String>,
        /// How long the daemon may take before answering `TimedOut`.
        timeout_ms: u64,
    },
    /// Answered with [`Response::Status`].
    Status,
    /// Shut down in order; answered with [`Response::Stopping`] before the drain starts.
    Stop,
}

/// The daemon's answer to a [`Request`] other than a poke.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Response {
    /// Everything journaled before the flush was exported.
    Flushed,
    /// The flush deadline passed first; export continues in the background.
    TimedOut,
    /// The daemon's state.
    Status(DaemonStatus),
    /// The daemon accepted the stop request.
    Stopping,
}

/// What `codex-otel status` shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DaemonStatus {
    /// The daemon's process id.
    pub pid: u32,
    /// The daemon's codex-otel version.
    pub version: String,
    /// Time since the daemon started, in milliseconds.
    pub uptime_ms: u64,
    /// Sessions the daemon currently follows.
    pub sessions: Vec<SessionStatus>,
    /// Every destination with a spool: those configured by a session's route, and those whose
    /// spool survived from an earlier daemon and waits for a route that configures them again.
    pub destinations: Vec<DestinationStatus>,
    /// Panics caught while reading sessions since the daemon started (each logged with its
    /// session id; the session resumes after the input that caused it).
    pub panics: u64,
}

/// One followed session in a [`DaemonStatus`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionStatus {
    /// The session id.
    pub session_id: String,
    /// Journal offset read so far.
    pub journal_offset: u64,
    /// Journal offset exported and checkpointed.
    pub exported_offset: u64,
    /// Spans handed to a destination's spool and not yet acknowledged by it.
    pub pending_spans: u64,
    /// A full spool refused some of the session's spans; they will be rebuilt from the journal
    /// once it has room.
    pub deferred: bool,
    /// Secrets the session was first traced with that neither the environment of its latest
    /// hook nor `config.json` provides: its spans wait in the journal until one does.
    pub waiting_for: Vec<String>,
    /// The session did not answer within the status wait: it is busy reading (or stuck). Its
    /// other figures are unknown (zero).
    pub busy: bool,
    /// No route is known for the session (no hook of it has reached this daemon and none was
    /// recorded): its events wait in the journal until one of its hooks supplies it.
    pub waiting_for_route: bool,
    /// Panics caught while reading this session (each input that caused one is skipped).
    pub panics: u64,
    /// Records the session machine could not place as Codex meant them (each logged: a model
    /// call without a known turn or time, a tool output without its call, a record read twice).
    pub notices: u64,
}

impl SessionStatus {
    /// The status of a session that did not answer in time.
    pub fn busy(session_id: String) -> Self {
        SessionStatus {
            session_id,
            busy: true,
            ..SessionStatus::default()
        }
    }
}

/// One destination in a [`DaemonStatus`]. Counters start at zero when the daemon starts;
/// queued figures are what its spool holds on disk.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DestinationStatus {
    /// The destination's name.
    pub name: String,
    /// Its spool directory under `spool/` (the name plus a digest of the configuration).
    pub spool: String,
    /// What delivery is doing.
    pub state: DeliveryState,
    /// Spans in the spool, waiting for the destination's acknowledgement.
    pub queued_spans: u64,
    /// Bytes the spool takes on disk.
    pub queued_bytes: u64,
    /// Spans the destination acknowledged.
    pub delivered_spans: u64,
    /// Spans given up on: a single span the destination refuses as too large, or spans an
    /// OTLP partial success reported as rejected.
    pub dropped_spans: u64,
    /// Spans a full spool refused; they stay in their journals and are rebuilt from there.
    pub refused_spans: u64,
    /// Failed export attempts that will be retried.
    pub retries: u64,
    /// The last failure, kept after later successes (compare the two times).
    pub last_error: Option<String>,
    /// When the last failure happened, in milliseconds since the Unix epoch.
    pub last_error_at_ms: Option<u64>,
    /// When the destination last acknowledged spans, in milliseconds since the Unix epoch.
    pub last_success_at_ms: Option<u64>,
    /// The latest 2xx answer that was not an OTLP response (a wrong endpoint, most likely):
    /// the spans were counted as delivered.
    pub warning: Option<String>,
}

/// What a destination's delivery is doing, in a [`DestinationStatus`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DeliveryState {
    /// Nothing to send, or sending.
    #[default]
    Ok,
    /// The last attempt failed in a way worth retrying soon (network, 429, 5xx).
    Retrying,
    /// The destination refuses the spans (400, 401, 403, 404): retried at a long interval.
    Failing,
    /// The spool exists but no current route configures this destination (its credentials
    /// are known only to the sessions that use it).
    Unconfigured,
}

/// Why a message could not be sent, received or understood.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No daemon is listening: the socket is absent or refuses connections.
    #[error("no daemon is listening on {path}")]
    NoDaemon {
        /// The socket.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The process listening on the socket runs as another user: nothing was sent to it.
    #[error("refusing {path}: the process listening on it runs as uid {uid}, not as this user")]
    ForeignPeer {
        /// The socket.
        path: PathBuf,
        /// The listener's user.
        uid: u32,
    },
    /// Connecting failed otherwise: a timeout, a full backlog, a path too long for a socket.
    #[error("cannot connect to {path}")]
    Connect {
        /// The socket.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Sending or receiving a frame failed, timed out, or the peer closed early.
    #[error("socket I/O failed")]
    Io(#[source] io::Error),
    /// A frame announced (or a message needed) more than [`MAX_FRAME_BYTES`].
    #[error("frame of {len} bytes exceeds the limit of {MAX_FRAME_BYTES}")]
    TooLarge {
        /// The frame's length.
        len: usize,
    },
    /// A frame is not a valid message. The source may quote the frame: log with care.
    #[error("frame is not a valid message")]
    Decode(#[source] serde_json::Error),
    /// A message could not be serialized.
    #[error("message cannot be encoded")]
    Encode(#[source] serde_json::Error),
}

/// Encodes `message` as one frame, header included.
pub fn encode<T: Serialize>(message: &T) -> Result<Vec<u8>, Error> {
    let mut frame = vec![0; HEADER_BYTES];
    serde_json::to_writer(&mut frame, message).map_err(Error::Encode)?;
    let len = frame.len() - HEADER_BYTES;
    let header = u32::try_from(len)
        .ok()
        .filter(|_| len <= MAX_FRAME_BYTES)
        .ok_or(Error::TooLarge { len })?;
    frame[..HEADER_BYTES].copy_from_slice(&header.to_be_bytes());
    Ok(frame)
}

/// The body length a header announces, refused above [`MAX_FRAME_BYTES`].
pub fn frame_len(header: [u8; HEADER_BYTES]) -> Result<usize, Error> {
    let len = u32::from_be_bytes(header) as usize;
    if len > MAX_FRAME_BYTES {
        return Err(Error::TooLarge { len });
    }
    Ok(len)
}

/// Decodes a frame body.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(body).map_err(Error::Decode)
}

/// Decodes the first frame in `buf`: `None` until the whole frame is there, else the
/// message and the number of bytes it used.
pub fn try_decode<T: DeserializeOwned>(buf: &[u8]) -> Result<Option<(T, usize)>, Error> {
    let Some((header, rest)) = buf.split_first_chunk::<HEADER_BYTES>() else {
        return Ok(None);
    };
    let len = frame_len(*header)?;
    match rest.get(..len) {
        Some(body) => Ok(Some((decode(body)?, HEADER_BYTES + len))),
        None => Ok(None),
    }
}

/// Reads one frame from a blocking reader.
pub fn read_message<T: DeserializeOwned>(reader: &mut impl Read) -> Result<T, Error> {
    let mut header = [0; HEADER_BYTES];
    reader.read_exact(&mut header).map_err(Error::Io)?;
    let mut body = vec![0; frame_len(header)?];
    reader.read_exact(&mut body).map_err(Error::Io)?;
    decode(&body)
}

/// Writes one frame to a blocking writer.
pub fn write_message<T: Serialize>(writer: &mut impl Write, message: &T) -> Result<(), Error> {
    writer.write_all(&encode(message)?).map_err(Error::Io)
}

/// Connects to the daemon's socket; connecting and every later read or write give up after
/// `timeout`.
pub fn connect(socket: &Path, timeout: Duration) -> Result<UnixStream, Error> {
    let connect_error = |source: io::Error| match source.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => Error::NoDaemon {
            path: socket.to_owned(),
            source,
        },
        _ => Error::Connect {
            path: socket.to_owned(),
            source,
        },
    };
    let address = SockAddr::unix(socket).map_err(connect_error)?;
    let stream = Socket::new(Domain::UNIX, Type::STREAM, None).map_err(connect_error)?;
    stream
        .connect_timeout(&address, timeout)
        .map_err(connect_error)?;
    let stream = UnixStream::from(stream);
    let uid = peer_uid(&stream).map_err(connect_error)?;
    if uid != crate::paths::current_uid() {
        return Err(Error::ForeignPeer {
            path: socket.to_owned(),
            uid,
        });
    }
    stream.set_read_timeout(Some(timeout)).map_err(Error::Io)?;
    stream.set_write_timeout(Some(timeout)).map_err(Error::Io)?;
    Ok(stream)
}

/// The user id of the process at the other end of `stream` (`SO_PEERCRED`).
fn peer_uid(stream: &UnixStream) -> io::Result<u32> {
    use std::os::fd::AsRawFd;
    // SAFETY: a zeroed `ucred` is a valid value of this plain C struct.
    let mut cred: libc::ucred = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into the `ucred` we own.
    let done = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if done != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(cred.uid)
}

/// Sends a request that is not answered (a [`Request::Poke`]) and closes the connection.
pub fn send(socket: &Path, request: &Request, timeout: Duration) -> Result<(), Error> {
    write_message(&mut connect(socket, timeout)?, request)
}

/// Sends a request and waits up to `timeout` (for each step) for the daemon's answer.
pub fn request(socket: &Path, request: &Request, timeout: Duration) -> Result<Response, Error> {
    let mut stream = connect(socket, timeout)?;
    write_message(&mut stream, request)?;
    read_message(&mut stream)
}

#[cfg(test)]
mod tests;
