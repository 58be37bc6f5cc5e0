//! Transactions and the flush that runs inside them.
//!
//! Policy: a flush is one atomic batch ([`flush`]), in the EntityManager's open transaction
//! (a savepoint) or a transaction of its own; explicit transactions ([`control`]), the
//! closure form with propagation ([`transactional`], [`propagation`]) and work beside a
//! suspended transaction ([`suspended`]) all restore memory on rollback. Every statement runs
//! on the transaction's pinned connection or a pooled one ([`statements`]).

pub(crate) mod control;
pub(crate) mod flush;
pub(crate) mod links;
pub(crate) mod propagation;
pub(crate) mod statements;
pub(crate) mod suspended;
pub(crate) mod transactional;
