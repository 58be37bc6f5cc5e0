//! [`FindOptions`]: ordering, paging and locking of `find_with` / `find_one_with`.

use coherent_core::{FieldType, LockMode, Order, Value};

/// Options of [`crate::EntityManager::find_with`].
///
/// ```
/// # use coherent_orm::doc_support::User;
/// use coherent_orm::FindOptions;
/// let opts = FindOptions { order_by: vec![User::NAME.desc()], limit: Some(10), ..Default::default() };
/// assert_eq!(opts.offset, None);
/// ```
#[derive(Debug, Clone, Default)]
pub struct FindOptions {
    /// Sort keys, in order. With a limit or offset the primary key is added last, so pages are
    /// stable.
    pub order_by: Vec<Order>,
    /// At most this many rows.
    pub limit: Option<u64>,
    /// Skip this many rows.
    pub offset: Option<u64>,
    /// This query's flush mode (default: the EntityManager's).
    pub flush_mode: Option<crate::FlushMode>,
    /// How the rows are locked (see [`crate::query::locking`]).
    pub lock_mode: LockMode,
    /// With [`LockMode::Optimistic`]: the version every found entity must have.
    pub lock_version: Option<Value>,
    /// With a pessimistic mode: lock only the rows of these tables (PostgreSQL `FOR UPDATE
    /// OF ..`; an error on MySQL, which cannot).
    pub lock_table_aliases: Vec<String>,
    /// Relation paths to load with the found entities (`"books"`, `"books.reviews"`; see
    /// [`crate::EntityManager::populate_paths`]).
    pub populate: Vec<String>,
    /// How `populate` loads: select-in (default) or joined.
    pub strategy: LoadStrategy,
}

/// How populated relations are loaded (MikroORM's `LoadStrategy`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LoadStrategy {
    /// One extra query per relation level, by the keys of the level above.
    #[default]
    SelectIn,
    /// One query with a LEFT JOIN per relation, de-duplicated into the identity map. With a
    /// limit or offset and a collection among the relations, select-in is used instead (a
    /// limit would count joined rows, not entities).
    Joined,
}

crate::setters::setters!(FindOptions {
    /// Sets the sort keys, in order.
    ///
    /// ```
    /// # use coherent_orm::doc_support::User;
    /// use coherent_orm::FindOptions;
    /// let page = FindOptions::default().order_by([User::NAME.desc()]).limit(10).offset(20);
    /// assert_eq!((page.limit, page.offset, page.order_by.len()), (Some(10), Some(20), 1));
    /// ```
    order_by: impl IntoIterator<Item = Order> => order_by.into_iter().collect(),
    /// Sets the most rows returned.
    limit: u64 => Some(limit),
    /// Sets how many rows are skipped.
    offset: u64 => Some(offset),
    /// Sets this query's flush mode.
    flush_mode: crate::FlushMode => Some(flush_mode),
});

impl FindOptions {
    /// Sets the lock mode.
    ///
    /// ```
    /// use coherent_orm::FindOptions;
    /// use coherent_core::{LockMode, Value};
    /// let o = FindOptions::default().lock_mode(LockMode::Optimistic).lock_version(3i32);
    /// assert_eq!(o.lock_version, Some(Value::I32(3)));
    /// ```
    pub fn lock_mode(mut self, mode: LockMode) -> Self {
        self.lock_mode = mode;
        self
    }

    /// Sets the version an optimistic lock expects.
    pub fn lock_version(mut self, version: impl FieldType) -> Self {
        self.lock_version = Some(version.to_value());
        self
    }

    /// Sets the relation paths to load with the found entities, select-in: one query per
    /// relation level.
    ///
    /// ```
    /// use coherent_orm::FindOptions;
    /// let o = FindOptions::default().populate(["books", "books.reviews"]);
    /// assert_eq!(o.populate, ["books", "books.reviews"]);
    /// ```
    pub fn populate<S: Into<String>>(mut self, paths: impl IntoIterator<Item = S>) -> Self {
        self.populate = paths.into_iter().map(Into::into).collect();
        self
    }

    /// Sets how `populate` loads.
    ///
    /// ```
    /// use coherent_orm::{FindOptions, LoadStrategy};
    /// let o = FindOptions::default().populate(["identities"]).strategy(LoadStrategy::Joined);
    /// assert_eq!(o.strategy, LoadStrategy::Joined);
    /// ```
    pub fn strategy(mut self, strategy: LoadStrategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// Sets the tables whose rows a pessimistic lock takes.
    pub fn lock_table_aliases<S: Into<String>>(
        mut self,
        aliases: impl IntoIterator<Item = S>,
    ) -> Self {
        self.lock_table_aliases = aliases.into_iter().map(Into::into).collect();
        self
    }
}
