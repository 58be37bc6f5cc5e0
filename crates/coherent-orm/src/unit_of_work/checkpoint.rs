//! [`Checkpoint`]: the Unit of Work as it was when a transaction or savepoint began, so a
//! rollback puts memory back in step with the database.
//!
//! Policy (where Coherent does better than MikroORM, reference 1.4 "What rollback does NOT
//! do"): a rollback restores every managed instance's state (values, snapshot, flags) and the
//! identity map (what was managed, pending, scheduled for removal) to the moment the scope
//! began. Work persisted inside the scope is dropped; instances that entered the identity map
//! inside it (persisted and flushed there, or loaded there) are detached. A later flush
//! therefore neither skips nor re-inserts anything.
//!
//! A checkpoint copies every managed instance: its cost is linear in the identity map's size
//! at the scope's start (an EntityManager per request keeps that small).

use crate::identity::identity_map::{IdentityMap, Restore};
use crate::unit_of_work::plan::UnitOfWork;
use std::collections::HashSet;

/// The state of a Unit of Work at a scope's start.
pub(crate) struct Checkpoint {
    map: IdentityMap,
    entities: Vec<Box<dyn Restore>>,
}

impl Checkpoint {
    /// Saves `uow`.
    pub fn take(uow: &UnitOfWork) -> Checkpoint {
        let mut entities = Vec::new();
        uow.map.save_entities(&mut entities);
        Checkpoint {
            map: uow.map.clone_shared(),
            entities,
        }
    }

    /// Puts `uow` back as it was when this checkpoint was taken.
    pub fn restore(self, uow: &mut UnitOfWork) {
        let mut kept = HashSet::new();
        self.map.addresses(&mut kept);
        // Instances that entered inside the scope are no longer managed.
        uow.map.detach_except(&kept);
        for e in self.entities {
            e.restore();
        }
        uow.map.replace_stores(self.map);
    }

    /// Like [`Checkpoint::restore`], after a COMMIT of unknown outcome: the instances the
    /// transaction inserted (those that entered the map inside it, and the pending inserts
    /// it flushed, pending again once restored) are also marked in doubt, so no later flush
    /// inserts them blindly a second time.
    pub fn restore_in_doubt(self, uow: &mut UnitOfWork) {
        let mut kept = HashSet::new();
        self.map.addresses(&mut kept);
        // Entered inside the scope (inserted or loaded there): detached below, but a handle
        // the application keeps must not be inserted again through another EntityManager.
        uow.map.mark_in_doubt(&kept, false);
        self.restore(uow);
        // Pending at the start: the COMMIT's flush inserted them.
        uow.map.mark_in_doubt(&kept, true);
    }
}
