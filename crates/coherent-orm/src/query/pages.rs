//! Pagination: `find_and_count` (a page and the total, in one statement where it can) and
//! keyset cursors (`find_page` with [`PageRequest::first`]/[`PageRequest::last`]).
//!
//! Policy:
//! - **Keyset, not offset.** A cursor page is "the `n` rows after (or before) this row" in a
//!   stable order (the query's orders, then the primary key: [`coherent_core::query::keyset`]),
//!   so a row inserted or deleted on an earlier page does not shift later ones, and a deep
//!   page costs what the first does (with an index on the sort keys).
//! - **Tokens** are opaque and signed ([`crate::query::cursor`]); one made by another query,
//!   altered, or malformed is [`Error::InvalidCursor`] before any SQL.
//! - **`has_next` / `has_previous` are exact**: the page reads one row more than it returns
//!   to know whether more follow, and a page that starts after (or ends before) a cursor
//!   asks once (`SELECT 1 .. LIMIT 1`) whether any row lies on the other side of it.
//! - Pages are entities like `find`'s: merged into the identity map; populate, flush mode and
//!   locks apply. An offset or limit in the options is refused (the page sets its own).

use crate::query::cursor;
use crate::{EntityManager, FindOptions, Managed};
use coherent_core::query::keyset::{self, Key};
use coherent_core::{Clause, ColumnSet, Condition, Entity, Error, Filter, Result, Value};

/// Which page [`EntityManager::find_page`] reads: the first `n` rows (after a cursor) or
/// the last `n` (before one).
///
/// ```
/// use coherent_orm::PageRequest;
/// let first = PageRequest::first(20);
/// let next = PageRequest::first(20).after("token-from-the-last-page");
/// let previous = PageRequest::last(20).before("token-from-this-page");
/// # let _ = (first, next, previous);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    size: u64,
    forward: bool,
    after: Option<String>,
    before: Option<String>,
}

impl PageRequest {
    /// The first `n` rows (of the rows after [`PageRequest::after`], if given).
    pub fn first(n: u64) -> PageRequest {
        PageRequest {
            size: n,
            forward: true,
            after: None,
            before: None,
        }
    }

    /// The last `n` rows (of the rows before [`PageRequest::before`], if given).
    pub fn last(n: u64) -> PageRequest {
        PageRequest {
            forward: false,
            ..PageRequest::first(n)
        }
    }

    /// Only rows after the row this cursor was made for.
    pub fn after(mut self, cursor: impl Into<String>) -> PageRequest {
        self.after = Some(cursor.into());
        self
    }

    /// Only rows before the row this cursor was made for.
    pub fn before(mut self, cursor: impl Into<String>) -> PageRequest {
        self.before = Some(cursor.into());
        self
    }
}

/// A page of entities with the cursors around it.
#[derive(Debug)]
pub struct Page<T: Entity> {
    /// The entities, in the query's order.
    pub items: Vec<Managed<T>>,
    /// Rows follow the last item (within the request's bounds).
    pub has_next: bool,
    /// Rows precede the first item (within the request's bounds).
    pub has_previous: bool,
    cursors: Vec<String>,
}

impl<T: Entity> Page<T> {
    /// The cursor of the first item: `last(n).before(it)` reads the page before.
    pub fn start_cursor(&self) -> Option<&str> {
        self.cursors.first().map(String::as_str)
    }

    /// The cursor of the last item: `first(n).after(it)` reads the next page.
    pub fn end_cursor(&self) -> Option<&str> {
        self.cursors.last().map(String::as_str)
    }

    /// The cursor of each item, in order.
    pub fn cursors(&self) -> &[String] {
        &self.cursors
    }
}

impl EntityManager {
    /// The page of `T` matching `filter` that `options` (with no limit or offset) and
    /// `offset`-free `page` describe, and the number of rows matching `filter`. One
    /// statement (`COUNT(*) OVER ()`) where it can tell; a second (`COUNT(*)`) with joined
    /// loading, a pessimistic lock, or an empty page past the first.
    ///
    /// ```
    /// # use coherent_orm::doc_support::User;
    /// # async fn demo(em: coherent_orm::EntityManager) -> coherent_core::Result<()> {
    /// use coherent_orm::FindOptions;
    /// use coherent_core::Filter;
    /// let options = FindOptions::default().order_by([User::NAME.asc()]).limit(20);
    /// let (page, total) = em.find_and_count(Filter::<User>::all(), options).await?;
    /// assert!(page.len() as u64 <= total);
    /// # Ok(()) }
    /// ```
    pub async fn find_and_count<T: Entity>(
        &self,
        filter: Filter<T>,
        options: FindOptions,
    ) -> Result<(Vec<Managed<T>>, u64)> {
        let first_page = options.offset.unwrap_or(0) == 0;
        let (found, total) = self.find_counting(filter.clone(), options, true).await?;
        let total = match total {
            Some(n) => n,
            None if found.is_empty() && first_page => 0,
            None => self.count(filter).await?,
        };
        Ok((found, total))
    }

