//! Streaming reads: [`EntityManager::stream`] and the [`EntityStream`] it returns.
//!
//! Policy:
//! - **Detached values.** A stream yields plain `T`s decoded from the rows. They never enter
//!   the identity map and are never merged into a managed instance: a managed instance of the
//!   same row, dirty or clean, is left exactly as it is, and the values cost the Unit of Work
//!   nothing (no snapshot, no flush scan).
//! - **Bounded memory.** Rows come from the driver's
//!   [`coherent_core::Connection::query_stream`] in chunks of 1 024, read ahead of the
//!   application by a small fixed number of chunks at most (SQLite: two; the servers: what
//!   the socket buffers hold); the stream decodes one chunk at a time, as it is read. Memory
//!   does not grow with the result.
//! - **The query of `find_with`.** The same checks (a registered entity, order by a column),
//!   the same flush first as the flush mode asks, the same SELECT (filter, order, limit,
//!   offset). Options a stream cannot honour are refused by `stream` itself, before any SQL
//!   (`Error::InvalidArgument`): `populate` (relations load into managed instances),
//!   `lock_mode`, `lock_version` and `lock_table_aliases` (locks are taken and checked for
//!   managed reads).
//! - **Lazy.** Nothing runs until the stream is first polled; then it flushes (if the flush
//!   mode asks), takes its connection and sends the query.
//! - **Where it reads, and the connection-holding rule.** If the EntityManager has an open
//!   transaction when the stream is first polled, the stream reads on the transaction's
//!   connection, so it sees the transaction's own uncommitted rows. That connection runs one
//!   query at a time, and the stream only moves while the application reads it: until the
//!   stream ends or is dropped, every other statement of that EntityManager (a `find`, a
//!   flush with something to write, raw SQL, `commit`, `rollback`, `begin`, a second stream)
//!   is [`coherent_core::Error::StreamOpen`] at once, before any SQL, instead of waiting
//!   forever. Work that needs no connection (`persist`, a flush with nothing to write,
//!   `find_one` answered by the identity map) goes on. Outside a transaction the stream takes
//!   a pooled connection of its own and gives it back when it ends or is dropped; the
//!   EntityManager stays usable meanwhile, on other connections (with a pool of one, taking
//!   another waits for the stream, at most `acquire_timeout`). On SQLite in memory (no WAL)
//!   the stream's read lock also holds back another connection's COMMIT until it ends (a
//!   `LockTimeout` after the busy timeout).
//! - **Errors are items.** A database error, or a row that does not decode, is the stream's
//!   last item; every value before it was yielded (a chunk is decoded up to its first bad
//!   row). Inside a transaction an error that dooms it
//!   (a deadlock, a serialization failure) marks it rollback-only, as for `find`.
//! - **Dropping the stream abandons the query** and releases the connection (the pooled one
//!   goes back to the pool; the transaction's stays the transaction's, which goes on).
//! - **The query log**: one `coherent::sql` event for the query when the stream ends (or is
//!   dropped: with the rows read until then), as `find` emits one; its time is the stream's
//!   life, the reader's pauses included.

use crate::context::entity_manager::EntityManager;
use crate::entity::decode::decode_prefix;
use crate::query::find_options::FindOptions;
use crate::query_log::Pending;
use coherent_core::stream::{Generated, Stream, Yielder, generate, next};
use coherent_core::{Connection, Entity, Error, Filter, LockMode, Result, Statement};
use coherent_sql::select::{self, SelectSpec};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

/// Rows per chunk a stream asks its driver for (and decodes at a time).
const STREAM_CHUNK_ROWS: usize = 1024;

