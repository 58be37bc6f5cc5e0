//! [`EntityManager`]: the application's handle to one unit of work.
//!
//! Policy:
//! - **One EntityManager per unit of work** (a request, a job). Each has its own identity map;
//!   [`EntityManager::fork`] makes a fresh one. The global EntityManager (`orm.em()`) refuses
//!   context-specific work unless `allow_global_context` is on, with MikroORM's message.
//! - **Context resolution** goes through one seam, [`EntityManager::context`]: today it
//!   returns the EntityManager itself (or the global-context error); the request and
//!   transaction contexts plug in there.
//! - **Reads merge, never rebase.** `find` always queries and merges rows into the identity
//!   map; `find_one` by key answers from the map without a query when the entity is loaded.
//! - All futures are `Send`: no lock is held across an `.await`.

use crate::find_options::FindOptions;
use crate::fork::ForkOptions;
use crate::lookup::{IntoLookup, Lookup};
use crate::managed::Managed;
use crate::orm::OrmShared;
use crate::query_log::Pending;
use crate::unit_of_work::UnitOfWork;
use coherent_core::{
    Batch, BatchFailure, BatchResult, Entity, Error, FieldType, Filter, PrimaryKey, Result, Row,
    RowReader, Rows, Statement, TxMode, Value,
};
use coherent_sql::select::{self, SelectSpec};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Rows per chunk of a streamed entity query.
const LOAD_CHUNK_ROWS: usize = 1024;

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
    pub tx: tokio::sync::Mutex<Option<crate::transaction::Transaction>>,
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

    /// A process-unique id of this EntityManager.
    pub fn id(&self) -> u64 {
        self.inner.id
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
            if let Some(em) = crate::transaction_context::lookup(orm)
                .or_else(|| crate::request_context::lookup(orm))
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

    /// Flushes before a query of `T` as the flush mode says ([`crate::FlushMode`]).
    async fn flush_before_query<T: Entity>(&self, query: Option<crate::FlushMode>) -> Result<()> {
        let flush = match query.unwrap_or_else(|| self.flush_mode()) {
            crate::FlushMode::Commit => false,
            crate::FlushMode::Always => true,
            crate::FlushMode::Auto => self
                .uow()
                .map
                .store::<T>()
                .is_some_and(|s| !s.pending.is_empty() || !s.removed.is_empty()),
        };
        if flush {
            crate::flush::flush(self).await
        } else {
            Ok(())
        }
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
        em.shared().ensure_registered::<T>()?;
        let mut uow = em.uow();
        let store = uow.map.store_mut::<T>();
        let key = entity.key();
        let m = Managed::new(entity, false);
        if !key.is_unassigned() {
            if store.by_key.contains_key(&key) {
                return Err(Error::DuplicateIdentity {
                    entity: T::META.name,
                    key: format!("{key:?}"),
                });
            }
            store.by_key.insert(key, m.clone());
        }
        store.pending.push(m.clone());
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
        let store = uow.map.store_mut::<T>();
        if let Some(i) = store
            .pending
            .iter()
            .position(|p| Managed::ptr_eq(p, entity))
        {
            store.pending.remove(i);
            let key = entity.key();
            if store
                .by_key
                .get(&key)
                .is_some_and(|m| Managed::ptr_eq(m, entity))
            {
                store.by_key.remove(&key);
            }
            return Ok(());
        }
        if !store.contains(entity) {
            return Err(not_managed());
        }
        store.schedule_removal(entity.key());
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

    /// Every `T` matching `filter`. Always queries; rows merge into the identity map.
    pub async fn find<T: Entity>(&self, filter: Filter<T>) -> Result<Vec<Managed<T>>> {
        self.find_with(filter, FindOptions::default()).await
    }

    /// Every `T` matching `filter`, ordered and paged.
    pub async fn find_with<T: Entity>(
        &self,
        filter: Filter<T>,
        options: FindOptions,
    ) -> Result<Vec<Managed<T>>> {
        let em = self.context()?;
        em.shared().ensure_registered::<T>()?;
        em.flush_before_query::<T>(options.flush_mode).await?;
        let spec = SelectSpec {
            order_by: &options.order_by,
            limit: options.limit,
            offset: options.offset,
        };
        let r = select::select(T::META, filter.condition(), &spec, em.shared().dialect);
        em.load::<T>(Statement::query(r.sql, r.params)).await
    }

    /// Runs an entity query, merging its rows chunk by chunk as the driver reads them, so
    /// decoding (driver) and merging (here) overlap. Rows merged before a failure (a decode
    /// error) stay merged: they are committed rows, and no pending change is touched.
    async fn load<T: Entity>(&self, statement: Statement) -> Result<Vec<Managed<T>>> {
        let log = crate::query_log::Pending::of_statement(&statement);
        let mut found = Vec::new();
        let mut sink = |rows: Rows| -> Result<()> {
            found.extend(self.merge_rows::<T>(rows)?);
            Ok(())
        };
        let mut tx = self.inner.tx.lock().await;
        let result = match tx.as_mut() {
            Some(open) => {
                open.settle(self).await?;
                open.conn
                    .query_chunked(statement, LOAD_CHUNK_ROWS, &mut sink)
                    .await
            }
            None => {
                drop(tx);
                let mut conn = self.inner.orm.driver.acquire().await?;
                conn.query_chunked(statement, LOAD_CHUNK_ROWS, &mut sink)
                    .await
            }
        };
        log.emit_single(&result);
        result.map(|_| found)
    }

    /// The `T` with this key (answered from the identity map when loaded, without a query)
    /// or the first matching a filter.
    pub async fn find_one<T: Entity>(
        &self,
        lookup: impl IntoLookup<T>,
    ) -> Result<Option<Managed<T>>> {
        let em = self.context()?;
        em.shared().ensure_registered::<T>()?;
        match lookup.into_lookup() {
            Lookup::Key(key) => {
                {
                    let uow = em.uow();
                    if let Some(store) = uow.map.store::<T>() {
                        if store.removed.contains(&key) {
                            return Ok(None);
                        }
                        if let Some(m) = store.by_key.get(&key) {
                            return Ok(Some(m.clone()));
                        }
                    }
                }
                em.flush_before_query::<T>(None).await?;
                if let Some(m) = em.uow().map.store::<T>().and_then(|s| s.by_key.get(&key)) {
                    return Ok(Some(m.clone()));
                }
                let Some(fresh) = em.row_by_key::<T>(&key).await? else {
                    return Ok(None);
                };
                let mut uow = em.uow();
                Ok(uow.map.store_mut::<T>().merge_row(fresh))
            }
            Lookup::Filter(filter) => {
                let options = FindOptions {
                    limit: Some(1),
                    ..Default::default()
                };
                Ok(em.find_with(filter, options).await?.pop())
            }
            Lookup::Nothing(_) => Ok(None),
        }
    }

    /// Like [`EntityManager::find_one`], but a missing row is [`Error::NotFound`] naming the
    /// entity and key.
    pub async fn find_one_or_fail<T: Entity>(
        &self,
        lookup: impl IntoLookup<T>,
    ) -> Result<Managed<T>> {
        let lookup = lookup.into_lookup();
        let described = lookup.describe();
        self.find_one(lookup).await?.ok_or(Error::NotFound {
            entity: T::META.name,
            key: described,
        })
    }

    /// Number of `T` rows matching `filter`.
    pub async fn count<T: Entity>(&self, filter: Filter<T>) -> Result<u64> {
        let em = self.context()?;
        em.shared().ensure_registered::<T>()?;
        em.flush_before_query::<T>(None).await?;
        let r = select::count(T::META, filter.condition(), em.shared().dialect);
        let rows = em.query_rows(Statement::query(r.sql, r.params)).await?;
        let n = rows
            .values
            .into_iter()
            .next()
            .map(i64::from_value)
            .transpose()
            .map_err(|message| Error::Decode {
                column: "COUNT(*)".into(),
                message,
            })?
            .unwrap_or(0);
        Ok(n as u64)
    }

    /// Reloads `entity` from its row, overwriting local changes. If the row is gone, the
    /// entity is detached and `false` returned.
    pub async fn refresh<T: Entity>(&self, entity: &Managed<T>) -> Result<bool> {
        let em = self.context()?;
        let key = {
            let uow = em.uow();
            let managed = uow.map.store::<T>().is_some_and(|s| s.contains(entity));
            if !managed {
                return Err(Error::NotManaged {
                    entity: T::META.name,
                });
            }
            if !entity.tracked().loaded {
                return Err(Error::InvalidArgument(format!(
                    "{} has not been inserted yet: flush it before refreshing it",
                    T::META.name
                )));
            }
            entity.key()
        };
        let fresh = em.row_by_key::<T>(&key).await?;
        let mut uow = em.uow();
        let store = uow.map.store_mut::<T>();
        match fresh {
            Some(row) => {
                entity.tracked_mut().reset(row);
                Ok(true)
            }
            None => {
                store.detach(entity);
                Ok(false)
            }
        }
    }

    /// Runs a raw statement on this EntityManager's connection; returns the affected rows.
    /// Parameters are bound, never spliced.
    pub async fn execute(&self, sql: &str, params: Vec<Value>) -> Result<u64> {
        let batch = Batch {
            statements: vec![Statement::execute(sql, params)],
            mode: TxMode::Plain,
        };
        let r = self.resolve().run_batch(batch).await?;
        Ok(r.outcomes.first().map_or(0, |o| o.affected))
    }

    /// Runs a raw query on this EntityManager's connection.
    pub async fn query(&self, sql: &str, params: Vec<Value>) -> Result<Vec<Row>> {
        Ok(self
            .resolve()
            .query_rows(Statement::query(sql, params))
            .await?
            .into_rows())
    }

    /// Writes every pending change (inserts, updates of changed columns, deletes) as one
    /// atomic batch: all of it commits, or none of it and the Unit of Work stays exactly as
    /// it was. An empty flush issues no SQL. A flush whose future is dropped still ends
    /// cleanly (committed and applied, or rolled back). `docs/ARCHITECTURE.md` tells the
    /// life of a flush.
    pub async fn flush(&self) -> Result<()> {
        let em = self.context()?;
        crate::flush::flush(&em).await
    }

    pub(crate) async fn query_rows(&self, statement: Statement) -> Result<Rows> {
        let batch = Batch {
            statements: vec![statement],
            mode: TxMode::Plain,
        };
        let mut r = self.run_batch(batch).await?;
        Ok(r.outcomes.pop().and_then(|o| o.rows).unwrap_or_default())
    }

    /// Runs a batch on a connection of this EntityManager and logs it.
    pub(crate) async fn run_batch(&self, batch: Batch) -> Result<BatchResult> {
        self.run_batch_detailed(batch).await.map_err(|f| f.error)
    }

    pub(crate) async fn run_batch_detailed(
        &self,
        batch: Batch,
    ) -> std::result::Result<BatchResult, BatchFailure> {
        let mut tx = self.inner.tx.lock().await;
        if let Some(open) = tx.as_mut() {
            open.settle(self).await?;
            return self.run_on(open.conn.as_mut(), batch).await;
        }
        drop(tx);
        let mut conn = self.inner.orm.driver.acquire().await?;
        self.run_on(conn.as_mut(), batch).await
    }

    /// Runs a batch on `conn` and logs it.
    pub(crate) async fn run_on(
        &self,
        conn: &mut dyn coherent_core::Connection,
        batch: Batch,
    ) -> std::result::Result<BatchResult, BatchFailure> {
        let log = Pending::of(&batch);
        match conn.run(batch).await {
            Ok(result) => {
                log.emit(&result, None);
                Ok(result)
            }
            Err(failure) => {
                log.emit(&failure.executed, Some((failure.index, &failure.error)));
                Err(failure)
            }
        }
    }

    /// Reads the row with `key` (not merged anywhere).
    async fn row_by_key<T: Entity>(&self, key: &T::Key) -> Result<Option<T>> {
        let sql = self
            .shared()
            .statements
            .get::<T>(crate::statement_cache::Shape::ByKey);
        let rows = self
            .query_rows(Statement::query(sql, vec![key.to_value()]))
            .await?;
        Ok(decode::<T>(rows)?.pop())
    }

    fn merge_rows<T: Entity>(&self, rows: Rows) -> Result<Vec<Managed<T>>> {
        let fresh = decode::<T>(rows)?;
        let mut uow = self.uow();
        let store = uow.map.store_mut::<T>();
        Ok(fresh
            .into_iter()
            .filter_map(|row| store.merge_row(row))
            .collect())
    }
}

/// Decodes entity rows (all columns, in column order).
fn decode<T: Entity>(rows: Rows) -> Result<Vec<T>> {
    let width = T::META.columns.len();
    if !rows.is_empty() && rows.width() != width {
        return Err(Error::Decode {
            column: T::META.name.to_string(),
            message: format!("expected {width} columns, got {}", rows.width()),
        });
    }
    let n = rows.len();
    let mut cells = rows.values.into_iter();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(T::from_row(&mut RowReader::new(&mut cells, T::META.name))?);
    }
    Ok(out)
}
