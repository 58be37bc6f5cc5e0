//! [`EntityManager`]: the application's handle to one unit of work.
//!
//! Policy:
//! - **One EntityManager per unit of work** (a request, a job). Each has its own identity map;
//!   [`EntityManager::fork`] makes a fresh one. The global EntityManager (`orm.em()`) refuses
//!   context-specific work unless `allow_global_context` is on, with MikroORM's message.
//! - **Context resolution** goes through one seam, [`EntityManager::context`]: today it
//!   returns the EntityManager itself (or the global-context error); the request and
//!   transaction contexts plug in there.
//! - **Reads merge, never rebase** (`reads.rs`); statements run on the pinned transaction
//!   connection or a pooled one (`statements.rs`).
//! - All futures are `Send`: no lock is held across an `.await`.

use crate::context::fork::ForkOptions;
use crate::context::orm::OrmShared;
use crate::entity::managed::Managed;
use crate::unit_of_work::plan::UnitOfWork;
use coherent_core::{Entity, Error, Result};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

pub(crate) struct EmInner {
    pub orm: Arc<OrmShared>,
    pub id: u64,
    pub global: bool,
    /// Resolves to the current request context (the global EntityManager, request forks,
    /// forks made with `use_context`).
    pub use_context: bool,
    pub uow: Mutex<UnitOfWork>,
    /// Serialises flushes of this EntityManager (a second flush waits for the first).
    pub flush_lock: Arc<tokio::sync::Mutex<()>>,
    /// The flush mode ([`crate::FlushMode`] as a number, so it can change through `&self`).
    pub flush_mode: std::sync::atomic::AtomicU8,
    /// Transactions disabled on this EntityManager.
    pub transactions_disabled: std::sync::atomic::AtomicBool,
    /// The open transaction, if any: its pinned connection and scope checkpoints.
    pub tx: tokio::sync::Mutex<Option<crate::context::open_transaction::Transaction>>,
    /// Whether `tx` may hold a transaction: set before one is stored, cleared after it is
    /// taken, so statements of an EntityManager without one skip the async lock.
    pub tx_open: std::sync::atomic::AtomicBool,
    /// The entity of the stream that holds `tx` while it reads on the transaction's
    /// connection (`query/stream.rs`): every other wait for `tx` is refused meanwhile
    /// ([`EntityManager::lock_tx`]).
    pub tx_stream: Mutex<Option<&'static str>>,
}

/// Marks the open transaction's connection as held by a stream of an entity, until dropped
/// ([`EntityManager::hold_for_stream`]).
pub(crate) struct StreamHold<'a>(&'a EmInner);

impl Drop for StreamHold<'_> {
    fn drop(&mut self) {
        *self
            .0
            .tx_stream
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
    }
}

/// A unit of work: an identity map, change tracking, and the operations on them. Cloning
/// gives another handle to the same EntityManager; use [`EntityManager::fork`] for a new one.
///
/// ```
/// # use coherent_orm::doc_support::*;
/// # async fn demo(orm: coherent_orm::Orm) -> coherent_core::Result<()> {
/// let em = orm.em().fork();
/// let user = em.persist(User::new("Jon", "jon@example.com"))?;
/// em.flush().await?;
/// let again = em.find_one::<User>(user.key()).await?.expect("just inserted");
/// assert!(coherent_orm::Managed::ptr_eq(&user, &again));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct EntityManager {
    inner: Arc<EmInner>,
}

impl std::fmt::Debug for EntityManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EntityManager")
            .field("id", &self.inner.id)
            .field("global", &self.inner.global)
            .finish_non_exhaustive()
    }
}

impl EntityManager {
    /// The global EntityManager of an Orm.
    pub(crate) fn global(orm: Arc<OrmShared>) -> Self {
        let mode = orm.config.flush_mode;
        Self::with_uow(orm, true, true, mode, UnitOfWork::default())
    }

    /// A fresh unit of work of the same Orm, with an empty identity map.
    pub(crate) fn fresh(&self, use_context: bool) -> Self {
        Self::with_uow(
            Arc::clone(&self.inner.orm),
            false,
            use_context,
            self.inner.orm.config.flush_mode,
            UnitOfWork::default(),
        )
    }

