//! Optimistic and pessimistic locking on reads: `find_with` / `find_one_with` options and
//! [`EntityManager::lock`].
//!
//! Policy (MikroORM's semantics, reference 1.10 and 1.11):
//! - **Optimistic** locks compare versions in memory, without SQL: an entity without a
//!   `#[version]` is [`Error::NotVersioned`]; a version other than the expected one is
//!   [`Error::VersionMismatch`]. Versions compare by value (timestamps too). The write-side
//!   check is in every versioned UPDATE's WHERE (`ChangeSet`).
//! - **Pessimistic** locks need an open transaction ([`Error::TransactionRequired`], "An open
//!   transaction is required for this operation", before any SQL) and always query, even for
//!   an entity already in the identity map: the lock is the point. The clause is rendered per
//!   dialect by `coherent_sql::lock`.
//! - **SQLite** has no row locks. A read-write SQLite transaction holds the database write
//!   lock from `BEGIN IMMEDIATE` to its end, which is at least as strong as any row lock (no
//!   other connection can write anything), so every pessimistic mode is honoured by it; the
//!   skip-locked modes then skip nothing, since no other writer can hold a row. In a read-only
//!   SQLite transaction a pessimistic mode is [`Error::LockUnsupported`]: it would be
//!   silently weaker.

use crate::EntityManager;
use crate::entity::managed::Managed;
use crate::query::find_options::FindOptions;
use coherent_core::{Dialect, Entity, Error, LockMode, Result, Value, version};

impl EntityManager {
    /// Checks that `mode` can be taken here; returns the clause to append to the SELECT.
    pub(crate) async fn lock_clause(
        &self,
        mode: LockMode,
        aliases: &[String],
    ) -> Result<Option<String>> {
        if !mode.is_pessimistic() {
            return Ok(None);
        }
        let dialect = self.shared().dialect;
        {
            let owner = self.resolve();
            let tx = owner.lock_tx().await?;
            let Some(open) = tx.as_ref() else {
                return Err(Error::TransactionRequired);
            };
            if dialect == Dialect::Sqlite && open.read_only {
                return Err(Error::LockUnsupported {
                    mode: mode.name(),
                    reason: "SQLite has no row locks; a read-only transaction does not hold the database write lock that stands in for them".into(),
                });
            }
        }
        let aliases: Vec<&str> = aliases.iter().map(String::as_str).collect();
        coherent_sql::lock::lock_clause(dialect, mode, &aliases)
    }

    /// Takes a lock on a managed entity.
    ///
    /// A pessimistic mode runs `SELECT 1 FROM t AS t0 WHERE t0.key = ? FOR UPDATE` (per
    /// dialect) in the open transaction; a row that is gone is [`Error::NotFound`].
    /// [`LockMode::Optimistic`] only checks that the entity is versioned (use
    /// [`EntityManager::lock_version`] to compare the version).
    ///
    /// ```
    /// # use coherent_orm::doc_support::User;
    /// # async fn demo(em: coherent_orm::EntityManager) -> coherent_core::Result<()> {
    /// use coherent_core::LockMode;
    /// em.begin().await?;
    /// let user = em.find_one_or_fail::<User>(1).await?;
    /// em.lock(&user, LockMode::PessimisticWrite).await?;
    /// em.commit().await?;
    /// # Ok(()) }
    /// ```
    pub async fn lock<T: Entity>(&self, entity: &Managed<T>, mode: LockMode) -> Result<()> {
        self.lock_with(entity, mode, std::iter::empty::<String>())
            .await
    }

    /// [`EntityManager::lock`] naming the tables whose rows the lock takes (MikroORM's
    /// `em.lock(entity, mode, { lockTableAliases })`): the row's table is aliased as
    /// MikroORM aliases a query's root, its table's first letter and `0` (`"users" AS
    /// "u0"`), so `lock_with(&user, PessimisticWrite, ["u0"])` renders `.. FOR UPDATE OF
    /// "u0"` on PostgreSQL. Another alias is [`Error::InvalidArgument`], and any alias on
    /// MySQL [`Error::LockUnsupported`], before any SQL.
    ///
    /// ```
    /// # use coherent_orm::doc_support::User;
    /// # async fn demo(em: coherent_orm::EntityManager) -> coherent_core::Result<()> {
    /// use coherent_core::LockMode;
    /// em.begin().await?;
    /// let user = em.find_one_or_fail::<User>(1).await?;
    /// em.lock_with(&user, LockMode::PessimisticPartialWrite, ["u0"]).await?;
    /// em.commit().await?;
    /// # Ok(()) }
    /// ```
    pub async fn lock_with<T: Entity, S: Into<String>>(
        &self,
        entity: &Managed<T>,
        mode: LockMode,
        aliases: impl IntoIterator<Item = S>,
    ) -> Result<()> {
        let em = self.context()?;
        em.ensure_managed(entity)?;
        if mode == LockMode::Optimistic {
            return T::META
                .version_column()
                .map(drop)
                .ok_or(Error::NotVersioned {
                    entity: T::META.name,
                });
        }
        let meta = T::META;
        let alias = coherent_sql::render::alias(meta, 0);
        let aliases: Vec<String> = aliases.into_iter().map(Into::into).collect();
        if let Some(other) = aliases.iter().find(|a| **a != alias) {
            return Err(Error::InvalidArgument(format!(
                "lock table alias `{other}` is not in the query (its table is {alias})"
            )));
        }
        let Some(clause) = em.lock_clause(mode, &aliases).await? else {
            return Ok(());
        };
        let key = entity.key();
        let sql = format!(
            "{}{clause}",
            coherent_sql::select::lock_row(meta, &alias, em.shared().dialect)
        );
        let rows = em
            .query_rows(
                coherent_core::Statement::query(
                    sql,
                    vec![coherent_core::FieldType::to_value(&key)],
                )
                .idempotent(),
            )
            .await?;
        if rows.is_empty() {
            return Err(Error::NotFound {
                entity: meta.name,
                key: format!("{key:?}"),
            });
        }
        em.note_locked::<T>(vec![key]).await;
        Ok(())
    }

