//! Relation fields and the type-erased operations that walk them.
//!
//! Policy: [`reference::Ref`], [`collection::Collection`] and [`inverse::Inverse`] are
//! field types inside entities: they never query behind the caller's back. Relation work
//! that cannot name the related type (populate, cascades, merge-back) goes through each
//! registered type's [`entity_ops::EntityOps`]; loading goes through [`loads::Loads`] on a
//! [`loads::LoadContext`] that `query/` provides, so this folder knows the identity map but
//! no EntityManager.

pub(crate) mod collection;
pub(crate) mod entity_ops;
pub(crate) mod inverse;
pub(crate) mod loads;
pub(crate) mod reference;
