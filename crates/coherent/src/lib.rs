// The README is the crate documentation, so its tour is compiled as a doctest.
#![doc = include_str!("../../../README.md")]
#![forbid(unsafe_code)]

/// The `coherent` command line (feature `migrate`): an application's own schema binary is
/// `coherent::cli::run(Orm::builder().entity::<User>()..)`.
#[cfg(feature = "migrate")]
pub use coherent_cli as cli;
pub use coherent_core as core;
/// The stream trait ([`futures_core::Stream`](https://docs.rs/futures-core)) that
/// [`EntityStream`] implements: use `futures::StreamExt` (or [`EntityStream::next`]) to read
/// one.
pub use coherent_core::stream::Stream;
pub use coherent_core::{
    Aggregate, Column, ColumnMeta, ColumnSet, ColumnType, Condition, ConnectOptions,
    ConstraintKind, DatabaseError, Dialect, Entity, EntityMeta, Error, FieldType, Filter, FromRow,
    GroupBy, IndexMeta, IsolationLevel, JournalMode, LockMode, Nulls, OnDelete, Order, PathColumn,
    PrimaryKey, Projection, Related, Result, Row, SelectItem, SelectQuery, Synchronous, Value,
    count_all,
};
pub use coherent_macros::{
    Entity, FromRow, create_request_context, ensure_request_context, transactional,
};
/// Schema evolution (feature `migrate`): introspection, diffing, migration files and the
/// Migrator.
#[cfg(feature = "migrate")]
pub use coherent_migrate as migrate;
pub use coherent_orm::{
    Collection, CursorKey, EntityManager, EntityMut, EntityRef, EntityStream, FindOptions,
    FlushMode, ForkOptions, IntoKey, IntoLookup, Inverse, LoadStrategy, Lookup, Managed, Orm,
    OrmBuilder, OrmConfig, Page, PageRequest, Propagation, RawQuery, Ref, RequestContext,
    SchemaManager, Select, TransactionEvent, TransactionEventKind, TransactionListener, TxOptions,
};
pub use coherent_orm::{commit_order, query_log};

/// Everything an application needs, in one import; not `Result` or `Error`, which stay at
/// [`coherent::Result`](crate::Result) and [`coherent::Error`](crate::Error) so that the
/// application's own (`anyhow::Result`, the `std::error::Error` trait) keep their names:
///
/// ```
/// mod app {
///     pub use std::error::Error;
///     pub type Result<T> = std::result::Result<T, Box<dyn Error>>;
/// }
/// use coherent::prelude::*;
/// use app::*;
///
/// fn run() -> Result<()> {
///     Err("boom".into())
/// }
/// fn cause(e: &dyn Error) -> Option<&dyn Error> {
///     e.source()
/// }
/// let failed = run().unwrap_err();
/// assert!(cause(failed.as_ref()).is_none());
/// let _ = Filter::<()>::all(); // and the prelude's names are there
/// ```
pub mod prelude {
    pub use crate::{
        Collection, Column, ConnectOptions, ConstraintKind, Entity, EntityManager, Filter,
        FindOptions, FlushMode, ForkOptions, FromRow, Inverse, IsolationLevel, LoadStrategy,
        LockMode, Managed, Order, Orm, OrmConfig, Propagation, Ref, RequestContext, Row, TxOptions,
        Value, count_all, create_request_context, ensure_request_context, transactional,
    };
}

/// Paths the macros expand to. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use coherent_core::IsolationLevel;
    pub use coherent_core::column_set::ColumnSet;
    pub use coherent_core::entity::{Entity, PrimaryKey};
    pub use coherent_core::error::{Error, Result};
    pub use coherent_core::field_type::FieldType;
    pub use coherent_core::index_meta::{IndexMeta, OnDelete};
    pub use coherent_core::meta::{ColumnMeta, EntityMeta};
    pub use coherent_core::query::{Column, Related};
    pub use coherent_core::relation::{JoinTable, RelationKind, RelationMeta, RelationSlot};
    pub use coherent_core::row::{FromRow, RowReader};
    pub use coherent_core::value::{ColumnType, Value};
    pub use coherent_core::version::VersionType;
    /// The SQLite driver's rusqlite (feature `sqlite`), for the tests that open a raw
    /// connection beside the ORM.
    #[cfg(feature = "sqlite")]
    pub use coherent_orm::rusqlite;
    pub use coherent_orm::{
        Propagation, Registration, RelationField, RequestContext, TxOptions, inventory,
    };
    /// The server drivers' sqlx (feature `postgres` or `mysql`), for the tests that downcast
    /// a [`DatabaseError`](crate::DatabaseError)'s native error.
    #[cfg(any(feature = "postgres", feature = "mysql"))]
    pub use coherent_sqlx::sqlx;

    /// Runs a `#[transactional]` body: the function's return type must be a `Result` whose
    /// error comes from `coherent::Error`.
    pub async fn transactional<F, T, E>(
        em: &coherent_orm::EntityManager,
        options: TxOptions,
        body: F,
    ) -> Result<T, E>
    where
        F: ::core::future::Future<Output = Result<T, E>>,
        E: From<coherent_core::Error>,
    {
        em.transactional_with(options, move |_| body).await
    }

    /// Pins the output type of the future a macro wraps a function body in, so `?` and
    /// `return` inside the body keep the function's meaning.
    pub fn typed<T, F: ::core::future::Future<Output = T>>(future: F) -> F {
        future
    }

    /// What `em = <expr>` of the context macros accepts.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` is not an EntityManager or an Orm",
        label = "`em = ...` must be an EntityManager or an Orm (or a reference or Arc to one)"
    )]
    pub trait ContextSource {
        /// The EntityManager to take the context from.
        fn entity_manager(&self) -> coherent_orm::EntityManager;
    }

    impl ContextSource for coherent_orm::EntityManager {
        fn entity_manager(&self) -> coherent_orm::EntityManager {
            self.clone()
        }
    }

    impl ContextSource for coherent_orm::Orm {
        fn entity_manager(&self) -> coherent_orm::EntityManager {
            self.em().clone()
        }
    }

    impl<T: ContextSource + ?Sized> ContextSource for &T {
        fn entity_manager(&self) -> coherent_orm::EntityManager {
            (**self).entity_manager()
        }
    }

    impl<T: ContextSource + ?Sized> ContextSource for std::sync::Arc<T> {
        fn entity_manager(&self) -> coherent_orm::EntityManager {
            (**self).entity_manager()
        }
    }
}
