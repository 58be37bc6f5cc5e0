//! [`Registration`]: entities known at compile time.
//!
//! Policy: every `#[derive(Entity)]` type submits one [`Registration`] to a link-time
//! collection ([`inventory`], which works in crates that forbid unsafe code; `linkme` does not:
//! its link sections are unsafe attributes), and [`crate::OrmBuilder::all_entities`]
//! registers every one of them. Registration stays explicit by default (`.entity::<T>()`): a
//! binary that links two applications' entities, or a test suite, would otherwise create
//! every table of every Orm. An entity used but not registered is
//! [`coherent_core::Error::UnknownEntity`], naming both remedies.

use crate::context::orm::OrmBuilder;
use coherent_core::Entity;

/// One entity type, as `#[derive(Entity)]` submits it.
pub struct Registration {
    name: &'static str,
    register: fn(OrmBuilder) -> OrmBuilder,
}

impl Registration {
    /// The registration of `T` (what the derive submits).
    pub const fn of<T: Entity>() -> Registration {
        Registration {
            name: T::META.name,
            register: OrmBuilder::entity::<T>,
        }
    }

    /// The entity's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    pub(crate) fn register(&self, builder: OrmBuilder) -> OrmBuilder {
        (self.register)(builder)
    }
}

inventory::collect!(Registration);

/// Every registration linked into this binary.
pub(crate) fn all() -> impl Iterator<Item = &'static Registration> {
    inventory::iter::<Registration>.into_iter()
}
