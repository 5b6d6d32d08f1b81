//! A TCP proxy in front of a real dependency (the chain node, a database) that a test can take
//! down and bring back: while down it drops every open connection and closes each new one at
//! once, as a restarting database or an unreachable node looks to its clients.
//!
//! Shared with the node's tests (`node/tests/rpc_outage.rs` includes this file by `#[path]`), so
//! it needs nothing but tokio.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A running proxy; stops when dropped.
pub struct Proxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    down: Arc<AtomicBool>,
    /// Bumped by `down()`: forwarding tasks of an older generation end.
    generation: watch::Sender<u64>,
    accepted: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Forwards a free loopback port to `target`.
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let down = Arc::new(AtomicBool::new(false));
        let (generation, _) = watch::channel(0u64);
        let accepted = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn(accept_loop(listener, target, down.clone(), generation.clone(), accepted.clone()));
        Self { addr, down, generation, accepted, task }
    }

    /// Takes the dependency away: open connections drop, new ones are closed at once.
    pub fn down(&self) {
        self.down.store(true, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    /// Brings it back.
    pub fn up(&self) {
        self.down.store(false, Ordering::SeqCst);
    }

    /// Connections accepted so far (those closed while down included).
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        self.generation.send_modify(|g| *g += 1);
    }
}

async fn accept_loop(
    listener: TcpListener,
    target: SocketAddr,
    down: Arc<AtomicBool>,
    generation: watch::Sender<u64>,
    accepted: Arc<AtomicU64>,
) {
    while let Ok((client, _)) = listener.accept().await {
        accepted.fetch_add(1, Ordering::SeqCst);
        if down.load(Ordering::SeqCst) {
            drop(client);
            continue;
        }
        let mut gone = generation.subscribe();
        tokio::spawn(async move {
            let Ok(server) = TcpStream::connect(target).await else { return };
            let (mut client, mut server) = (client, server);
            tokio::select! {
                _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                _ = gone.changed() => {}
            }
        });
    }
}
