//! [`IntoLookup`]: what `find_one` accepts, a primary key or a filter.
//!
//! Integer keys accept `i16`, `i32` and `i64` and references to them (so
//! `find_one::<User>(1)` infers, and an `i32` key takes an `i32`); a value outside the key
//! type's range matches no row rather than wrapping. String keys take `String`, `&String` and
//! `&str`. [`IntoKey`] is the same for APIs that take a key only (`get_reference`).

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

/// Any integer width (and a reference to one) looks up an integer key: an `i32` key takes
/// its own type, and an `i64` that does not fit matches no row.
macro_rules! integer_lookups {
    ($($int:ty),*) => {$(
        impl<T: Entity> IntoLookup<T> for $int
        where
            T::Key: IntegerKey,
        {
            fn into_lookup(self) -> Lookup<T> {
                match T::Key::from_i64(i64::from(self)) {
                    Some(k) => Lookup::Key(k),
                    None => Lookup::Nothing(self.to_string()),
                }
            }
        }

        impl<T: Entity> IntoLookup<T> for &$int
        where
            T::Key: IntegerKey,
        {
            fn into_lookup(self) -> Lookup<T> {
                (*self).into_lookup()
            }
        }
    )*};
}
integer_lookups!(i16, i32, i64);

impl<T: Entity<Key = String>> IntoLookup<T> for String {
    fn into_lookup(self) -> Lookup<T> {
        Lookup::Key(self)
    }
}

impl<T: Entity<Key = String>> IntoLookup<T> for &String {
    fn into_lookup(self) -> Lookup<T> {
        Lookup::Key(self.clone())
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

#[cfg(feature = "uuid")]
impl<T: Entity<Key = uuid::Uuid>> IntoLookup<T> for &uuid::Uuid {
    fn into_lookup(self) -> Lookup<T> {
        Lookup::Key(*self)
    }
}

/// A key argument: the key type itself, or a reference to one (cloned).
///
/// ```
/// use coherent_orm::IntoKey;
/// fn key<K>(k: impl IntoKey<K>) -> K { k.into_key() }
/// let name = String::from("k");
/// assert_eq!(key::<String>(&name), "k");
/// assert_eq!(key::<i32>(7), 7);
/// ```
pub trait IntoKey<K> {
    /// The key.
    fn into_key(self) -> K;
}

impl<K> IntoKey<K> for K {
    fn into_key(self) -> K {
        self
    }
}

impl<K: Clone> IntoKey<K> for &K {
    fn into_key(self) -> K {
        self.clone()
    }
}
