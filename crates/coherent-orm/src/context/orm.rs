//! [`Orm`] and [`OrmBuilder`]: the configured entry point, owning the driver, the entity
//! registry, the commit order and the statement cache.
//!
//! Policy: entity types are registered up front (`.entity::<User>()`); using an unregistered
//! type is the typed error [`Error::UnknownEntity`], not a silent default. The URL scheme
//! picks the driver: `sqlite:` (feature `sqlite`, on by default), `postgres:` (feature `postgres`) or `mysql:`/`mariadb:`
//! (feature `mysql`). How to connect is one [`ConnectOptions`] (pool sizes and timeouts,
//! statement and lock timeouts, SQLite's journal mode ..): given whole with
//! [`OrmBuilder::connect_options`], or as a URL whose parameters map onto it
//! ([`OrmBuilder::url`]).

use crate::context::config::OrmConfig;
use crate::context::entity_manager::EntityManager;
use crate::relations::loads::{Loads, loads_of};
use crate::unit_of_work::commit_order::CommitOrder;
use crate::unit_of_work::model::{Model, Registered};
use crate::unit_of_work::statement_cache::StatementCache;
use coherent_core::{Capabilities, ConnectOptions, Dialect, Driver, Entity, Error, Result};
use std::any::TypeId;
use std::collections::HashMap;
use std::sync::Arc;

/// What every EntityManager of one Orm shares.
pub(crate) struct OrmShared {
    /// Process-unique id: request contexts keep one EntityManager per Orm.
    pub id: u64,
    pub driver: Arc<dyn Driver>,
    pub dialect: Dialect,
    pub capabilities: Capabilities,
    pub config: OrmConfig,
    /// The registered entity types and their commit order.
    pub model: Model,
    /// Each registered type's relation loads on an EntityManager.
    pub loads: HashMap<TypeId, Arc<dyn Loads<EntityManager>>>,
    pub statements: StatementCache,
    pub listeners: Vec<Arc<dyn crate::TransactionListener>>,
    /// [`Orm::close`] began: no new connection is taken.
    pub closing: std::sync::atomic::AtomicBool,
    /// [`Orm::close`] ended: nothing runs any more.
    pub closed: std::sync::atomic::AtomicBool,
}

impl OrmShared {
    /// The relation loads of the registered type `id` (see [`Model::registered`]).
    pub fn loads(&self, id: TypeId, needed_by: &str) -> Result<&dyn Loads<EntityManager>> {
        match self.loads.get(&id) {
            Some(loads) => Ok(&**loads),
            None => Err(Model::unregistered(needed_by)),
        }
    }

    /// What planning a flush needs of the backend and the configuration.
    pub fn plan_context(&self) -> crate::unit_of_work::plan::PlanContext<'_> {
        crate::unit_of_work::plan::PlanContext {
            cache: &self.statements,
            model: &self.model,
            capabilities: self.capabilities,
            batch_size: self.batch_size(),
            dialect: self.dialect,
        }
    }

    /// Rows per multi-row statement: the configured batch size, else the backend's.
    pub fn batch_size(&self) -> usize {
        self.config
            .batch_size
            .unwrap_or(self.capabilities.default_batch_size)
    }

    /// Keys per `IN (..)` query of a select-in load: the batch size, within the backend's
    /// parameter limit.
    pub fn keys_per_query(&self) -> usize {
        self.batch_size().min(self.capabilities.max_params).max(1)
    }
}

/// A configured ORM: a connection source, the entity registry and the global
/// EntityManager. Cheap to clone.
///
/// ```no_run
/// # use coherent_orm::doc_support::User;
/// # async fn demo() -> coherent_core::Result<()> {
/// use coherent_orm::Orm;
/// let orm = Orm::builder().url("sqlite://app.db").entity::<User>().build().await?;
/// orm.schema().create().await?;
/// let em = orm.em().fork();
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Orm {
    shared: Arc<OrmShared>,
    global: EntityManager,
}