/// The values of [`EntityManager::stream`]: a [`Stream`] of `Result<T>`, detached (plain
/// values, not managed), read in bounded memory. It owns what it needs (a handle to the
/// EntityManager, the query), so it may outlive the borrow it was made from and move between
/// tasks. Read it with [`EntityStream::next`], or with `futures::StreamExt` and friends.
///
/// ```
/// # use coherent_orm::doc_support::User;
/// use coherent_core::Filter;
/// use coherent_orm::{FindOptions, Orm};
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let orm = Orm::builder().url("sqlite::memory:").entity::<User>().build().await?;
/// orm.schema().create().await?;
/// let em = orm.em().fork();
/// for name in ["Ann", "Bob", "Cy"] {
///     em.persist(User::new(name, &format!("{name}@example.com")))?;
/// }
/// em.flush().await?;
/// em.clear()?;
///
/// let z_to_a = FindOptions::default().order_by([User::NAME.desc()]);
/// let mut users = em.stream::<User>(Filter::all(), z_to_a)?;
/// let mut names = Vec::new();
/// while let Some(user) = users.next().await {
///     let user: User = user?; // a plain value
///     names.push(user.name);
/// }
/// assert_eq!(names, ["Cy", "Bob", "Ann"]);
/// assert!(em.is_empty()?); // nothing entered the identity map
/// # Ok::<(), coherent_core::Error>(())
/// # }).unwrap();
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct EntityStream<T> {
    /// Decoded chunks (or the error that ended the query), from the producer ([`read`]).
    chunks: Generated<'static, Result<Vec<T>>>,
    /// The chunk being handed out.
    current: std::vec::IntoIter<T>,
}

// The stream never pins a `T`: values move out of a plain vector.
impl<T> Unpin for EntityStream<T> {}

impl<T> std::fmt::Debug for EntityStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EntityStream")
            .field("entity", &std::any::type_name::<T>())
            .field("buffered", &self.current.len())
            .finish_non_exhaustive()
    }
}

impl<T: Entity> EntityStream<T> {
    /// The next value, `None` after the last one (what `futures::StreamExt::next` does,
    /// without the dependency). An `Err` is the last item.
    pub async fn next(&mut self) -> Option<Result<T>> {
        next(self).await
    }
}