    fn with_uow(
        orm: Arc<OrmShared>,
        global: bool,
        use_context: bool,
        flush_mode: crate::FlushMode,
        uow: UnitOfWork,
    ) -> Self {
        let orm_disables_transactions = orm.config.disable_transactions;
        EntityManager {
            inner: Arc::new(EmInner {
                orm,
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                global,
                use_context,
                flush_mode: std::sync::atomic::AtomicU8::new(flush_mode.to_u8()),
                transactions_disabled: std::sync::atomic::AtomicBool::new(
                    orm_disables_transactions,
                ),
                uow: Mutex::new(uow),
                flush_lock: Arc::new(tokio::sync::Mutex::new(())),
                tx: tokio::sync::Mutex::new(None),
                tx_open: std::sync::atomic::AtomicBool::new(false),
                tx_stream: Mutex::new(None),
            }),
        }
    }

    pub(crate) fn shared(&self) -> &OrmShared {
        &self.inner.orm
    }

    pub(crate) fn inner(&self) -> &EmInner {
        &self.inner
    }

    pub(crate) fn uow(&self) -> MutexGuard<'_, UnitOfWork> {
        self.inner
            .uow
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// A process-unique id of the EntityManager that work on this one runs on (resolved
    /// like every other method: inside a request context, the global EntityManager's `id` is
    /// the request fork's; see [`EntityManager::resolve`]).
    pub fn id(&self) -> u64 {
        self.resolve().inner.id
    }

    /// Whether this is the Orm's global EntityManager.
    pub fn is_global(&self) -> bool {
        self.inner.global
    }

    /// The Orm this EntityManager belongs to, as an id.
    pub(crate) fn orm_id(&self) -> u64 {
        self.inner.orm.id
    }

    /// The EntityManager that context-specific work runs on, checked: see
    /// [`EntityManager::resolve`]; the global EntityManager itself is refused unless
    /// `allow_global_context` is on (MikroORM's message).
    pub fn context(&self) -> Result<EntityManager> {
        let em = self.resolve();
        if em
            .inner
            .orm
            .closed
            .load(std::sync::atomic::Ordering::Acquire)
        {
            return Err(Error::Closed);
        }
        if em.inner.global && !em.inner.orm.config.allow_global_context {
            return Err(Error::GlobalContext);
        }
        Ok(em)
    }

    /// The EntityManager that work on this one runs on, unchecked: for the global
    /// EntityManager, request forks and forks made with `use_context`, the current transaction
    /// context's EntityManager of this Orm, else the current request context's (see
    /// [`crate::RequestContext`]); otherwise this one.
    pub fn resolve(&self) -> EntityManager {
        if self.inner.use_context {
            let orm = self.orm_id();
            if let Some(em) = crate::context::transaction_context::lookup(orm)
                .or_else(|| crate::context::request_context::lookup(orm))
            {
                return em;
            }
        }
        self.clone()
    }

    /// A new EntityManager with an empty identity map. Always allowed, also on the global
    /// EntityManager (inside a request context it forks the request's EntityManager).
    pub fn fork(&self) -> EntityManager {
        self.fork_with(ForkOptions::default())
    }

    /// A new EntityManager; see [`ForkOptions`].
    pub fn fork_with(&self, options: ForkOptions) -> EntityManager {
        let from = self.resolve();
        let uow = if options.clear {
            UnitOfWork::default()
        } else {
            from.uow().clone_shared()
        };
        let fork = EntityManager::with_uow(
            Arc::clone(&from.inner.orm),
            false,
            options.use_context,
            options.flush_mode.unwrap_or_else(|| from.flush_mode()),
            uow,
        );
        fork.set_transactions_disabled(
            options
                .disable_transactions
                .unwrap_or_else(|| from.transactions_disabled()),
        );
        fork
    }