impl std::fmt::Debug for Orm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Orm")
            .field("dialect", &self.shared.dialect)
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl Orm {
    /// A builder.
    pub fn builder() -> OrmBuilder {
        OrmBuilder::default()
    }

    /// Connects to `url` with default options and no registered entity (raw SQL only until
    /// entities are registered through [`Orm::builder`]).
    pub async fn connect(url: &str) -> Result<Orm> {
        Orm::builder().url(url).build().await
    }

    /// The global EntityManager. With `allow_global_context` off (the default) only
    /// context-free methods (`fork`, raw SQL) work on it.
    pub fn em(&self) -> &EntityManager {
        &self.global
    }

    /// The SQL dialect of the backend.
    pub fn dialect(&self) -> Dialect {
        self.shared.dialect
    }

    /// The configuration.
    pub fn config(&self) -> &OrmConfig {
        &self.shared.config
    }

    /// The driver: connections outside the Unit of Work, for tools that manage the schema
    /// (`coherent-migrate`).
    pub fn driver(&self) -> &Arc<dyn Driver> {
        &self.shared.driver
    }

    /// The metadata of every registered entity, referenced entities before those that
    /// reference them (the commit order).
    ///
    /// ```
    /// # use coherent_orm::doc_support::User;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let orm = coherent_orm::Orm::builder().url("sqlite::memory:").entity::<User>().build().await?;
    /// assert_eq!(orm.entity_metas()[0].table, "users");
    /// # Ok::<(), coherent_core::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn entity_metas(&self) -> Vec<&'static coherent_core::EntityMeta> {
        self.shared.model.metas_in_order()
    }

    /// Shuts the Orm down for a clean exit: from the call on, taking a new connection fails
    /// with [`Error::Closed`] (a transaction already holding one may still commit or roll
    /// back); the future ends when every connection is closed (SQLite's connection threads
    /// joined, the server pools closed), after which every call on this Orm and its
    /// EntityManagers fails with [`Error::Closed`]. Dropping an Orm without closing it closes
    /// its connections in the background instead.
    ///
    /// ```
    /// # use coherent_orm::doc_support::User;
    /// use coherent_core::{Error, Filter};
    /// use coherent_orm::Orm;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let orm = Orm::builder().url("sqlite::memory:").entity::<User>().build().await?;
    /// orm.schema().create().await?;
    /// let em = orm.em().fork();
    /// orm.close().await;
    /// assert!(matches!(em.count::<User>(Filter::all()).await, Err(Error::Closed)));
    /// assert!(orm.is_closed());
    /// # Ok::<(), Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn close(&self) {
        use std::sync::atomic::Ordering;
        self.shared.closing.store(true, Ordering::Release);
        self.shared.driver.close().await;
        self.shared.closed.store(true, Ordering::Release);
    }

    /// Whether [`Orm::close`] has ended.
    pub fn is_closed(&self) -> bool {
        self.shared
            .closed
            .load(std::sync::atomic::Ordering::Acquire)
    }
}

/// Builds an [`Orm`].
#[derive(Default)]
pub struct OrmBuilder {
    listeners: Vec<Arc<dyn crate::TransactionListener>>,
    connect: Option<ConnectOptions>,
    driver: Option<Arc<dyn Driver>>,
    entities: Vec<(TypeId, Registered)>,
    loads: HashMap<TypeId, Arc<dyn Loads<EntityManager>>>,
    config: OrmConfig,
}

