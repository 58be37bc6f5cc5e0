//! [`ColumnSet`]: a fixed-size bit set of column indexes.
//!
//! Change detection compares an entity with its snapshot field by field and reports the
//! changed columns as a `ColumnSet`, so nothing is boxed or allocated on the hot path. An
//! entity has at most [`ColumnSet::CAPACITY`] columns; the derive rejects larger ones.

/// A set of column indexes (positions in [`crate::EntityMeta::columns`]).
///
/// ```
/// use coherent_core::ColumnSet;
/// let mut set = ColumnSet::EMPTY;
/// set.insert(2);
/// set.insert(5);
/// assert_eq!(set.iter().collect::<Vec<_>>(), vec![2, 5]);
/// assert!(set.contains(5) && !set.contains(3));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug)]
pub struct ColumnSet(u128);

impl ColumnSet {
    /// The most columns an entity may have.
    pub const CAPACITY: usize = 128;
    /// No column.
    pub const EMPTY: ColumnSet = ColumnSet(0);

    /// The first `n` columns.
    pub const fn first(n: usize) -> ColumnSet {
        if n >= Self::CAPACITY {
            ColumnSet(u128::MAX)
        } else {
            ColumnSet((1u128 << n) - 1)
        }
    }

    /// Adds column `index`.
    pub fn insert(&mut self, index: usize) {
        self.0 |= 1u128 << index;
    }

    /// Removes column `index`.
    pub fn remove(&mut self, index: usize) {
        self.0 &= !(1u128 << index);
    }

    /// Whether column `index` is in the set.
    pub const fn contains(&self, index: usize) -> bool {
        self.0 & (1u128 << index) != 0
    }

    /// Whether the set is empty.
    pub const fn is_empty(&self) -> bool {
        self.0 == 0
    }

    /// Number of columns in the set.
    pub const fn len(&self) -> usize {
        self.0.count_ones() as usize
    }

    /// This set without the columns of `other`.
    pub const fn without(self, other: ColumnSet) -> ColumnSet {
        ColumnSet(self.0 & !other.0)
    }

    /// The columns in either set.
    ///
    /// ```
    /// use coherent_core::ColumnSet;
    /// assert_eq!(ColumnSet::single(1).union(ColumnSet::single(4)).len(), 2);
    /// ```
    pub const fn union(self, other: ColumnSet) -> ColumnSet {
        ColumnSet(self.0 | other.0)
    }

    /// The set holding only `index`.
    ///
    /// ```
    /// use coherent_core::ColumnSet;
    /// let a = ColumnSet::single(3);
    /// assert!(a.contains(3) && a.len() == 1);
    /// assert_eq!(a.intersection(ColumnSet::first(3)), ColumnSet::EMPTY);
    /// ```
    pub const fn single(index: usize) -> ColumnSet {
        ColumnSet(1 << index)
    }

    /// The columns in both sets.
    pub const fn intersection(self, other: ColumnSet) -> ColumnSet {
        ColumnSet(self.0 & other.0)
    }

    /// Column indexes in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        let bits = self.0;
        (0..Self::CAPACITY).filter(move |i| bits & (1u128 << i) != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_and_without() {
        let all = ColumnSet::first(4);
        assert_eq!(all.len(), 4);
        let mut pk = ColumnSet::EMPTY;
        pk.insert(0);
        assert_eq!(all.without(pk).iter().collect::<Vec<_>>(), vec![1, 2, 3]);
        assert_eq!(ColumnSet::first(128).len(), 128);
    }
}
