//! [`Model`]: the entity types an Orm knows, as the Unit of Work uses them.
//!
//! Policy: built once by `OrmBuilder::build` and never changed: every registered type's
//! metadata, its type-erased operations (relation work) and change-set constructor (flush
//! planning), and the commit order. A type the model lacks is [`Error::UnknownEntity`] where
//! the application names it, and [`Error::Config`] where a relation reaches it.

use crate::relations::entity_ops::EntityOps;
use crate::unit_of_work::change_set::{ChangeSet, TypeChangeSet};
use crate::unit_of_work::commit_order::CommitOrder;
use coherent_core::{Entity, EntityMeta, Error, Result};
use std::any::TypeId;
use std::collections::HashMap;
use std::sync::Arc;

/// A registered entity type.
#[derive(Clone)]
pub(crate) struct Registered {
    pub meta: &'static EntityMeta,
    /// Its typed operations, for relation work.
    pub ops: Arc<dyn EntityOps>,
    /// An empty change set of the type, for a flush's plan.
    pub change_set: fn() -> Box<dyn ChangeSet>,
}

impl Registered {
    /// The registration of `T`.
    pub fn of<T: Entity>() -> Registered {
        Registered {
            meta: T::META,
            ops: crate::relations::entity_ops::ops_of::<T>(),
            change_set: || Box::new(TypeChangeSet::<T>::default()),
        }
    }
}

/// The registered entity types and the order a flush writes them in.
pub(crate) struct Model {
    pub entities: HashMap<TypeId, Registered>,
    pub commit_order: CommitOrder,
    /// Whether some entity has a collection or a reference (the flush then runs
    /// [`crate::unit_of_work::cascade`]).
    pub has_relations: bool,
}

impl Model {
    /// `Ok` if `T` is registered, else [`Error::UnknownEntity`].
    pub fn ensure_registered<T: Entity>(&self) -> Result<()> {
        if self.entities.contains_key(&TypeId::of::<T>()) {
            Ok(())
        } else {
            Err(Error::UnknownEntity {
                entity: T::META.name,
            })
        }
    }

    /// The registration of the type `id`, or [`Error::Config`] naming the entity that needs
    /// it (a relation to an unregistered type).
    pub fn registered(&self, id: TypeId, needed_by: &str) -> Result<&Registered> {
        self.entities
            .get(&id)
            .ok_or_else(|| Model::unregistered(needed_by))
    }

    /// The error for a type the model lacks, which `needed_by` relates to.
    pub fn unregistered(needed_by: &str) -> Error {
        Error::Config(format!(
            "{needed_by} relates to an entity type that is not registered with the Orm"
        ))
    }

    /// Registered metadata in commit order.
    pub fn metas_in_order(&self) -> Vec<&'static EntityMeta> {
        self.commit_order
            .types()
            .iter()
            .filter_map(|t| self.entities.get(t).map(|r| r.meta))
            .collect()
    }
}