impl OrmBuilder {
    /// The database URL: `sqlite://path.db`, `sqlite::memory:`, `postgres://user@host/db`,
    /// `mysql://..` (`mariadb://..`), with the options as parameters
    /// (`?max_connections=20&statement_timeout_ms=5000`; see [`ConnectOptions`]). Sets the
    /// URL of the [`OrmBuilder::connect_options`] given before, if any.
    ///
    /// ```
    /// # async fn demo() -> coherent_core::Result<()> {
    /// let orm = coherent_orm::Orm::builder().url("sqlite::memory:?max_connections=2").build().await?;
    /// # let _ = orm; Ok(()) }
    /// ```
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.connect.get_or_insert_with(ConnectOptions::default).url = url.into();
        self
    }

    /// How to connect, typed: the URL and the pool, timeout and SQLite options beside it
    /// (URL parameters still in it win over the fields). Replaces an earlier
    /// [`OrmBuilder::url`].
    ///
    /// ```
    /// use coherent_core::{ConnectOptions, JournalMode};
    /// use std::time::Duration;
    /// # async fn demo() -> coherent_core::Result<()> {
    /// let options = ConnectOptions::new("sqlite://app.db")
    ///     .max_connections(8)
    ///     .statement_timeout(Duration::from_secs(10))
    ///     .journal_mode(JournalMode::Wal);
    /// let orm = coherent_orm::Orm::builder().connect_options(options).build().await?;
    /// # let _ = orm; Ok(()) }
    /// ```
    pub fn connect_options(mut self, options: ConnectOptions) -> Self {
        self.connect = Some(options);
        self
    }

    /// Uses an already constructed driver instead of a URL.
    pub fn driver(mut self, driver: Arc<dyn Driver>) -> Self {
        self.driver = Some(driver);
        self
    }

    /// Registers entity type `T`.
    pub fn entity<T: Entity>(mut self) -> Self {
        let id = TypeId::of::<T>();
        if !self.entities.iter().any(|(t, _)| *t == id) {
            self.entities.push((id, Registered::of::<T>()));
            self.loads.insert(id, loads_of::<T, EntityManager>());
        }
        self
    }

    /// Registers every `#[derive(Entity)]` type linked into the program (each derive submits
    /// a [`crate::Registration`]), as if `.entity::<T>()` were called for each; registering
    /// one twice is harmless.
    ///
    /// ```
    /// # async fn demo() -> coherent_core::Result<()> {
    /// let orm = coherent_orm::Orm::builder().url("sqlite::memory:").all_entities().build().await?;
    /// # let _ = orm; Ok(()) }
    /// ```
    pub fn all_entities(mut self) -> Self {
        for registration in crate::context::registry::all() {
            self = registration.register(self);
        }
        self
    }

    /// Whether the global EntityManager may be used for context-specific work (default
    /// false).
    pub fn allow_global_context(mut self, allow: bool) -> Self {
        self.config.allow_global_context = allow;
        self
    }

    /// Rows per multi-row statement (default: the backend's, see [`OrmConfig::batch_size`]).
    pub fn batch_size(mut self, size: usize) -> Self {
        self.config.batch_size = Some(size.max(1));
        self
    }

    /// When queries flush pending changes first (default `Auto`; see [`crate::FlushMode`]).
    pub fn flush_mode(mut self, mode: crate::FlushMode) -> Self {
        self.config.flush_mode = mode;
        self
    }

    /// Disables transactions (see [`OrmConfig::disable_transactions`]).
    pub fn disable_transactions(mut self, disable: bool) -> Self {
        self.config.disable_transactions = disable;
        self
    }

    /// How long a statement waits for a lock while its task has suspended a transaction
    /// (default 10 s; `None`: the server's setting; see
    /// [`OrmConfig::lock_timeout_while_suspended`]).
    ///
    /// ```
    /// use coherent_orm::Orm;
    /// use std::time::Duration;
    /// let builder = Orm::builder().lock_timeout_while_suspended(Some(Duration::from_secs(2)));
    /// # let _ = builder;
    /// ```
    pub fn lock_timeout_while_suspended(mut self, timeout: Option<std::time::Duration>) -> Self {
        self.config.lock_timeout_while_suspended = timeout;
        self
    }

    /// Sets the key cursor tokens are signed with (see [`OrmConfig::cursor_key`]); every
    /// instance of a service that hands out cursors needs the same one.
    ///
    /// ```
    /// use coherent_orm::{CursorKey, Orm};
    /// let builder = Orm::builder().cursor_key(CursorKey::new(*b"0123456789abcdef0123456789abcdef").unwrap());
    /// # let _ = builder;
    /// ```
    pub fn cursor_key(mut self, key: crate::CursorKey) -> Self {
        self.config.cursor_key = Some(key);
        self
    }

    /// Adds a listener of transaction events (see [`crate::TransactionListener`]).
    pub fn transaction_listener(mut self, listener: impl crate::TransactionListener) -> Self {
        self.listeners.push(Arc::new(listener));
        self
    }

    /// Replaces the whole configuration.
    pub fn config(mut self, config: OrmConfig) -> Self {
        self.config = config;
        self
    }

    /// Opens the driver and builds the Orm.
    pub async fn build(self) -> Result<Orm> {
        let driver: Arc<dyn Driver> = match (self.driver, self.connect) {
            (Some(d), _) => d,
            (None, Some(options)) if !options.url.is_empty() => connect_url(&options).await?,
            (None, _) => {
                return Err(Error::Config(
                    "no database: give OrmBuilder::url, OrmBuilder::connect_options (with a URL) or OrmBuilder::driver".into(),
                ));
            }
        };
        let mut seen = HashMap::new();
        for (_, r) in &self.entities {
            if let Some(other) = seen.insert(r.meta.table, r.meta.name) {
                return Err(Error::Config(format!(
                    "entities {other} and {} both map to table {}",
                    r.meta.name, r.meta.table
                )));
            }
        }
        check_relations(&self.entities)?;
        let types: Vec<TypeId> = self.entities.iter().map(|(t, _)| *t).collect();
        // Every foreign key is an edge: the referenced type is inserted first.
        let dependencies: Vec<crate::unit_of_work::commit_order::Dependency> = self
            .entities
            .iter()
            .flat_map(|(to, r)| {
                r.meta.columns.iter().filter_map(move |c| {
                    let reference = c.references?;
                    let from = (reference.type_id)();
                    (from != *to).then_some(crate::unit_of_work::commit_order::Dependency {
                        from,
                        to: *to,
                        nullable: c.nullable,
                    })
                })
            })
            .collect();
        let has_relations = self.entities.iter().any(|(_, r)| r.meta.has_relations());
        let dialect = driver.dialect();
        let mut config = self.config;
        if config.cursor_key.is_none() {
            config.cursor_key = Some(crate::CursorKey::random()?);
        }
        static NEXT_ORM: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let shared = Arc::new(OrmShared {
            id: NEXT_ORM.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            capabilities: driver.capabilities(),
            dialect,
            driver,
            config,
            loads: self.loads,
            model: Model {
                entities: self.entities.into_iter().collect(),
                commit_order: CommitOrder::new(&types, &dependencies),
                has_relations,
            },
            statements: StatementCache::new(dialect),
            listeners: self.listeners,
            closing: Default::default(),
            closed: Default::default(),
        });
        Ok(Orm {
            global: EntityManager::global(Arc::clone(&shared)),
            shared,
        })
    }
}

