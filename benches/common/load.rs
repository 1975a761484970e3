//! A load generator: `connections` HTTP/1.1 keep-alive connections, each
//! sending one request after the other for a while, as wrk does, so that
//! the server, not the client, is what is measured.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt as _, Empty};
use hyper::Request;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

/// What a run of load did.
pub struct Throughput {
    pub answered: u64,
    /// Answers with another status than the one asked for.
    pub unexpected: u64,
    pub elapsed: Duration,
}

impl Throughput {
    pub fn per_second(&self) -> f64 {
        self.answered as f64 / self.elapsed.as_secs_f64()
    }
}

/// `GET path` with `headers`, over `connections` connections for `duration`;
/// every answer should have status `expect`.
pub async fn hammer(
    address: SocketAddr,
    path: &str,
    headers: &[(&str, String)],
    expect: u16,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<Throughput> {
    let running = Arc::new(AtomicBool::new(true));
    let (answered, unexpected) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let stream = tokio::net::TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        let (running, answered, unexpected) = (running.clone(), answered.clone(), unexpected.clone());
        let (path, headers) =
            (path.to_owned(), headers.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect::<Vec<_>>());
        tasks.push(tokio::spawn(async move {
            while running.load(Ordering::Relaxed) {
                let mut request = Request::get(&path).header("host", "127.0.0.1");
                for (name, value) in &headers {
                    request = request.header(name, value);
                }
                let response = sender.send_request(request.body(Empty::<Bytes>::new())?).await?;
                let status = response.status().as_u16();
                response.into_body().collect().await?;
                answered.fetch_add(1, Ordering::Relaxed);
                if status != expect {
                    unexpected.fetch_add(1, Ordering::Relaxed);
                }
            }
            anyhow::Ok(())
        }));
    }
    let started = Instant::now();
    tokio::time::sleep(duration).await;
    running.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed();
    for task in tasks {
        task.await??;
    }
    Ok(Throughput {
        answered: answered.load(Ordering::Relaxed),
        unexpected: unexpected.load(Ordering::Relaxed),
        elapsed,
    })
}
