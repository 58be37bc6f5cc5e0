//! [`FindOptions`]: ordering and paging of `find_with`.

use coherent_core::Order;

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
}
