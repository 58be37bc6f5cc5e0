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
//!   like any connection idle in the pool ([`coherent_core::ConnectOptions::idle_check`]);
//!   one that fails the ping is dropped and the checkout goes to the pool.
//! - **Old is old.** A connection passed from release to checkout through here since
//!   `max_lifetime` or longer goes back to the pool instead (which closes it once it is past
//!   its lifetime), and so does one kept idle here for `idle_timeout`; so the pool's limits
//!   hold for it too, give or take the time it spent in the pool before.
//! - **It leaves with the driver.** Closing the driver, or dropping it, hands it back to the
//!   pool (dropped outside a runtime, it is closed instead); a closed pool keeps none.

use crate::backend::Backend;
use coherent_core::ConnectOptions;
use sqlx::pool::{Pool, PoolConnection};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// At most one clean connection.
pub(crate) struct Warm<B: Backend> {
    slot: Mutex<Option<Kept<B>>>,
}

/// The kept connection, when it was released, and since when it has been passed on through
/// here.
type Kept<B> = (PoolConnection<<B as Backend>::Db>, Instant, Instant);

impl<B: Backend> Default for Warm<B> {
    fn default() -> Self {
        Warm {
            slot: Mutex::new(None),
        }
    }
}

impl<B: Backend> Warm<B> {
    /// Keeps `conn` (passed on through here since `warm_since`, if it came from here) if the
    /// slot is free, `pool` has slack and the connection is not too old; otherwise hands it
    /// back to the pool (dropping it).
    pub fn keep(
        &self,
        conn: PoolConnection<B::Db>,
        warm_since: Option<Instant>,
        pool: &Pool<B::Db>,
        options: &ConnectOptions,
    ) {
        if pool.is_closed() || (pool.num_idle() == 0 && pool.size() >= options.pool_max()) {
            return;
        }
        let now = Instant::now();
        let since = warm_since.unwrap_or(now);
        if past(options.max_lifetime, now.duration_since(since)) {
            return;
        }
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            *slot = Some((conn, now, since));
        }
    }

    /// Hands the kept connection, if any, back to the pool.
    pub fn clear(&self) {
        let kept = self.slot.lock().unwrap_or_else(|e| e.into_inner()).take();
        drop(kept);
    }

    /// The kept connection, if any, with since when it has been passed on through here
    /// (pinged first if it sat longer than `idle_check`; handed back to the pool instead if
    /// it sat `idle_timeout` or has been passed on for `max_lifetime`).
    pub async fn take(&self, options: &ConnectOptions) -> Option<(PoolConnection<B::Db>, Instant)> {
        let (mut conn, kept, since) = self.slot.lock().unwrap_or_else(|e| e.into_inner()).take()?;
        let now = Instant::now();
        let idle: Duration = now.duration_since(kept);
        if past(options.idle_timeout, idle) || past(options.max_lifetime, now.duration_since(since))
        {
            return None;
        }
        if idle >= options.idle_check && sqlx::Connection::ping(&mut *conn).await.is_err() {
            drop(conn.detach());
            return None;
        }
        Some((conn, since))
    }
}

impl<B: Backend> Drop for Warm<B> {
    fn drop(&mut self) {
        let kept = self
            .slot
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some((conn, _, _)) = kept
            && tokio::runtime::Handle::try_current().is_err()
        {
            // The pool returns connections on a task; without a runtime, close it.
            drop(conn.detach());
        }
    }
}

/// Whether `age` reached `limit` (never without one).
fn past(limit: Option<Duration>, age: Duration) -> bool {
    limit.is_some_and(|limit| age >= limit)
}
