//! The daemon's Unix socket: accepts connections from the same user only (checked with the
//! peer's credentials), reads one framed request per connection, and dispatches it: pokes to
//! the registry, flush/status/stop to their handlers.

use super::sessions::Registry;
use super::SessionContext;
use crate::wire::{self, DaemonStatus, Request, Response, HEADER_BYTES};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

/// How long a client may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Accepts connections until cancelled.
pub(crate) async fn serve(
    listener: UnixListener,
    registry: Arc<Registry>,
    ctx: Arc<SessionContext>,
    started: Instant,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = ctx.cancel.cancelled() => return,
        };
        match accepted {
            Ok((stream, _)) => {
                let (registry, ctx) = (registry.clone(), ctx.clone());
                ctx.tracker.clone().spawn(async move {
                    if let Err(error) = handle(stream, &registry, &ctx, started).await {
                        ctx.log.write(format_args!("connection: {error}"));
                    }
                });
            }
            Err(error) => ctx.log.error(&error),
        }
    }
}

/// Why a connection was dropped.
#[derive(Debug, thiserror::Error)]
enum ConnectionError {
    #[error("refused a connection from uid {0}")]
    ForeignUser(u32),
    #[error("i/o")]
    Io(#[from] std::io::Error),
    #[error("bad request")]
    Wire(#[from] wire::Error),
    #[error("the client took too long to send its request")]
    Timeout,
}

async fn handle(
    mut stream: UnixStream,
    registry: &Arc<Registry>,
    ctx: &SessionContext,
    started: Instant,
) -> Result<(), ConnectionError> {
    let peer = stream.peer_cred()?;
    // SAFETY: getuid has no preconditions and cannot fail.
    let own = unsafe { libc::getuid() };
    if peer.uid() != own {
        return Err(ConnectionError::ForeignUser(peer.uid()));
    }
    let request: Request = tokio::time::timeout(READ_TIMEOUT, read_request(&mut stream))
        .await
        .map_err(|_| ConnectionError::Timeout)??;
    let response = match request {
        Request::Poke { session_id, route } => {
            registry.wake(&session_id, Some(route)).await;
            return Ok(());
        }
        Request::Flush {
            session_id,
            timeout_ms,
        } => {
            let timeout = Duration::from_millis(timeout_ms);
            match registry.flush(session_id.as_deref(), timeout).await {
                true => Response::Flushed,
                false => Response::TimedOut,
            }
        }
        Request::Status => Response::Status(DaemonStatus {
            pid: std::process::id(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            uptime_ms: started.elapsed().as_millis() as u64,
            sessions: registry.status().await,
            destinations: ctx.destinations.stats(),
            panics: ctx.panics.load(std::sync::atomic::Ordering::Relaxed),
        }),
        Request::Stop => {
            ctx.cancel.cancel();
            Response::Stopping
        }
    };
    let frame = wire::encode(&response)?;
    stream.write_all(&frame).await?;
    Ok(())
}

async fn read_request(stream: &mut UnixStream) -> Result<Request, ConnectionError> {
    let mut header = [0u8; HEADER_BYTES];
    stream.read_exact(&mut header).await?;
    let len = wire::frame_len(header)?;
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body).await?;
    Ok(wire::decode(&body)?)
}