    /// Whether transactions are disabled on the EntityManager work on this one runs on.
    pub fn transactions_disabled(&self) -> bool {
        self.resolve()
            .inner
            .transactions_disabled
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(crate) fn set_transactions_disabled(&self, disabled: bool) {
        self.inner
            .transactions_disabled
            .store(disabled, std::sync::atomic::Ordering::Relaxed);
    }

    /// The flush mode of the EntityManager work on this one runs on.
    pub fn flush_mode(&self) -> crate::FlushMode {
        crate::FlushMode::from_u8(
            self.resolve()
                .inner
                .flush_mode
                .load(std::sync::atomic::Ordering::Relaxed),
        )
    }

    /// Changes the flush mode of the EntityManager work on this one runs on.
    pub fn set_flush_mode(&self, mode: crate::FlushMode) {
        self.resolve()
            .inner
            .flush_mode
            .store(mode.to_u8(), std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether this EntityManager may have an open transaction (cheap; `false` is certain).
    pub(crate) fn may_have_transaction(&self) -> bool {
        self.inner
            .tx_open
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// Locks the open transaction's state (its pinned connection), or refuses at once with
    /// [`Error::StreamOpen`] while a stream of this EntityManager reads on that connection: the
    /// stream holds the lock until it ends, and it ends only while the application reads it,
    /// so a wait here could never end.
    pub(crate) async fn lock_tx(
        &self,
    ) -> Result<tokio::sync::MutexGuard<'_, Option<crate::context::open_transaction::Transaction>>>
    {
        if let Some(entity) = self.streaming() {
            return Err(Error::StreamOpen { entity });
        }
        Ok(self.inner.tx.lock().await)
    }

    /// The entity of the stream reading on the open transaction's connection, if one is.
    pub(crate) fn streaming(&self) -> Option<&'static str> {
        *self
            .inner
            .tx_stream
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Marks the open transaction's connection (whose lock the caller holds) as read by a
    /// stream of `entity` until the returned mark is dropped.
    pub(crate) fn hold_for_stream(&self, entity: &'static str) -> StreamHold<'_> {
        *self
            .inner
            .tx_stream
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(entity);
        StreamHold(&self.inner)
    }

    /// Records whether `tx` holds a transaction.
    pub(crate) fn mark_transaction(&self, open: bool) {
        self.inner
            .tx_open
            .store(open, std::sync::atomic::Ordering::Release);
    }

    /// Whether two handles are the same EntityManager.
    pub fn same(a: &EntityManager, b: &EntityManager) -> bool {
        Arc::ptr_eq(&a.inner, &b.inner)
    }

    /// Registers a new entity for insertion by the next flush and returns its managed
    /// handle. An entity whose key the database generates (integer key `0`) gets its key at
    /// the flush; one with a key is in the identity map at once.
    pub fn persist<T: Entity>(&self, entity: T) -> Result<Managed<T>> {
        let em = self.context()?;
        em.shared().model.ensure_registered::<T>()?;
        let m = Managed::new(entity, false);
        em.uow().map.store_mut::<T>().adopt(&m)?;
        Ok(m)
    }

    /// Schedules a managed entity for deletion by the next flush. A pending insert is simply
    /// dropped. Until the flush, `find`/`find_one` no longer return it.
    pub fn remove<T: Entity>(&self, entity: &Managed<T>) -> Result<()> {
        let em = self.context()?;
        let mut uow = em.uow();
        let not_managed = || Error::NotManaged {
            entity: T::META.name,
        };
        if !uow.map.store_mut::<T>().remove_instance(entity) {
            return Err(not_managed());
        }
        Ok(())
    }

    /// Clears the in-doubt mark of `entity` ([`Managed::is_in_doubt`]) once the application
    /// has made sure its row is not in the database (a COMMIT of unknown outcome did not
    /// store it): the next flush inserts it. If the row is there, use `em.clear()` or
    /// `em.remove(&entity)` and load it instead.
    pub fn resolve_in_doubt<T: Entity>(&self, entity: &Managed<T>) -> Result<()> {
        let em = self.context()?;
        let uow = em.uow();
        if !uow.map.store::<T>().is_some_and(|s| s.contains(entity)) {
            return Err(Error::NotManaged {
                entity: T::META.name,
            });
        }
        entity.tracked_mut().in_doubt = false;
        Ok(())
    }

    /// Whether `entity` is managed by this EntityManager (and not scheduled for removal).
    pub fn contains<T: Entity>(&self, entity: &Managed<T>) -> Result<bool> {
        let em = self.context()?;
        let uow = em.uow();
        Ok(uow.map.store::<T>().is_some_and(|s| s.contains(entity)))
    }

    /// Forgets every managed entity and all pending work.
    pub fn clear(&self) -> Result<()> {
        let em = self.context()?;
        em.uow().map.clear();
        Ok(())
    }

    /// Number of entities in the identity map (including pending inserts).
    pub fn len(&self) -> Result<usize> {
        let em = self.context()?;
        let n = em.uow().map.len();
        Ok(n)
    }

    /// Whether the identity map is empty.
    pub fn is_empty(&self) -> Result<bool> {
        self.len().map(|n| n == 0)
    }
}
