//! The SQLite store's one writing connection, owned by a thread of its own. Every write of the
//! store is a job run there in the order it was sent, so writes never wait on each other's
//! locks ("database is locked") and a commit costs one hand-off to the thread and one answer
//! back, not a trip per statement and row. Statements are prepared once and kept
//! (`prepare_cached`). Readers stay on their own connections; in WAL mode they see every
//! committed write and never block the writer.

use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::oneshot;

use super::StoreError;

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// Handle to the writing thread; dropping it lets the thread finish the jobs already sent,
/// close the connection and end, and waits for that.
pub(super) struct Writer {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

fn err(error: rusqlite::Error) -> StoreError {
    StoreError(error.to_string())
}

fn stopped() -> StoreError {
    StoreError("the store's writer has stopped".into())
}

impl Writer {
    /// Opens the writing connection to the database at `path`, which must exist in WAL mode
    /// with its schema in place.
    pub(super) fn start(path: &Path, busy_timeout: Duration) -> Result<Self, StoreError> {
        let connection = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(err)?;
        connection.busy_timeout(busy_timeout).map_err(err)?;
        // FULL: a commit is on disk before its job answers, so an event acknowledged to a
        // webhook sender survives a power cut.
        connection.pragma_update(None, "synchronous", "FULL").map_err(err)?;
        connection.set_prepared_statement_cache_capacity(64);
        let (jobs, queue) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || {
                let mut connection = connection;
                while let Ok(job) = queue.recv() {
                    job(&mut connection);
                }
            })
            .map_err(|error| StoreError(format!("cannot start the store's writer: {error}")))?;
        Ok(Self { jobs: Some(jobs), thread: Some(thread) })
    }

    /// Runs `work` on the writing connection after every job sent before it, and returns its
    /// result.
    pub(super) async fn run<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let (answer, result) = oneshot::channel();
        let job: Job = Box::new(move |connection| {
            // Nobody waits when the caller went away; the work is done either way.
            let _ = answer.send(work(connection));
        });
        self.jobs.as_ref().ok_or_else(stopped)?.send(job).map_err(|_| stopped())?;
        result.await.map_err(|_| stopped())?.map_err(err)
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the queue ends the thread's loop once the jobs already sent are done.
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            // A thread that panicked has nothing left to clean up.
            let _ = thread.join();
        }
    }
}
