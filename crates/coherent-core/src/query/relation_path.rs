//! Relation paths: filters and orders that reach related entities, typed at compile time.
//!
//! Policy:
//! - **To-one** (a many-to-one or owning one-to-one reference column, `Ref<T>`):
//!   `Book::AUTHOR.is(Author::NAME.eq("Ann"))` is a [`Condition::Related`], rendered as a
//!   join (an inner join where the condition must hold for the row to match, a left join
//!   under `OR`/`NOT`); a book without an author does not match `is(..)`.
//!   `Book::AUTHOR.then(Author::NAME)` is a [`PathColumn`] to order by.
//! - **To-many** (a collection field): the derive generates a [`Related`] constant per
//!   collection (`Author::BOOKS`, typed by the collection's item entity), whose `any`,
//!   `none` and `all` become `EXISTS` subqueries.
//! - Only relation fields have these methods: `is` exists on a column whose type is a
//!   reference ([`ToOne`]), and [`Related`] constants exist only for collections, so a path
//!   through a plain field does not compile.
//! - A [`PathColumn`] knows whether every row reaches a row at its end ([`Required`]: every
//!   reference on the way is a `Ref<T>`) or not ([`Optional`]: one is an `Option<Ref<T>>`);
//!   selected, an optional path's column decodes as `Option<..>` (it is NULL where the
//!   reference is).

use crate::entity::Entity;
use crate::field_type::{FieldType, NotNull, Nullable};
use crate::query::column::Column;
use crate::query::condition::{Condition, Quantifier};
use crate::query::filter::Filter;
use crate::query::order::{Order, Path};
use std::marker::PhantomData;

/// A field type that references one entity (the ORM's `Ref<T>`, and `Option` of it).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a reference to an entity",
    label = "not a relation",
    note = "relation paths go through `Ref<T>` fields (`#[many_to_one]`, `#[one_to_one]`) and collections"
)]
pub trait ToOne: FieldType {
    /// The referenced entity.
    type Target: Entity;
    /// Whether every row reaches a referenced row: [`Required`] for a reference, [`Optional`]
    /// for an `Option` of one.
    type Reach: Reach;
}

impl<T: ToOne + NotNull> ToOne for Option<T> {
    type Target = T::Target;
    type Reach = Optional;
}

/// Whether a relation path reaches a row from every row it starts at: [`Required`] or
/// [`Optional`].
pub trait Reach: 'static {
    /// This reach followed by a step of reach `R`: required only if both are.
    type Then<R: Reach>: Reach;
    /// The type a selected column of type `V` decodes to at the end of a path of this reach:
    /// `V` when required, `Option` of its base type when optional.
    type Output<V: Nullable>: FieldType;
}

/// Every row reaches a row: each reference on the path is a `Ref<T>` (a NOT NULL foreign key).
#[derive(Debug, Clone, Copy)]
pub struct Required;

/// Some rows may reach none: a reference on the path is an `Option<Ref<T>>`.
#[derive(Debug, Clone, Copy)]
pub struct Optional;

impl Reach for Required {
    type Then<R: Reach> = R;
    type Output<V: Nullable> = V::Output;
}

impl Reach for Optional {
    type Then<R: Reach> = Optional;
    type Output<V: Nullable> = Option<V::Base>;
}

impl<E, V: ToOne> Column<E, V> {
    /// The referenced entity matches `filter` (a row whose reference is NULL does not).
    ///
    /// ```
    /// # use coherent_core::{Column, Condition, Filter};
    /// # use coherent_core::query::relation_path::ToOne;
    /// # fn demo<Book, Author, R: ToOne<Target = Author>>(author: Column<Book, R>, name: Column<Author, String>) {
    /// let by_ann: Filter<Book> = author.is(name.eq("Ann"));
    /// assert!(matches!(by_ann.condition(), Condition::Related { .. }));
    /// # }
    /// ```
    pub fn is(self, filter: Filter<V::Target>) -> Filter<E> {
        Filter::from_condition(Condition::Related {
            column: self.name,
            condition: Box::new(filter.into_condition()),
        })
    }