    /// A page of `T` matching `filter`, by keyset cursor: `page` says which, `options` the
    /// order (the primary key is appended), populate, flush mode and locks.
    ///
    /// ```
    /// # use coherent_orm::doc_support::User;
    /// # async fn demo(em: coherent_orm::EntityManager) -> coherent_core::Result<()> {
    /// use coherent_orm::{FindOptions, PageRequest};
    /// use coherent_core::Filter;
    /// let by_name = FindOptions::default().order_by([User::NAME.asc()]);
    /// let page = em.find_page(Filter::<User>::all(), PageRequest::first(10), by_name.clone()).await?;
    /// if let (true, Some(end)) = (page.has_next, page.end_cursor()) {
    ///     let next = em.find_page(Filter::<User>::all(), PageRequest::first(10).after(end), by_name).await?;
    ///     assert!(next.has_previous);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn find_page<T: Entity>(
        &self,
        filter: Filter<T>,
        page: PageRequest,
        options: FindOptions,
    ) -> Result<Page<T>> {
        let shared = self.shared();
        let dialect = shared.dialect;
        if page.size == 0 || page.size >= i64::MAX as u64 {
            return Err(Error::InvalidArgument(format!(
                "a page holds 1 to {} rows: {} is out of range",
                i64::MAX - 1,
                page.size
            )));
        }
        if options.limit.is_some() || options.offset.is_some() {
            return Err(Error::InvalidQuery(
                "a cursor page sets its own limit: give the size to PageRequest::first/last, and no offset".into(),
            ));
        }
        shared.model.ensure_registered::<T>()?;
        filter.condition().check(T::META, Clause::Where)?;
        let keys = keyset::keys(T::META, &options.order_by, dialect)?;
        let query = fingerprint::<T>(&keys, filter.condition());
        let key = shared
            .config
            .cursor_key
            .as_ref()
            .expect("the Orm's builder sets a cursor key");
        let bound = |token: &Option<String>| -> Result<Option<Vec<Value>>> {
            token
                .as_deref()
                .map(|t| cursor::decode(key, &query, keys.len(), t))
                .transpose()
        };
        let (after, before) = (bound(&page.after)?, bound(&page.before)?);
        let reversed: Vec<Key> = keys.iter().map(|k| k.reversed()).collect();
        let mut condition = filter.clone();
        if let Some(v) = &after {
            condition = condition.and(Filter::from_condition(keyset::after(&keys, v)));
        }
        if let Some(v) = &before {
            condition = condition.and(Filter::from_condition(keyset::after(&reversed, v)));
        }
        let read_keys = if page.forward { &keys } else { &reversed };
        let mut read = options;
        read.order_by = read_keys
            .iter()
            .map(|k| k.order(T::META, dialect))
            .collect();
        read.limit = Some(page.size.saturating_add(1));
        let mut items = self.find_with(condition, read).await?;
        let more = items.len() as u64 > page.size;
        items.truncate(page.size as usize);
        if !page.forward {
            items.reverse();
        }
        // Rows the bounds left out, past the far bound when the page did not fill, and
        // before the near one: each asked once, only when that bound was given.
        let (ahead, behind) = if page.forward {
            (&before, &after)
        } else {
            (&after, &before)
        };
        let beyond_far_end = |bound: Option<&Vec<Value>>, toward: &[Key]| {
            bound.map(|v| at_or_past(toward, v, T::META.pk().name, key_value(&keys, T::META, v)))
        };
        let probe_ahead = if more {
            None
        } else {
            beyond_far_end(ahead.as_ref(), if page.forward { &keys } else { &reversed })
        };
        let probe_behind = beyond_far_end(
            behind.as_ref(),
            if page.forward { &reversed } else { &keys },
        );
        let further = match probe_ahead {
            Some(c) => self.any_row::<T>(&with(&filter, c)).await?,
            None => more,
        };
        let earlier = match probe_behind {
            Some(c) => self.any_row::<T>(&with(&filter, c)).await?,
            None => false,
        };
        let (has_next, has_previous) = if page.forward {
            (further, earlier)
        } else {
            (earlier, further)
        };
        let cursors = items
            .iter()
            .map(|m| cursor::encode(key, &query, &values_of(m, &keys)))
            .collect();
        Ok(Page {
            items,
            has_next,
            has_previous,
            cursors,
        })
    }
}

/// `filter` and `extra`.
fn with<T>(filter: &Filter<T>, extra: Condition) -> Condition {
    filter
        .clone()
        .and(Filter::from_condition(extra))
        .into_condition()
}

/// The key's value among a cursor's values.
fn key_value(keys: &[Key], meta: &coherent_core::EntityMeta, values: &[Value]) -> Value {
    keys.iter()
        .position(|k| k.index == meta.primary_key)
        .map(|i| values[i].clone())
        .expect("the primary key is always a sort key")
}

/// The rows that sort after the boundary in `toward`'s order, or are the boundary row
/// itself (by its key).
fn at_or_past(toward: &[Key], values: &[Value], pk: &'static str, key: Value) -> Condition {
    Condition::Or(vec![
        keyset::after(toward, values),
        Condition::Compare {
            column: pk,
            op: coherent_core::CmpOp::Eq,
            value: key,
        },
    ])
}

/// The values of `keys` in `m`'s row as read (its snapshot when the application changed it
/// since: the page's order is the database's, not the unflushed values').
fn values_of<T: Entity>(m: &Managed<T>, keys: &[Key]) -> Vec<Value> {
    let tracked = m.tracked();
    let entity = tracked.baseline().unwrap_or(&tracked.current);
    keys.iter()
        .map(|k| {
            let mut out = Vec::with_capacity(1);
            let mut set = ColumnSet::EMPTY;
            set.insert(k.index);
            entity.push_values(set, &mut out);
            out.pop().unwrap_or(Value::Null)
        })
        .collect()
}

/// What a token must have been made for: the entity, the sort keys and the filter.
fn fingerprint<T: Entity>(keys: &[Key], condition: &Condition) -> [u8; 16] {
    let keys: Vec<String> = keys
        .iter()
        .map(|k| format!("{}:{}:{:?}", k.column, k.descending, k.nulls))
        .collect();
    cursor::fingerprint(&[T::META.name, &keys.join(","), &format!("{condition:?}")])
}
