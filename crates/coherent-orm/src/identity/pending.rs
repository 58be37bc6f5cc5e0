//! [`PendingInserts<T>`]: the instances of one type persisted but not inserted yet, in
//! persist order, with constant-time membership.
//!
//! Policy: every per-instance operation (`push`, `contains`, `remove`) costs O(1), so
//! persisting, checking or dropping n instances costs O(n), never O(n²): an import of a
//! million rows spends its time in the database, not in a scan of what it persisted
//! before. Order is kept for the flush (rows are inserted in persist order); an instance
//! that leaves before its flush leaves a hole that iteration skips, and the holes are
//! compacted away once they outnumber the instances.

use crate::entity::managed::Managed;
use crate::identity::type_store::KeyHasher;
use coherent_core::Entity;
use std::collections::HashMap;

/// Pending inserts of one entity type, in persist order.
pub(crate) struct PendingInserts<T: Entity> {
    /// In persist order; `None` where an instance left before its flush.
    slots: Vec<Option<Managed<T>>>,
    /// Each pending instance's address, with its position in `slots`.
    index: HashMap<usize, usize, KeyHasher>,
}

impl<T: Entity> Default for PendingInserts<T> {
    fn default() -> Self {
        PendingInserts {
            slots: Vec::new(),
            index: HashMap::default(),
        }
    }
}

impl<T: Entity> Clone for PendingInserts<T> {
    fn clone(&self) -> Self {
        PendingInserts {
            slots: self.slots.clone(),
            index: self.index.clone(),
        }
    }
}

impl<'a, T: Entity> IntoIterator for &'a PendingInserts<T> {
    type Item = &'a Managed<T>;
    type IntoIter = std::iter::Flatten<std::slice::Iter<'a, Option<Managed<T>>>>;

    fn into_iter(self) -> Self::IntoIter {
        self.slots.iter().flatten()
    }
}

impl<T: Entity> PendingInserts<T> {
    /// Number of pending instances.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Whether `m` is pending.
    pub fn contains(&self, m: &Managed<T>) -> bool {
        self.index.contains_key(&m.addr())
    }

    /// Whether the instance at `addr` is pending.
    pub fn contains_addr(&self, addr: usize) -> bool {
        self.index.contains_key(&addr)
    }

    /// Appends `m`; false (and nothing changes) if it is pending already.
    pub fn push(&mut self, m: Managed<T>) -> bool {
        let at = self.slots.len();
        match self.index.entry(m.addr()) {
            std::collections::hash_map::Entry::Occupied(_) => false,
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(at);
                self.slots.push(Some(m));
                true
            }
        }
    }

    /// Drops `m` from the pending instances; false if it was not pending.
    pub fn remove(&mut self, m: &Managed<T>) -> bool {
        let Some(at) = self.index.remove(&m.addr()) else {
            return false;
        };
        self.slots[at] = None;
        if self.index.is_empty() {
            self.slots.clear();
        } else if self.slots.len() > 2 * self.index.len() + 32 {
            self.compact();
        }
        true
    }

    /// The pending instances in persist order.
    pub fn iter(&self) -> impl Iterator<Item = &Managed<T>> {
        self.slots.iter().flatten()
    }

    /// Keeps only the instances for which `keep` is true.
    pub fn retain(&mut self, mut keep: impl FnMut(&Managed<T>) -> bool) {
        for slot in &mut self.slots {
            if slot.as_ref().is_some_and(|m| !keep(m)) {
                *slot = None;
            }
        }
        self.compact();
    }

    /// Removes every instance of `planned` (in persist order, as a flush planned them);
    /// returns the positions in `planned` of those that were no longer pending (the
    /// application removed them while the flush ran). The common case, `planned` being the
    /// first pending instances, costs no lookup per instance.
    pub fn remove_planned<'a>(
        &mut self,
        planned: impl ExactSizeIterator<Item = &'a Managed<T>> + Clone,
    ) -> Vec<usize>
    where
        T: 'a,
    {
        let n = planned.len();
        if n <= self.len()
            && planned
                .clone()
                .zip(self.iter())
                .all(|(p, q)| Managed::ptr_eq(p, q))
        {
            if n == self.len() {
                self.slots.clear();
                self.index.clear();
            } else {
                let mut left = n;
                for slot in &mut self.slots {
                    if left == 0 {
                        break;
                    }
                    if slot.take().is_some() {
                        left -= 1;
                    }
                }
                self.compact();
            }
            return Vec::new();
        }
        let mut gone = Vec::new();
        for (i, p) in planned.enumerate() {
            match self.index.remove(&p.addr()) {
                Some(at) => self.slots[at] = None,
                None => gone.push(i),
            }
        }
        self.compact();
        gone
    }

    /// Closes the holes and renumbers the index.
    fn compact(&mut self) {
        self.slots.retain(Option::is_some);
        self.index.clear();
        for (at, m) in self.slots.iter().enumerate() {
            let m = m.as_ref().expect("holes were just removed");
            self.index.insert(m.addr(), at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc_support::User;

    fn user(name: &str) -> Managed<User> {
        Managed::new(User::new(name, "x@example.com"), false)
    }

    fn names(p: &PendingInserts<User>) -> Vec<String> {
        p.iter().map(|m| m.read().name.clone()).collect()
    }

    #[test]
    fn keeps_persist_order_and_refuses_a_second_push() {
        let mut p = PendingInserts::default();
        let (a, b) = (user("a"), user("b"));
        assert!(p.push(a.clone()));
        assert!(p.push(b.clone()));
        assert!(!p.push(a.clone()));
        assert_eq!(names(&p), ["a", "b"]);
        assert!(p.contains(&a) && p.contains(&b) && !p.contains(&user("c")));
    }

    #[test]
    fn removal_leaves_order_and_compacts() {
        let mut p = PendingInserts::default();
        let all: Vec<_> = (0..200).map(|i| user(&i.to_string())).collect();
        for m in &all {
            p.push(m.clone());
        }
        for m in all
            .iter()
            .filter(|m| m.read().name.parse::<u32>().unwrap() % 3 != 0)
        {
            assert!(p.remove(m));
            assert!(!p.remove(m));
        }
        let expected: Vec<String> = (0..200)
            .filter(|i| i % 3 == 0)
            .map(|i: u32| i.to_string())
            .collect();
        assert_eq!(names(&p), expected);
        assert_eq!(p.len(), expected.len());
        assert!(p.slots.len() <= 2 * p.len() + 32, "holes are compacted");
        for m in all.iter().filter(|m| p.contains(m)) {
            assert!(Managed::ptr_eq(
                p.slots[p.index[&m.addr()]].as_ref().unwrap(),
                m
            ));
        }
    }

    #[test]
    fn remove_planned_takes_a_prefix_or_finds_each() {
        let mut p = PendingInserts::default();
        let all: Vec<_> = ["a", "b", "c", "d"].map(user).into();
        for m in &all {
            p.push(m.clone());
        }
        assert!(p.remove_planned(all[..2].iter()).is_empty());
        assert_eq!(names(&p), ["c", "d"]);
        p.remove(&all[2]);
        // "c" left while the flush ran; "d" is still pending, not first any more.
        let late = user("e");
        p.push(late);
        assert_eq!(p.remove_planned([&all[2], &all[3]].into_iter()), vec![0]);
        assert_eq!(names(&p), ["e"]);
    }
}
