//! [`IntoLookup`]: what `find_one` accepts, a primary key or a filter.
//!
//! Integer keys accept any `i64` (so `find_one::<User>(1)` infers); a value outside the key
//! type's range matches no row rather than wrapping.

use coherent_core::{Entity, Filter};

/// A resolved lookup.
pub enum Lookup<T: Entity> {
    /// By primary key: answered from the identity map when the entity is loaded.
    Key(T::Key),
    /// By filter: always queries.
    Filter(Filter<T>),
    /// A key no row can have (out of the key type's range).
    Nothing(String),
}

impl<T: Entity> Lookup<T> {
    /// A description for `NotFound` errors.
    pub fn describe(&self) -> String {
        match self {
            Lookup::Key(k) => format!("{k:?}"),
            Lookup::Filter(f) => format!("{f:?}"),
            Lookup::Nothing(s) => s.clone(),
        }
    }
}

/// A primary key or a filter for `T`.
pub trait IntoLookup<T: Entity> {
    /// Converts into a [`Lookup`].
    fn into_lookup(self) -> Lookup<T>;
}

impl<T: Entity> IntoLookup<T> for Lookup<T> {
    fn into_lookup(self) -> Lookup<T> {
        self
    }
}

impl<T: Entity> IntoLookup<T> for Filter<T> {
    fn into_lookup(self) -> Lookup<T> {
        Lookup::Filter(self)
    }
}

/// Integer key types.
pub trait IntegerKey: Sized {
    /// Narrows an `i64`.
    fn from_i64(v: i64) -> Option<Self>;
}
impl IntegerKey for i64 {
    fn from_i64(v: i64) -> Option<Self> {
        Some(v)
    }
}
impl IntegerKey for i32 {
    fn from_i64(v: i64) -> Option<Self> {
        i32::try_from(v).ok()
    }
}
impl IntegerKey for i16 {
    fn from_i64(v: i64) -> Option<Self> {
        i16::try_from(v).ok()
    }
}

impl<T: Entity> IntoLookup<T> for i64
where
    T::Key: IntegerKey,
{
    fn into_lookup(self) -> Lookup<T> {
        match T::Key::from_i64(self) {
            Some(k) => Lookup::Key(k),
            None => Lookup::Nothing(self.to_string()),
        }
    }
}

impl<T: Entity<Key = String>> IntoLookup<T> for String {
    fn into_lookup(self) -> Lookup<T> {
        Lookup::Key(self)
    }
}

impl<T: Entity<Key = String>> IntoLookup<T> for &str {
    fn into_lookup(self) -> Lookup<T> {
        Lookup::Key(self.to_owned())
    }
}

#[cfg(feature = "uuid")]
impl<T: Entity<Key = uuid::Uuid>> IntoLookup<T> for uuid::Uuid {
    fn into_lookup(self) -> Lookup<T> {
        Lookup::Key(self)
    }
}
