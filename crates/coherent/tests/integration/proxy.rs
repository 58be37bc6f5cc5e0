//! A fault-injecting TCP proxy for the server backends: a real relay on `127.0.0.1:0` in front
//! of the test's server that, when told to, cuts the connection at a chosen point of the
//! client-to-server stream.
//!
//! Policy: one rule is armed at a time and fires once, on whichever relayed connection meets
//! it first. A cut closes the client's side at once (the client sees the connection lost)
//! and half-closes the server's side after forwarding what the rule lets through, then reads
//! the server's side until it closes, so what was forwarded is really received (a cut
//! "after" COMMIT means the server got COMMIT; "before" means it never did). Patterns are
//! searched within one read of the client's stream: a short control statement (`COMMIT`,
//! `BEGIN`) arrives in one piece. Everything runs on loopback and ends with the proxy.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Where a cut happens.
#[derive(Debug, Clone)]
pub enum Cut {
    /// When a client-to-server read contains the pattern, before forwarding any of it.
    Before(Vec<u8>),
    /// When a client-to-server read contains the pattern, right after forwarding it (the
    /// server gets the statement, the client never sees its answer).
    After(Vec<u8>),
    /// When a client-to-server read contains the pattern: forward it and the server's next
    /// answer, then cut (the client saw the answer; the connection dies afterwards).
    AfterReply(Vec<u8>),
    /// After this many more client-to-server bytes have been forwarded.
    AfterBytes(usize),
}

#[derive(Default)]
struct Shared {
    rule: Mutex<Option<Cut>>,
    /// Client-to-server bytes forwarded since the rule was armed.
    forwarded: AtomicUsize,
    cuts: AtomicUsize,
    connections: AtomicUsize,
}

/// What a relay does with one read of the client's stream.
enum Step {
    Forward,
    /// Forward this many bytes of the read, then cut.
    CutAfter(usize),
    /// Forward the read and the next answer, then cut.
    CutAfterReply,
}

impl Shared {
    fn step(&self, chunk: &[u8]) -> Step {
        let mut rule = self.rule.lock().unwrap();
        let step = match rule.as_ref() {
            None => Step::Forward,
            Some(Cut::Before(p)) if contains(chunk, p) => Step::CutAfter(0),
            Some(Cut::After(p)) if contains(chunk, p) => Step::CutAfter(chunk.len()),
            Some(Cut::AfterReply(p)) if contains(chunk, p) => Step::CutAfterReply,
            Some(Cut::AfterBytes(n)) => {
                let before = self.forwarded.load(Ordering::SeqCst);
                if before + chunk.len() > *n {
                    Step::CutAfter(n.saturating_sub(before))
                } else {
                    Step::Forward
                }
            }
            Some(_) => Step::Forward,
        };
        match step {
            Step::Forward => {
                self.forwarded.fetch_add(chunk.len(), Ordering::SeqCst);
            }
            _ => {
                *rule = None;
                self.cuts.fetch_add(1, Ordering::SeqCst);
            }
        }
        step
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// A running proxy; dropping it stops it and every connection it relays.
pub struct Proxy {
    addr: SocketAddr,
    upstream: String,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

impl Proxy {
    /// Starts a proxy in front of the server of `url` (`scheme://user@host:port/...`).
    pub async fn start(url: &str) -> Proxy {
        let upstream = authority(url).to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let shared = Arc::new(Shared::default());
        let accept = tokio::spawn({
            let shared = Arc::clone(&shared);
            let upstream = upstream.clone();
            async move {
                let mut relays = tokio::task::JoinSet::new();
                while let Ok((client, _)) = listener.accept().await {
                    let Ok(server) = TcpStream::connect(&upstream).await else {
                        continue;
                    };
                    shared.connections.fetch_add(1, Ordering::SeqCst);
                    relays.spawn(relay(client, server, Arc::clone(&shared)));
                    while relays.try_join_next().is_some() {}
                }
            }
        });
        Proxy {
            addr,
            upstream,
            shared,
            accept,
        }
    }

    /// `url` with the server's address replaced by the proxy's.
    pub fn url(&self, url: &str) -> String {
        url.replacen(&self.upstream, &self.addr.to_string(), 1)
    }

    /// Arms `cut` (replacing any rule not fired yet); it fires once.
    pub fn arm(&self, cut: Cut) {
        self.shared.forwarded.store(0, Ordering::SeqCst);
        *self.shared.rule.lock().unwrap() = Some(cut);
    }

    /// Disarms a rule that has not fired.
    pub fn disarm(&self) {
        *self.shared.rule.lock().unwrap() = None;
    }

    /// How many cuts fired so far.
    pub fn cuts(&self) -> usize {
        self.shared.cuts.load(Ordering::SeqCst)
    }

    /// Client-to-server bytes forwarded since the last [`Proxy::arm`] (with no rule armed,
    /// what a piece of work sends).
    pub fn forwarded(&self) -> usize {
        self.shared.forwarded.load(Ordering::SeqCst)
    }

    /// How many connections were relayed so far.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// `host:port` of a URL.
fn authority(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.split(['/', '?']).next().unwrap_or(rest);
    rest.rsplit_once('@').map_or(rest, |(_, a)| a)
}

async fn relay(mut client: TcpStream, mut server: TcpStream, shared: Arc<Shared>) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut from_client, mut to_client) = (vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]);
    let mut cut_after_reply = false;
    loop {
        tokio::select! {
            read = client.read(&mut from_client) => {
                let n = match read { Ok(0) | Err(_) => break, Ok(n) => n };
                let chunk = &from_client[..n];
                match shared.step(chunk) {
                    Step::Forward => {
                        if server.write_all(chunk).await.is_err() { break; }
                    }
                    Step::CutAfter(through) => {
                        let _ = server.write_all(&chunk[..through]).await;
                        drop(client);
                        drain(server).await;
                        return;
                    }
                    Step::CutAfterReply => {
                        if server.write_all(chunk).await.is_err() { break; }
                        cut_after_reply = true;
                    }
                }
            }
            read = server.read(&mut to_client) => {
                let n = match read { Ok(0) | Err(_) => break, Ok(n) => n };
                if client.write_all(&to_client[..n]).await.is_err() { break; }
                if cut_after_reply {
                    let _ = client.flush().await;
                    drop(client);
                    drain(server).await;
                    return;
                }
            }
        }
    }
}

/// Half-closes the server's side and reads it until the server closes it (bounded), so
/// what was forwarded is received and acted on rather than reset.
async fn drain(mut server: TcpStream) {
    let _ = server.shutdown().await;
    let mut sink = vec![0u8; 16 * 1024];
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(n) = server.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}
