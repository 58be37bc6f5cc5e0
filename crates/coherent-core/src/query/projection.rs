//! Projections: what a select returns instead of entities. A [`SelectItem`] is one typed
//! value (a [`Column`], a [`PathColumn`] through to-one references, or an [`Aggregate`]); a
//! [`Projection`] is one item or a tuple of up to 12, whose `Row` is the tuple of their
//! types; [`GroupBy`] is what a `group_by` takes (columns and path columns, or tuples of
//! them, never an aggregate).
//!
//! Policy:
//! - **Typed at compile time.** Every item of a projection is of the same entity `E`, and a
//!   row decodes into the items' Rust types: `(Book::AUTHOR, count_all::<Book>(),
//!   Book::PAGES.max())` is a `(Ref<Author>, i64, Option<i32>)`. A path column through a
//!   nullable reference decodes as `Option<..>` ([`crate::query::relation_path::Reach`]).
//! - **Grouping is checked before SQL** ([`crate::query::select::SelectQuery::check`]): with a
//!   `group_by` or an aggregate, every plain column selected or sorted by must be grouped.

use crate::field_type::{FieldType, Nullable};
use crate::query::aggregate::Aggregate;
use crate::query::column::Column;
use crate::query::condition::SelectExpr;
use crate::query::order::Path;
use crate::query::relation_path::{PathColumn, Reach};
use crate::row::FromRow;

/// One typed value a select returns, computed from rows of `E`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a value a select of `{E}` can return",
    label = "not a column, path column or aggregate of `{E}`",
    note = "select items are columns (`Book::TITLE`), to-one path columns (`Book::AUTHOR.then(Author::NAME)`) and aggregates (`Book::PAGES.sum()`, `count_all::<Book>()`), all of the same entity"
)]
pub trait SelectItem<E> {
    /// What the item decodes to.
    type Output: FieldType;
    /// The untyped expression.
    fn select_expr(&self) -> SelectExpr;
}

impl<E, V: FieldType> SelectItem<E> for Column<E, V> {
    type Output = V;
    fn select_expr(&self) -> SelectExpr {
        SelectExpr::plain(Path::EMPTY, self.name)
    }
}

impl<E, V: Nullable, R: Reach> SelectItem<E> for PathColumn<E, V, R> {
    type Output = R::Output<V>;
    fn select_expr(&self) -> SelectExpr {
        SelectExpr::plain(self.path(), self.column())
    }
}

impl<E, T: FieldType> SelectItem<E> for Aggregate<E, T> {
    type Output = T;
    fn select_expr(&self) -> SelectExpr {
        self.expr()
    }
}

/// What a select of `E` returns per row: one [`SelectItem`] (its `Row` is the item's type) or
/// a tuple of 1 to 12 (its `Row` is the tuple of their types).
///
/// ```
/// use coherent_core::{Column, SelectExpr};
/// use coherent_core::query::aggregate::count_all;
/// use coherent_core::query::projection::Projection;
/// struct Book;
/// const TITLE: Column<Book, String> = Column::new("title", 1);
/// const PAGES: Column<Book, i32> = Column::new("pages", 2);
/// fn row_of<E, P: Projection<E>>(p: &P) -> (usize, &'static str) {
///     (p.select_exprs().len(), std::any::type_name::<P::Row>())
/// }
/// let (width, row) = row_of(&(TITLE, PAGES.max(), count_all::<Book>()));
/// assert_eq!(width, 3);
/// assert_eq!(row, std::any::type_name::<(String, Option<i32>, i64)>());
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a projection of `{E}`",
    label = "not a select item of `{E}` or a tuple of 1 to 12 of them",
    note = "select items are columns, to-one path columns and aggregates, all of the same entity"
)]
pub trait Projection<E> {
    /// One row of the result.
    type Row: FromRow;
    /// The items' expressions, in order.
    fn select_exprs(&self) -> Vec<SelectExpr>;
}

impl<E, V: FieldType> Projection<E> for Column<E, V> {
    type Row = V;
    fn select_exprs(&self) -> Vec<SelectExpr> {
        vec![SelectItem::<E>::select_expr(self)]
    }
}

impl<E, V: Nullable, R: Reach> Projection<E> for PathColumn<E, V, R> {
    type Row = R::Output<V>;
    fn select_exprs(&self) -> Vec<SelectExpr> {
        vec![SelectItem::<E>::select_expr(self)]
    }
}

impl<E, T: FieldType> Projection<E> for Aggregate<E, T> {
    type Row = T;
    fn select_exprs(&self) -> Vec<SelectExpr> {
        vec![self.expr()]
    }
}

/// What a `group_by` of a select of `E` takes: a column, a to-one path column, or a tuple of
/// 1 to 12 of them. An aggregate is not a grouping key, so it does not compile here.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot group a select of `{E}`",
    label = "not a column or path column of `{E}`, or a tuple of them",
    note = "a select groups by columns (`Book::AUTHOR`) and to-one path columns (`Book::AUTHOR.then(Author::COUNTRY)`), never by an aggregate"
)]
pub trait GroupBy<E> {
    /// The grouping keys' expressions, in order.
    fn group_exprs(&self, out: &mut Vec<SelectExpr>);
}

impl<E, V> GroupBy<E> for Column<E, V> {
    fn group_exprs(&self, out: &mut Vec<SelectExpr>) {
        out.push(SelectExpr::plain(Path::EMPTY, self.name));
    }
}

impl<E, V, R> GroupBy<E> for PathColumn<E, V, R> {
    fn group_exprs(&self, out: &mut Vec<SelectExpr>) {
        out.push(SelectExpr::plain(self.path(), self.column()));
    }
}

macro_rules! tuples {
    ($($t:ident . $i:tt),+) => {
        impl<E, $($t: SelectItem<E>),+> Projection<E> for ($($t,)+) {
            type Row = ($($t::Output,)+);
            fn select_exprs(&self) -> Vec<SelectExpr> {
                vec![$(self.$i.select_expr()),+]
            }
        }

        impl<E, $($t: GroupBy<E>),+> GroupBy<E> for ($($t,)+) {
            fn group_exprs(&self, out: &mut Vec<SelectExpr>) {
                $(self.$i.group_exprs(out);)+
            }
        }
    };
}
tuples!(A.0);
tuples!(A.0, B.1);
tuples!(A.0, B.1, C.2);
tuples!(A.0, B.1, C.2, D.3);
tuples!(A.0, B.1, C.2, D.3, F.4);
tuples!(A.0, B.1, C.2, D.3, F.4, G.5);
tuples!(A.0, B.1, C.2, D.3, F.4, G.5, H.6);
tuples!(A.0, B.1, C.2, D.3, F.4, G.5, H.6, I.7);
tuples!(A.0, B.1, C.2, D.3, F.4, G.5, H.6, I.7, J.8);
tuples!(A.0, B.1, C.2, D.3, F.4, G.5, H.6, I.7, J.8, K.9);
tuples!(A.0, B.1, C.2, D.3, F.4, G.5, H.6, I.7, J.8, K.9, L.10);
tuples!(A.0, B.1, C.2, D.3, F.4, G.5, H.6, I.7, J.8, K.9, L.10, M.11);
