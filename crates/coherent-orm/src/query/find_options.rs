//! [`FindOptions`]: ordering, paging, locking and partial loading of `find_with` /
//! `find_one_with`.
//!
//! Partial loading policy ([`FindOptions::fields`]): the SELECT lists the named fields, the
//! primary key, the version and `#[concurrency_check]` columns (a flush's optimistic check
//! compares them) and the root columns the query orders by; the found instances are
//! *partial* ([`crate::Managed::is_partial`]). A name that is neither a field nor a column of
//! the entity is [`Error::UnknownField`] before any SQL. A partial instance's unread fields
//! hold placeholders; [`crate::Managed::field`] reads checked
//! ([`Error::FieldNotLoaded`]); a flush never writes them (unless the application assigns
//! one), and a later read of every column completes the same instance. Populating relations
//! with `fields` is refused ([`Error::InvalidArgument`]: a to-one path would follow a
//! reference that may not have been read), and so is `EntityManager::stream` with `fields`
//! (a detached value cannot tell its placeholders from data).

use coherent_core::{ColumnSet, Entity, Error, FieldType, LockMode, Order, Result, Value};

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
    /// Load only these fields (field or column names; empty: every field). See
    /// [`FindOptions::fields`].
    pub fields: Vec<String>,
}

/// A field named in [`FindOptions::fields`]: a field or column name, or a typed column
/// handle (`User::EMAIL`).
pub trait FieldName {
    /// The name.
    fn field_name(self) -> String;
}

impl FieldName for &str {
    fn field_name(self) -> String {
        self.to_string()
    }
}

impl FieldName for String {
    fn field_name(self) -> String {
        self
    }
}

impl FieldName for &String {
    fn field_name(self) -> String {
        self.clone()
    }
}

impl<E, V> FieldName for coherent_core::Column<E, V> {
    fn field_name(self) -> String {
        self.name.to_string()
    }
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

    /// Loads only these fields (by field or column name, or typed handles): a partial load.
    /// The primary key, the version and `#[concurrency_check]` columns and the columns the
    /// query orders by are always loaded. The found instances are partial
    /// ([`crate::Managed::is_partial`]): their other fields hold placeholders in
    /// [`crate::Managed::read`]; [`crate::Managed::field`] reads checked; a flush never
    /// writes an unloaded field the application did not assign; a later read of every
    /// column completes the same instance. An unknown name is [`Error::UnknownField`]
    /// before any SQL.
    ///
    /// ```
    /// # use coherent_orm::doc_support::User;
    /// use coherent_orm::FindOptions;
    /// let o = FindOptions::default().fields(["name", "email"]);
    /// assert_eq!(o.fields, ["name", "email"]);
    /// let typed = FindOptions::default().fields([User::NAME, User::EMAIL]);
    /// assert_eq!(typed.fields, o.fields);
    /// ```
    pub fn fields<F: FieldName>(mut self, fields: impl IntoIterator<Item = F>) -> Self {
        self.fields = fields.into_iter().map(FieldName::field_name).collect();
        self
    }

    /// The columns a partial load of `T` leaves unread (`None`: every column is read),
    /// checked: [`Error::UnknownField`] for a name that is neither a field nor a column of
    /// `T`, [`Error::InvalidArgument`] with `populate`.
    pub(crate) fn unloaded_columns<T: Entity>(&self) -> Result<Option<ColumnSet>> {
        if self.fields.is_empty() {
            return Ok(None);
        }
        let meta = T::META;
        let mut loaded = ColumnSet::single(meta.primary_key);
        for name in &self.fields {
            let index = meta
                .columns
                .iter()
                .position(|c| c.field == name || c.name == name)
                .ok_or_else(|| Error::UnknownField {
                    entity: meta.name,
                    field: name.clone(),
                    known: meta
                        .columns
                        .iter()
                        .map(|c| c.field)
                        .collect::<Vec<_>>()
                        .join(", "),
                })?;
            loaded.insert(index);
        }
        for (i, c) in meta.columns.iter().enumerate() {
            if c.version || c.concurrency_check {
                loaded.insert(i);
            }
        }
        for order in &self.order_by {
            if order.path().is_empty()
                && order.function().is_none()
                && let Some(i) = meta.columns.iter().position(|c| c.name == order.column())
            {
                loaded.insert(i);
            }
        }
        if !self.populate.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "{}: `fields` and `populate` do not go together (a relation path may follow a \
                 reference that is not loaded); load the relations with a full read or \
                 `em.populate` after it",
                meta.name
            )));
        }
        let unloaded = meta.all_columns().without(loaded);
        Ok((!unloaded.is_empty()).then_some(unloaded))
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
