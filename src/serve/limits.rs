//! What keeps the server up under load: a fixed pool of render threads behind a
//! semaphore (a full pool answers 503 at once rather than queueing without end), and
//! connection handling with a cap, a header-read timeout and a lifetime after which
//! an idle keep-alive connection is closed.

use std::sync::Arc;
use std::time::Duration;

/// The server's bounds on work and connections.
#[derive(Clone, Debug)]
pub struct ServeLimits {
    /// Threads that render tiles and frames.
    pub render_threads: usize,
    /// Renders admitted at once: those running plus those waiting for a thread. A
    /// request beyond this gets `503 Service Unavailable` with `Retry-After`.
    pub max_renders: usize,
    /// Connections held open at once; more are closed as soon as accepted.
    pub max_connections: usize,
    /// A client must send a request's headers within this time of connecting (or of
    /// its previous response), else the connection is closed.
    pub header_timeout: Duration,
    /// A connection is closed (after its current response) this long after it opened.
    pub connection_lifetime: Duration,
}

impl Default for ServeLimits {
    fn default() -> ServeLimits {
        let threads = std::thread::available_parallelism().map(usize::from).unwrap_or(2);
        // Keep clear of the file-descriptor limit, so that accept never fails for want of one.
        let fds = open_files_limit().unwrap_or(1024);
        ServeLimits {
            render_threads: threads,
            max_renders: threads * 4,
            max_connections: 4096.min(fds.saturating_sub(64) as usize).max(16),
            header_timeout: Duration::from_secs(10),
            connection_lifetime: Duration::from_secs(120),
        }
    }
}

/// The soft limit on open files (Linux `/proc/self/limits`; None elsewhere).
fn open_files_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line.trim_start_matches("Max open files").split_whitespace().next()?;
    if soft == "unlimited" {
        return Some(1 << 20);
    }
    soft.parse().ok()
}

/// Seconds a client is told to wait when the render pool is full.
pub const RETRY_AFTER_S: u32 = 1;

/// Why a job did not run to its end.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// The pool is full: answer `503` with `Retry-After`.
    Busy,
    /// The job panicked; the pool and the server go on.
    Failed,
}

/// A job for the render threads.
type Job = Box<dyn FnOnce() + Send>;

/// A fixed pool of render threads with a cap on the renders admitted at once.
///
/// Plain threads taking jobs from a queue, not a work-stealing pool: a render thread
/// that waits (for a metatile another thread is rendering) must not pick up a second
/// request meanwhile and wait on itself.
pub struct RenderPool {
    queue: Option<std::sync::mpsc::Sender<Job>>,
    permits: Arc<tokio::sync::Semaphore>,
}

impl RenderPool {
    /// A pool of `threads` threads admitting `max` renders at once.
    pub fn new(threads: usize, max: usize) -> RenderPool {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let rx = Arc::new(std::sync::Mutex::new(rx));
        let mut started = 0;
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new().name(format!("render-{i}")).spawn(move || loop {
                let job = match rx.lock() {
                    Ok(r) => r.recv(),
                    Err(_) => return,
                };
                match job {
                    Ok(job) => job(),
                    Err(_) => return, // the server is gone
                }
            });
            started += usize::from(spawned.is_ok());
        }
        // Without a thread, jobs run where they are asked for (slower, but answered).
        let queue = (started > 0).then_some(tx);
        RenderPool { queue, permits: Arc::new(tokio::sync::Semaphore::new(max.max(1))) }
    }

    /// Run `job` on the pool and wait for it without blocking the async threads; `Busy`
    /// at once when the pool has as many renders as it admits.
    pub async fn run<T, F>(&self, job: F) -> Result<T, Refused>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let permit = self.permits.clone().try_acquire_owned().map_err(|_| Refused::Busy)?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let task: Job = Box::new(move || {
            // A panic in a render must not take the thread's permit or the server down.
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            // Free the slot before answering, so that the caller's next request finds it.
            drop(permit);
            tx.send(out).ok();
        });
        match &self.queue {
            Some(q) => {
                if let Err(std::sync::mpsc::SendError(task)) = q.send(task) {
                    task();
                }
            }
            None => task(),
        }
        match rx.await {
            Ok(Ok(v)) => Ok(v),
            // The job panicked (or its thread went away).
            _ => Err(Refused::Failed),
        }
    }
}

/// Accept connections and serve each with `app`, within `limits`, until the process ends.
pub async fn serve_connections(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    limits: &ServeLimits,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;
    let connections = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(c) => c,
            Err(_) => {
                // Out of file descriptors or a connection reset before accept: wait a
                // moment rather than spin, and keep serving the connections we have.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            drop(stream);
            continue;
        };
        stream.set_nodelay(true).ok();
        let service = TowerToHyperService::new(app.clone());
        let (header_timeout, lifetime) = (limits.header_timeout, limits.connection_lifetime);
        tokio::spawn(async move {
            let _permit = permit;
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(header_timeout).max_buf_size(64 * 1024);
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = tokio::time::sleep(lifetime) => {
                    // Finish the response in progress, then close.
                    conn.as_mut().graceful_shutdown();
                    tokio::time::timeout(Duration::from_secs(30), conn).await.ok();
                }
            }
        });
    }
}
