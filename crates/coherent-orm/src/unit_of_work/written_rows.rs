//! [`WrittenRows`]: the rows an open transaction has written or locked, so that work it waits
//! for (a `RequiresNew` or `NotSupported` scope it suspended) is refused before it would wait
//! for one of them ([`crate::transaction::suspended`]).
//!
//! Policy:
//! - **What counts.** Every row a flush inside the transaction inserted, updated or deleted
//!   (by entity type and key, recorded when the flush's statements succeeded), and every row
//!   a pessimistic read inside it returned (`find_with` / `find_one_with` with a pessimistic
//!   [`coherent_core::LockMode`], [`crate::EntityManager::lock`]). Raw SQL is not seen: the
//!   lock-wait bound of a suspending scope covers it.
//! - **Scopes.** One layer per open scope (the transaction, each savepoint): a released
//!   savepoint's rows join the enclosing scope; a rolled-back savepoint's rows are forgotten
//!   where the backend releases their locks with it (PostgreSQL; SQLite has no row locks) and
//!   kept where it does not (MySQL/MariaDB: InnoDB keeps the locks a rolled-back savepoint
//!   took). For the same reason, on MySQL the statements a failed flush ran before its failure
//!   are recorded too.
//! - **Cost.** Only flushes and pessimistic reads inside a transaction record: a key clone and
//!   a hash insert per written row. A flush outside a transaction records nothing.

use crate::identity::type_store::KeyHasher;
use coherent_core::{Dialect, Entity};
use std::any::{Any, TypeId};
use std::collections::{HashMap, HashSet};

/// The keys of one entity type's written rows.
trait KeySet: Any + Send {
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
    /// Moves every key into `into`, a set of the same key type.
    fn move_into(self: Box<Self>, into: &mut dyn KeySet);
}

impl<K: coherent_core::PrimaryKey> KeySet for HashSet<K, KeyHasher> {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn move_into(self: Box<Self>, into: &mut dyn KeySet) {
        into.as_any_mut()
            .downcast_mut::<HashSet<K, KeyHasher>>()
            .expect("one entity type's keys are of one type")
            .extend(*self);
    }
}

/// One scope's rows, by entity type.
#[derive(Default)]
struct Layer {
    by_type: HashMap<TypeId, Box<dyn KeySet>, KeyHasher>,
}

/// The rows an open transaction wrote or locked, one layer per open scope.
pub(crate) struct WrittenRows {
    layers: Vec<Layer>,
}

impl WrittenRows {
    /// Nothing written yet, in the transaction's own scope.
    pub fn new() -> WrittenRows {
        WrittenRows {
            layers: vec![Layer::default()],
        }
    }

    /// A savepoint opened: what follows is its scope's.
    pub fn begin_scope(&mut self) {
        self.layers.push(Layer::default());
    }

    /// The innermost savepoint was released: its rows are the enclosing scope's.
    pub fn release_scope(&mut self) {
        if self.layers.len() < 2 {
            return;
        }
        let Some(released) = self.layers.pop() else {
            return;
        };
        let into = self.layers.last_mut().expect("checked above");
        for (ty, keys) in released.by_type {
            match into.by_type.get_mut(&ty) {
                Some(existing) => keys.move_into(existing.as_mut()),
                None => {
                    into.by_type.insert(ty, keys);
                }
            }
        }
    }

    /// The innermost savepoint was rolled back: its rows are forgotten if the backend released
    /// their locks with it, else they stay the enclosing scope's.
    pub fn rollback_scope(&mut self, dialect: Dialect) {
        if keeps_locks_of_rolled_back_savepoints(dialect) {
            self.release_scope();
        } else if self.layers.len() > 1 {
            self.layers.pop();
        }
    }

    /// Records rows of `T` as written in the innermost scope.
    pub fn extend<T: Entity>(&mut self, keys: impl IntoIterator<Item = T::Key>) {
        let layer = self.layers.last_mut().expect("a transaction has a scope");
        let set = layer
            .by_type
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Box::new(HashSet::<T::Key, KeyHasher>::default()));
        set.as_any_mut()
            .downcast_mut::<HashSet<T::Key, KeyHasher>>()
            .expect("filed under its entity type")
            .extend(keys);
    }

    /// Whether the row of `T` with `key` was written or locked in any open scope.
    pub fn contains<T: Entity>(&self, key: &T::Key) -> bool {
        let ty = TypeId::of::<T>();
        self.layers.iter().any(|layer| {
            layer.by_type.get(&ty).is_some_and(|set| {
                set.as_any()
                    .downcast_ref::<HashSet<T::Key, KeyHasher>>()
                    .is_some_and(|keys| keys.contains(key))
            })
        })
    }
}

/// Whether rolling back to a savepoint leaves the row locks taken after it in place (InnoDB
/// does; PostgreSQL releases them with the subtransaction). A failed flush is rolled back to
/// its savepoint too, so this also says whether its executed statements still hold locks.
pub(crate) fn keeps_locks_of_rolled_back_savepoints(dialect: Dialect) -> bool {
    dialect == Dialect::MySql
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc_support::User;

    #[test]
    fn scopes_release_into_the_enclosing_one_and_roll_back_per_backend() {
        let mut rows = WrittenRows::new();
        rows.extend::<User>([1]);
        rows.begin_scope();
        rows.extend::<User>([2]);
        rows.release_scope();
        assert!(rows.contains::<User>(&1) && rows.contains::<User>(&2));
        rows.begin_scope();
        rows.extend::<User>([3]);
        rows.rollback_scope(Dialect::Postgres);
        assert!(!rows.contains::<User>(&3), "PostgreSQL released its locks");
        rows.begin_scope();
        rows.extend::<User>([4]);
        rows.rollback_scope(Dialect::MySql);
        assert!(rows.contains::<User>(&4), "InnoDB keeps them");
        rows.release_scope(); // the transaction's own scope stays
        assert!(rows.contains::<User>(&1));
    }
}