/// Every relation names a registered item type whose `mapped_by` field is a reference back
/// to the owner.
fn check_relations(entities: &[(TypeId, Registered)]) -> Result<()> {
    for (owner, r) in entities {
        for rel in r.meta.relations {
            let item = rel.target_meta();
            let field = format!("{}.{}", r.meta.name, rel.field);
            if !entities.iter().any(|(t, _)| *t == (rel.target.type_id)()) {
                return Err(Error::Config(format!(
                    "{field} is a collection of {}, which is not registered with the Orm",
                    item.name
                )));
            }
            let ok = match rel.kind {
                coherent_core::RelationKind::OneToMany | coherent_core::RelationKind::OneToOne => {
                    rel.mapped_by_column()
                        .and_then(|c| item.columns[c].references)
                        .is_some_and(|to| (to.type_id)() == *owner)
                }
                coherent_core::RelationKind::ManyToMany => rel.link_side().is_some(),
            };
            if !ok {
                let wanted = match rel.kind {
                    coherent_core::RelationKind::OneToMany => "#[many_to_one] field",
                    coherent_core::RelationKind::OneToOne => "#[one_to_one] field",
                    coherent_core::RelationKind::ManyToMany => "#[many_to_many] (owning) field",
                };
                return Err(Error::Config(format!(
                    "{field}: mapped_by = \"{}\" must name a {wanted} of {} that references {}",
                    rel.mapped_by, item.name, r.meta.name
                )));
            }
        }
    }
    Ok(())
}

async fn connect_url(options: &ConnectOptions) -> Result<Arc<dyn Driver>> {
    let url = options.url.as_str();
    #[cfg(feature = "sqlite")]
    if url.starts_with("sqlite:") {
        return Ok(Arc::new(
            coherent_sqlite::SqliteDriver::open_with(options).await?,
        ));
    }
    #[cfg(feature = "postgres")]
    if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        return Ok(Arc::new(
            coherent_sqlx::postgres::PgDriver::open_with(options).await?,
        ));
    }
    #[cfg(feature = "mysql")]
    if url.starts_with("mysql:") || url.starts_with("mariadb:") {
        return Ok(Arc::new(
            coherent_sqlx::mysql::MySqlDriver::open_with(options).await?,
        ));
    }
    let scheme = url.split(':').next().unwrap_or_default();
    let hint = match scheme {
        "postgres" | "postgresql" => " (enable Coherent's `postgres` feature)",
        "mysql" | "mariadb" => " (enable Coherent's `mysql` feature)",
        "sqlite" => {
            " (enable Coherent's `sqlite` feature, a default feature this build turned off)"
        }
        _ => "",
    };
    Err(Error::Config(format!(
        "unsupported database URL {url:?}{hint}: expected sqlite://path, sqlite::memory:, postgres://.. or mysql://.."
    )))
}
