//! A TCP relay on loopback in front of in-process receivers: it pipes connections to the
//! current target, which a test can switch, or it forwards requests but withholds the answers
//! (a response lost in flight). Switching closes the connections in flight, so a client
//! reconnects to the new target.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{AbortHandle, JoinHandle};

/// Where the relay sends new connections.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Target {
    /// Both ways, to this receiver.
    To(SocketAddr),
    /// Requests to this receiver, but its answers are never passed back (lost in flight).
    Withhold(SocketAddr),
    /// Both ways, to this receiver, each piece of a request held back this long first (a slow
    /// network: nothing arrives sooner than the delay after it was sent).
    Slow(SocketAddr, std::time::Duration),
}

/// A running relay; stops (closing every connection) when dropped.
#[derive(Debug)]
pub(crate) struct Relay {
    addr: SocketAddr,
    target: Arc<Mutex<Target>>,
    pipes: Arc<Mutex<Vec<AbortHandle>>>,
    accept: JoinHandle<()>,
}

impl Relay {
    /// Listens on a free loopback port, sending new connections to `target`.
    pub(crate) async fn start(target: Target) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let target = Arc::new(Mutex::new(target));
        let pipes = Arc::new(Mutex::new(Vec::new()));
        let (t, p) = (target.clone(), pipes.clone());
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let target = *t.lock().expect("target");
                let pipe = tokio::spawn(pipe(client, target));
                p.lock().expect("pipes").push(pipe.abort_handle());
            }
        });
        Relay {
            addr,
            target,
            pipes,
            accept,
        }
    }

    /// Sends new connections to `target` and closes those in flight.
    pub(crate) fn switch(&self, target: Target) {
        *self.target.lock().expect("target") = target;
        for pipe in self.pipes.lock().expect("pipes").drain(..) {
            pipe.abort();
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.switch(Target::To(self.addr));
        self.accept.abort();
    }
}

async fn pipe(client: TcpStream, target: Target) {
    let (Target::To(addr) | Target::Withhold(addr) | Target::Slow(addr, _)) = target;
    let Ok(upstream) = TcpStream::connect(addr).await else {
        return;
    };
    let (mut client_read, mut client_write) = client.into_split();
    let (mut upstream_read, mut upstream_write) = upstream.into_split();
    let up = tokio::io::copy(&mut client_read, &mut upstream_write);
    match target {
        Target::To(_) => {
            let down = tokio::io::copy(&mut upstream_read, &mut client_write);
            let _ = tokio::join!(up, down);
        }
        Target::Withhold(_) => {
            let _ = up.await;
            std::future::pending::<()>().await;
        }
        Target::Slow(_, delay) => {
            drop(up);
            let up = delayed_copy(&mut client_read, &mut upstream_write, delay);
            let down = tokio::io::copy(&mut upstream_read, &mut client_write);
            let _ = tokio::join!(up, down);
        }
    }
}

/// Copies `from` to `to`, waiting `delay` before passing on each piece read.
async fn delayed_copy(
    from: &mut (impl tokio::io::AsyncRead + Unpin),
    to: &mut (impl tokio::io::AsyncWrite + Unpin),
    delay: std::time::Duration,
) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut buffer = vec![0; 64 * 1024];
    while let Ok(n @ 1..) = from.read(&mut buffer).await {
        tokio::time::sleep(delay).await;
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
    let _ = to.shutdown().await;
}