    /// Records rows a pessimistic read returned as held by the open transaction until it ends
    /// (see [`crate::unit_of_work::written_rows`]).
    pub(crate) async fn note_locked<T: Entity>(&self, keys: Vec<T::Key>) {
        let owner = self.resolve();
        // (A stream holding the transaction's connection would have refused the read.)
        if let Ok(tx) = owner.lock_tx().await
            && let Some(open) = tx.as_ref()
        {
            open.written().extend::<T>(keys);
        }
    }

    /// An optimistic lock on a managed entity: its version in memory must be `expected`
    /// (MikroORM's `em.lock(entity, LockMode.OPTIMISTIC, version)`). No SQL.
    ///
    /// ```
    /// # use coherent_orm::doc_support::User;
    /// # async fn demo(em: coherent_orm::EntityManager, user: coherent_orm::Managed<User>) {
    /// // User has no #[version]:
    /// assert!(matches!(em.lock_version(&user, 1i32).await, Err(coherent_core::Error::NotVersioned { .. })));
    /// # }
    /// ```
    pub async fn lock_version<T: Entity>(
        &self,
        entity: &Managed<T>,
        expected: impl coherent_core::FieldType,
    ) -> Result<()> {
        let em = self.context()?;
        em.ensure_managed(entity)?;
        check_version(entity, &expected.to_value())
    }

    /// The `T` with this key or the first matching a filter, read with `options`' lock.
    pub async fn find_one_with<T: Entity>(
        &self,
        lookup: impl crate::entity::lookup::IntoLookup<T>,
        options: FindOptions,
    ) -> Result<Option<Managed<T>>> {
        let em = self.context()?;
        if options.lock_mode == LockMode::Optimistic {
            require_version::<T>()?;
        }
        // A partial load (`fields`) reads by query too: the map's instance may hold other
        // columns than the ones asked for.
        let found = if options.lock_mode.is_pessimistic() || !options.fields.is_empty() {
            let filter = match lookup.into_lookup() {
                crate::entity::lookup::Lookup::Key(key) => {
                    coherent_core::Filter::from_condition(coherent_core::Condition::Compare {
                        column: T::META.pk().name,
                        op: coherent_core::CmpOp::Eq,
                        value: coherent_core::FieldType::to_value(&key),
                    })
                }
                crate::entity::lookup::Lookup::Filter(filter) => filter,
                crate::entity::lookup::Lookup::Nothing(_) => return Ok(None),
            };
            let options = FindOptions {
                limit: Some(1),
                ..options.clone()
            };
            em.find_with(filter, options).await?.pop()
        } else {
            em.find_one(lookup).await?
        };
        if let (Some(m), Some(expected), LockMode::Optimistic) =
            (&found, &options.lock_version, options.lock_mode)
        {
            check_version(m, expected)?;
        }
        if let Some(m) = &found
            && !options.populate.is_empty()
            && !options.lock_mode.is_pessimistic()
        {
            em.populate_paths(std::slice::from_ref(m), options.populate)
                .await?;
        }
        Ok(found)
    }
}

fn require_version<T: Entity>() -> Result<usize> {
    T::META.version_column().ok_or(Error::NotVersioned {
        entity: T::META.name,
    })
}

/// Compares the in-memory version of `entity` with `expected`, by value.
pub(crate) fn check_version<T: Entity>(entity: &Managed<T>, expected: &Value) -> Result<()> {
    let column = require_version::<T>()?;
    let mut actual = Vec::with_capacity(1);
    entity
        .read()
        .push_values(coherent_core::ColumnSet::single(column), &mut actual);
    let actual = actual.pop().expect("one value");
    if same_version(&actual, expected) {
        Ok(())
    } else {
        Err(Error::VersionMismatch {
            entity: T::META.name,
            expected: version::display(expected),
            actual: version::display(&actual),
        })
    }
}

/// Versions compare by value; integers of any width compare as numbers.
fn same_version(a: &Value, b: &Value) -> bool {
    let int = |v: &Value| match v {
        Value::I16(n) => Some(i64::from(*n)),
        Value::I32(n) => Some(i64::from(*n)),
        Value::I64(n) => Some(*n),
        _ => None,
    };
    match (int(a), int(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}
