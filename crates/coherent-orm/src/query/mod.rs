//! Reading: `find` and friends, relation loading and pessimistic locks.
//!
//! Policy: every read flushes first as the flush mode asks, then merges its rows into the
//! identity map (a clean entity takes the row; a dirty one keeps the application's changes),
//! never rebasing a dirty versioned entity ([`reads`]). Relations load by path ([`populate`]),
//! select-in or joined ([`joined`]); [`locking`] takes row locks inside a transaction.
//! [`stream`] is the exception to merging: detached values, in bounded memory.
//! [`select`] reads typed values instead (projections, aggregates, `exists`). [`pages`]
//! pages: `find_and_count`, and keyset cursors whose tokens [`cursor`] signs.

pub(crate) mod cursor;
pub(crate) mod find_options;
pub(crate) mod joined;
pub(crate) mod load_context;
pub mod locking;
pub(crate) mod pages;
pub(crate) mod populate;
pub(crate) mod raw_entities;
pub(crate) mod reads;
pub(crate) mod references;
pub(crate) mod select;
pub(crate) mod stream;
