//! [`Warm`]: the connection released last, kept aside for the next checkout.
//!
//! Policy: sqlx returns a released connection to its pool on a spawned task that pings it
//! first: one round trip, a task and a thread wake-up per release, which a unit of work pays
//! twice when it reads outside a transaction and then flushes. A connection released clean
//! (no transaction open, nothing in flight, no session setting changed) is instead kept here,
//! one at a time, and the next checkout takes it with no round trip at all.
//! - **Nobody waits for it.** It is kept only while the pool has slack (an idle connection,
//!   or room to open one), so a task queued in the pool is never left waiting for the kept
//!   one; otherwise it goes back to the pool as usual. Every checkout of the driver looks
//!   here first.
//! - **Idle is idle.** One kept longer than `idle_check` is pinged before it is handed out,
//!   like any connection idle in the pool ([`crate::options::ServerOptions::idle_check`]);
//!   one that fails the ping is dropped and the checkout goes to the pool.
//! - **It leaves with the driver.** Closing the driver, or dropping it, hands it back to the
//!   pool (dropped outside a runtime, it is closed instead); a closed pool keeps none.

use crate::backend::Backend;
use sqlx::pool::{Pool, PoolConnection};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// At most one clean connection, with when it was released.
pub(crate) struct Warm<B: Backend> {
    slot: Mutex<Option<(PoolConnection<B::Db>, Instant)>>,
}

impl<B: Backend> Default for Warm<B> {
    fn default() -> Self {
        Warm {
            slot: Mutex::new(None),
        }
    }
}

impl<B: Backend> Warm<B> {
    /// Keeps `conn` if the slot is free and `pool` has slack; otherwise hands it back to the
    /// pool (dropping it).
    pub fn keep(&self, conn: PoolConnection<B::Db>, pool: &Pool<B::Db>, max: u32) {
        if pool.is_closed() || (pool.num_idle() == 0 && pool.size() >= max) {
            return;
        }
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            *slot = Some((conn, Instant::now()));
        }
    }

    /// Hands the kept connection, if any, back to the pool.
    pub fn clear(&self) {
        let kept = self.slot.lock().unwrap_or_else(|e| e.into_inner()).take();
        drop(kept);
    }

    /// The kept connection, if any (pinged first if it sat longer than `idle_check`).
    pub async fn take(&self, idle_check: Duration) -> Option<PoolConnection<B::Db>> {
        let (mut conn, since) = self.slot.lock().unwrap_or_else(|e| e.into_inner()).take()?;
        if since.elapsed() >= idle_check && sqlx::Connection::ping(&mut *conn).await.is_err() {
            drop(conn.detach());
            return None;
        }
        Some(conn)
    }
}

impl<B: Backend> Drop for Warm<B> {
    fn drop(&mut self) {
        let kept = self
            .slot
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some((conn, _)) = kept
            && tokio::runtime::Handle::try_current().is_err()
        {
            // The pool returns connections on a task; without a runtime, close it.
            drop(conn.detach());
        }
    }
}