    /// A column of the referenced entity, reached through this reference: to order by, or
    /// to select, group by and aggregate ([`crate::query::projection`]).
    pub const fn then<W>(self, column: Column<V::Target, W>) -> PathColumn<E, W, V::Reach> {
        PathColumn {
            path: Path::EMPTY.push(self.name),
            column: column.name,
            _types: PhantomData,
        }
    }
}

/// A column of an entity reached from `E` through to-one references
/// (`Book::AUTHOR.then(Author::NAME)`), of field type `V`; `R` says whether every row reaches
/// one ([`Required`]) or some may not ([`Optional`], a nullable reference on the way).
pub struct PathColumn<E, V, R = Required> {
    path: Path,
    column: &'static str,
    _types: PhantomData<Marker<E, V, R>>,
}

/// What a [`PathColumn`] is typed by, without owning any of it.
type Marker<E, V, R> = fn() -> (E, V, R);

impl<E, V, R> Clone for PathColumn<E, V, R> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<E, V, R> Copy for PathColumn<E, V, R> {}

impl<E, V, R> PathColumn<E, V, R> {
    /// The references followed.
    pub const fn path(&self) -> Path {
        self.path
    }

    /// The column name.
    pub const fn column(&self) -> &'static str {
        self.column
    }
}

impl<E: Entity, V, R> PathColumn<E, V, R> {
    /// Ascending order by this column.
    pub const fn asc(self) -> Order {
        Order::through(E::META.name, self.path, self.column)
    }

    /// Descending order by this column.
    pub const fn desc(self) -> Order {
        self.asc().desc()
    }
}

impl<E: Entity, V: ToOne, R: Reach> PathColumn<E, V, R> {
    /// A column of the entity this reference points at.
    pub const fn then<W>(
        self,
        column: Column<V::Target, W>,
    ) -> PathColumn<E, W, R::Then<V::Reach>> {
        PathColumn {
            path: self.path.push(self.column),
            column: column.name,
            _types: PhantomData,
        }
    }
}

/// A to-many relation field of `E` whose items are `T` (one-to-many, many-to-many, or the
/// inverse side of a one-to-one): `Author::BOOKS`, generated by the derive.
pub struct Related<E, T> {
    /// The relation field's name.
    pub field: &'static str,
    _types: PhantomData<fn() -> (E, T)>,
}

impl<E, T> Clone for Related<E, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<E, T> Copy for Related<E, T> {}

impl<E, T> Related<E, T> {
    /// The handle of relation field `field`.
    pub const fn new(field: &'static str) -> Self {
        Related {
            field,
            _types: PhantomData,
        }
    }

    fn quantified(self, quantifier: Quantifier, filter: Filter<T>) -> Filter<E> {
        Filter::from_condition(Condition::Collection {
            relation: self.field,
            quantifier,
            condition: Box::new(filter.into_condition()),
        })
    }

    /// At least one item matches `filter` (`EXISTS`).
    ///
    /// ```
    /// # use coherent_core::{Condition, Filter};
    /// # use coherent_core::query::relation_path::Related;
    /// # struct Author; struct Book;
    /// const BOOKS: Related<Author, Book> = Related::new("books");
    /// let with_books: Filter<Author> = BOOKS.any(Filter::all());
    /// assert!(matches!(with_books.condition(), Condition::Collection { relation: "books", .. }));
    /// ```
    pub fn any(self, filter: Filter<T>) -> Filter<E> {
        self.quantified(Quantifier::Any, filter)
    }

    /// No item matches `filter` (`NOT EXISTS`); `none(Filter::all())` is "has no items".
    pub fn none(self, filter: Filter<T>) -> Filter<E> {
        self.quantified(Quantifier::None, filter)
    }

    /// Every item matches `filter` (true for no items); an item for which the filter is
    /// unknown (it compares a NULL) does not match.
    pub fn all(self, filter: Filter<T>) -> Filter<E> {
        self.quantified(Quantifier::All, filter)
    }
}
