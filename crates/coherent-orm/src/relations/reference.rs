//! [`Ref<T>`]: a many-to-one reference, the field type of a foreign key.
//!
//! Policy: a reference always holds the key of the referenced row, and, once loaded, the
//! managed instance. Reading an unloaded reference's entity is the typed error
//! [`Error::ReferenceNotLoaded`], never a hidden query: `em.load(&reference)` loads it (from
//! the identity map when it is there, without a query). The column is the key's column type,
//! with a foreign key to the referenced table; two references are the same value when their
//! keys are equal (change tracking compares keys).

use crate::entity::managed::Managed;
use coherent_core::field_type::{DecodeResult, NotNull};
use coherent_core::{ColumnType, Entity, Error, FieldType, PrimaryKey, Reference, Result, Value};

/// A reference to a `T`: its key, and the managed instance once loaded. A reference to a
/// new instance follows it: its key is the instance's key once the flush has assigned it.
///
/// ```
/// # use coherent_orm::doc_support::User;
/// use coherent_orm::Ref;
/// let r: Ref<User> = Ref::to_key(7);
/// assert_eq!(r.key(), 7);
/// assert!(!r.is_loaded());
/// assert!(r.get().is_err()); // never a hidden query
/// ```
pub struct Ref<T: Entity> {
    pub(crate) target: Target<T>,
}

/// What a reference holds.
pub(crate) enum Target<T: Entity> {
    /// The key only.
    Key(T::Key),
    /// The managed instance (its key is the instance's current key).
    Loaded(Managed<T>),
}

impl<T: Entity> Ref<T> {
    /// An unloaded reference to the row with `key`.
    pub fn to_key(key: T::Key) -> Self {
        Ref {
            target: Target::Key(key),
        }
    }

    /// A loaded reference to a managed instance. It does not read the instance, so it can
    /// be made while the instance is being written (`owner.write().items.add_new(Item {
    /// owner: Ref::to(&owner), .. })`).
    pub fn to(entity: &Managed<T>) -> Self {
        Ref {
            target: Target::Loaded(entity.clone()),
        }
    }

    /// The referenced key: the instance's current key when it is at hand (a new instance
    /// gets its generated key when flushed), else the key the reference was made with.
    pub fn key(&self) -> T::Key {
        match &self.target {
            Target::Loaded(m) => m.key(),
            Target::Key(key) => key.clone(),
        }
    }

    /// Whether the referenced instance is at hand.
    pub fn is_loaded(&self) -> bool {
        matches!(self.target, Target::Loaded(_))
    }

    /// The referenced instance, or [`Error::ReferenceNotLoaded`].
    pub fn get(&self) -> Result<&Managed<T>> {
        match &self.target {
            Target::Loaded(m) => Ok(m),
            Target::Key(key) => Err(Error::ReferenceNotLoaded {
                entity: T::META.name,
                key: format!("{key:?}"),
            }),
        }
    }
}

impl<T: Entity> Clone for Ref<T> {
    fn clone(&self) -> Self {
        Ref {
            target: match &self.target {
                Target::Key(k) => Target::Key(k.clone()),
                Target::Loaded(m) => Target::Loaded(m.clone()),
            },
        }
    }
}

impl<T: Entity> std::fmt::Debug for Ref<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ref<{}>({:?}", T::META.name, self.key())?;
        f.write_str(if self.is_loaded() { ", loaded)" } else { ")" })
    }
}

impl<T: Entity> PartialEq for Ref<T> {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

/// `Book::AUTHOR.is(..)` and `Book::AUTHOR.then(..)`: a reference is a to-one path.
impl<T: Entity> coherent_core::ToOne for Ref<T> {
    type Target = T;
    type Reach = coherent_core::query::relation_path::Required;
}

impl<T: Entity> FieldType for Ref<T> {
    const COLUMN_TYPE: ColumnType = <T::Key as FieldType>::COLUMN_TYPE;
    const REFERENCES: Option<Reference> = Some(Reference {
        meta: || T::META,
        type_id: std::any::TypeId::of::<T>,
    });

    fn to_value(&self) -> Value {
        self.key().to_value()
    }

    fn from_value(value: Value) -> DecodeResult<Self> {
        <T::Key as FieldType>::from_value(value).map(Ref::to_key)
    }

    fn same(&self, other: &Self) -> bool {
        self.key() == other.key()
    }

    fn relation_slot(&mut self) -> Option<&mut dyn coherent_core::RelationSlot> {
        Some(self)
    }

    /// A reference to the key's placeholder (never loaded, never written).
    fn placeholder() -> Option<Self> {
        <T::Key as FieldType>::placeholder().map(Ref::to_key)
    }
}

impl<T: Entity> NotNull for Ref<T> where T::Key: PrimaryKey {}

impl<T: Entity> coherent_core::RelationSlot for Ref<T> {
    fn targets(&self, out: &mut Vec<usize>) {
        if let Target::Loaded(m) = &self.target {
            out.push(m.addr());
        }
    }

    fn detach(&mut self) {
        if let Target::Loaded(m) = &self.target
            && let Some(key) = m.try_key()
        {
            self.target = Target::Key(key);
        }
    }

    fn holders(&self, f: &mut dyn FnMut(&dyn coherent_core::RelationHolder)) {
        if let Target::Loaded(m) = &self.target {
            f(m);
        }
    }
}