impl<T: Entity> Stream for EntityStream<T> {
    type Item = Result<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<T>>> {
        let this = self.get_mut();
        loop {
            if let Some(value) = this.current.next() {
                return Poll::Ready(Some(Ok(value)));
            }
            match Pin::new(&mut this.chunks).poll_next(cx) {
                Poll::Ready(Some(Ok(values))) => this.current = values.into_iter(),
                Poll::Ready(Some(Err(error))) => return Poll::Ready(Some(Err(error))),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let (_, more) = self.chunks.size_hint();
        let buffered = self.current.len();
        (buffered, more.map(|_| buffered))
    }
}

impl EntityManager {
    /// Every `T` matching `filter`, ordered and paged as `options` say, as a stream of
    /// detached values read in bounded memory (see [`EntityStream`], and the module policy:
    /// the query of [`EntityManager::find_with`], values never managed, and inside a
    /// transaction the transaction's connection held until the stream ends).
    ///
    /// Refused here, before any SQL: an unregistered `T` (`UnknownEntity`), an order by a
    /// name that is not a column, and the options a stream cannot honour
    /// (`Error::InvalidArgument`: `populate`, `lock_mode`, `lock_version`,
    /// `lock_table_aliases`). Everything else is an item of the stream.
    ///
    /// ```
    /// # use coherent_orm::doc_support::User;
    /// use coherent_core::{Error, Filter, LockMode};
    /// use coherent_orm::FindOptions;
    /// # async fn demo(em: coherent_orm::EntityManager) -> coherent_core::Result<()> {
    /// let locked = FindOptions::default().lock_mode(LockMode::PessimisticWrite);
    /// let refused = em.stream::<User>(Filter::all(), locked).unwrap_err();
    /// assert!(matches!(refused, Error::InvalidArgument(_)));
    ///
    /// let mut names = em.stream::<User>(User::NAME.like("A%"), FindOptions::default().limit(100))?;
    /// while let Some(user) = names.next().await {
    ///     println!("{}", user?.name);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn stream<T: Entity>(
        &self,
        filter: Filter<T>,
        options: FindOptions,
    ) -> Result<EntityStream<T>> {
        let em = self.context()?;
        em.shared().model.ensure_registered::<T>()?;
        refuse(&options)?;
        for order in &options.order_by {
            order.check::<T>()?;
        }
        filter
            .condition()
            .check(T::META, coherent_core::Clause::Where)?;
        let spec = SelectSpec {
            order_by: &options.order_by,
            limit: options.limit,
            offset: options.offset,
            total: false,
            columns: None,
        };
        let r = select::select(T::META, filter.condition(), &spec, em.shared().dialect);
        let statement = Statement::query(r.sql, r.params).idempotent();
        let flush_mode = options.flush_mode;
        Ok(EntityStream {
            chunks: generate(move |y| produce::<T>(em, statement, flush_mode, y)),
            current: Vec::new().into_iter(),
        })
    }
}

/// [`InvalidArgument`](Error::InvalidArgument) naming the options a stream cannot honour.
fn refuse(options: &FindOptions) -> Result<()> {
    let mut set = Vec::new();
    if !options.populate.is_empty() {
        set.push("populate");
    }
    if options.lock_mode != LockMode::None {
        set.push("lock_mode");
    }
    if options.lock_version.is_some() {
        set.push("lock_version");
    }
    if !options.lock_table_aliases.is_empty() {
        set.push("lock_table_aliases");
    }
    if !options.fields.is_empty() {
        // A detached value has no record of which fields were read: its placeholders would
        // pass for data.
        set.push("fields");
    }
    if set.is_empty() {
        return Ok(());
    }
    Err(Error::InvalidArgument(format!(
        "EntityManager::stream does not take {}: its values are detached (relations load, and \
         locks are taken and checked, for managed instances); use find_with",
        set.join(", ")
    )))
}

/// The stream's producer: runs the query and gives its values chunk by chunk; an error is
/// given last.
async fn produce<T: Entity>(
    em: EntityManager,
    statement: Statement,
    flush_mode: Option<crate::FlushMode>,
    y: Yielder<Result<Vec<T>>>,
) {
    if let Err(error) = read::<T>(&em, statement, flush_mode, &y).await {
        y.give(Err(error)).await;
    }
}

/// Flushes first as the flush mode asks, then reads on the open transaction's connection
/// (marked as the stream's while it reads) or on a pooled connection of its own.
async fn read<T: Entity>(
    em: &EntityManager,
    statement: Statement,
    flush_mode: Option<crate::FlushMode>,
    y: &Yielder<Result<Vec<T>>>,
) -> Result<()> {
    em.flush_before_query::<T>(flush_mode).await?;
    let mut tx = if em.may_have_transaction() {
        Some(em.lock_tx().await?)
    } else {
        None
    };
    match tx.as_mut().and_then(|t| t.as_mut()) {
        Some(open) => {
            let _held = em.hold_for_stream(T::META.name);
            open.settle(em).await?;
            let result = pump::<T>(em, open.conn.as_mut(), statement, y).await;
            result.inspect_err(|e| open.note_failure(e))
        }
        None => {
            drop(tx);
            let mut conn = em.acquire_connection(None).await?;
            pump::<T>(em, conn.as_mut(), statement, y).await
        }
    }
}

/// Runs the query on `conn`: pulls the driver's chunks, decodes each and gives it to the
/// stream; logs the query when it ends (or is dropped).
async fn pump<T: Entity>(
    em: &EntityManager,
    conn: &mut dyn Connection,
    statement: Statement,
    y: &Yielder<Result<Vec<T>>>,
) -> Result<()> {
    let mut log = StreamLog::new(&statement, em.shared().capabilities.logs_statements);
    let log = &mut log;
    let mut chunks = conn.query_stream(statement, STREAM_CHUNK_ROWS);
    let result = async {
        while let Some(rows) = next(&mut chunks).await {
            let rows = rows?;
            log.rows += rows.len() as u64;
            let (values, error) = decode_prefix::<T>(rows);
            if !values.is_empty() {
                y.give(Ok(values)).await;
            }
            if let Some(error) = error {
                return Err(error);
            }
        }
        Ok(())
    }
    .await;
    log.end(result.as_ref().err());
    result
}

/// The query log of a stream's query (for drivers that do not log by themselves): one event
/// when it ends, or when the stream is dropped before (the rows read until then).
struct StreamLog {
    pending: Option<Pending>,
    rows: u64,
    start: Instant,
}

impl StreamLog {
    fn new(statement: &Statement, driver_logs: bool) -> StreamLog {
        StreamLog {
            pending: Some(Pending::of_statement(statement, driver_logs)),
            rows: 0,
            start: Instant::now(),
        }
    }

    fn end(&mut self, error: Option<&Error>) {
        if let Some(pending) = self.pending.take() {
            pending.emit_stream(self.rows, self.start.elapsed(), error);
        }
    }
}

impl Drop for StreamLog {
    fn drop(&mut self) {
        self.end(None);
    }
}
