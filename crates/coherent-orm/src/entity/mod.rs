//! What one managed instance is: the handle every lookup of a row returns ([`managed`]),
//! how an application names one (keys and filters, [`lookup`]), and how a row becomes an
//! entity value ([`decode`], [`unassigned_keys`]).
//!
//! Policy: the lowest layer. It knows `coherent-core`'s `Entity` and nothing of identity
//! maps, relations, flushes or EntityManagers; every other folder builds on it.

pub(crate) mod decode;
pub(crate) mod lookup;
pub(crate) mod managed;
pub(crate) mod unassigned_keys;
