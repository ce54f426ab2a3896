//! A tiny HTTP `CONNECT` proxy on loopback: it records each tunnel's target, then connects to
//! it and relays bytes both ways; or, scripted to refuse, answers every `CONNECT` with a status
//! and no tunnel.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// A running proxy; stops when dropped.
#[derive(Debug)]
pub(crate) struct ConnectProxy {
    addr: SocketAddr,
    targets: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ConnectProxy {
    /// A proxy that opens every tunnel asked for.
    pub(crate) async fn start() -> Self {
        Self::answering(None).await
    }

    /// A proxy that answers every `CONNECT` with `status` and closes the connection.
    pub(crate) async fn refusing(status: u16) -> Self {
        Self::answering(Some(status)).await
    }

    async fn answering(refusal: Option<u16>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let targets = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&targets);
        let task = tokio::spawn(async move {
            let mut tunnels = JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                tunnels.spawn(tunnel(stream, Arc::clone(&log), refusal));
            }
        });
        ConnectProxy {
            addr,
            targets,
            task,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The `host:port` of every `CONNECT` so far, in order.
    pub(crate) fn targets(&self) -> Vec<String> {
        self.targets.lock().expect("targets").clone()
    }
}

/// Reads one `CONNECT host:port` request, records it, then relays or refuses.
async fn tunnel(stream: TcpStream, log: Arc<Mutex<Vec<String>>>, refusal: Option<u16>) {
    let mut client = BufReader::new(stream);
    let mut line = String::new();
    if client.read_line(&mut line).await.unwrap_or(0) == 0 {
        return;
    }
    let mut words = line.split_whitespace();
    let (Some("CONNECT"), Some(target)) = (words.next(), words.next()) else {
        return;
    };
    let target = target.to_owned();
    loop {
        let mut header = String::new();
        match client.read_line(&mut header).await {
            Ok(n) if n > 0 && header.trim_end().is_empty() => break,
            Ok(n) if n > 0 => {}
            _ => return,
        }
    }
    log.lock().expect("targets").push(target.clone());
    let mut client = client.into_inner();
    if let Some(status) = refusal {
        let answer = format!("HTTP/1.1 {status} Refused\r\ncontent-length: 0\r\n\r\n");
        let _ = client.write_all(answer.as_bytes()).await;
        return;
    }
    let Ok(mut upstream) = TcpStream::connect(&target).await else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
        return;
    };
    if client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .await
        .is_ok()
    {
        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
    }
}
