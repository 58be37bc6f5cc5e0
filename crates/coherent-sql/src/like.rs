//! LIKE on every backend, from the one escaped pattern convention of
//! [`coherent_core::query::pattern`].
//!
//! Policy:
//! - **Case-sensitive `like`** everywhere: `LIKE .. ESCAPE '!'` on PostgreSQL and on MySQL
//!   (whose text columns Coherent creates in a binary collation), `GLOB` on SQLite (whose
//!   LIKE ignores the case of ASCII letters).
//! - **`ilike`**: `ILIKE` on PostgreSQL, `LOWER(column) LIKE LOWER(pattern)` on MySQL (its
//!   `LOWER` folds all of Unicode), plain `LIKE` on SQLite (which folds ASCII letters only:
//!   SQLite without ICU knows no other case).
//! - The escape character is `!`, written the same in every dialect's string literal (a
//!   `\` would need doubling on MySQL but not elsewhere).

use crate::condition::Scope;
use crate::render::{RenderState, template};
use coherent_core::Dialect;
use coherent_core::query::pattern::{Piece, pieces};
use sea_query::Expr;

/// `column LIKE pattern` (or its dialect's equivalent), `pattern` in the escaped convention.
pub fn like(
    scope: Scope<'_>,
    column: &'static str,
    pattern: &str,
    ignore_case: bool,
    state: &mut RenderState,
) -> Expr {
    let col = scope.col(column);
    if scope.dialect == Dialect::Sqlite && !ignore_case {
        let v = Expr::val(state.slots.slot(glob(pattern).into()));
        return template(scope.dialect, "? GLOB ?", vec![col, v]);
    }
    let v = Expr::val(state.slots.slot(bang_escaped(pattern).into()));
    let sql = match (scope.dialect, ignore_case) {
        (Dialect::Postgres, true) => "? ILIKE ? ESCAPE '!'",
        (Dialect::MySql, true) => "LOWER(?) LIKE LOWER(?) ESCAPE '!'",
        _ => "? LIKE ? ESCAPE '!'",
    };
    template(scope.dialect, sql, vec![col, v])
}

/// The pattern with `!` as its escape character.
///
/// ```
/// assert_eq!(coherent_sql::like::bang_escaped(r"a\%b!\\%"), "a!%b!!\\%");
/// ```
pub fn bang_escaped(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 2);
    for p in pieces(pattern) {
        match p {
            Piece::AnyRun => out.push('%'),
            Piece::AnyOne => out.push('_'),
            Piece::Literal(c) => {
                if matches!(c, '%' | '_' | '!') {
                    out.push('!');
                }
                out.push(c);
            }
        }
    }
    out
}

/// The pattern as a SQLite GLOB pattern: `*` and `?` wildcards, literal `*`, `?` and `[` in
/// brackets.
///
/// ```
/// assert_eq!(coherent_sql::like::glob(r"a*\%_%"), "a[*]%?*");
/// ```
pub fn glob(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 2);
    for p in pieces(pattern) {
        match p {
            Piece::AnyRun => out.push('*'),
            Piece::AnyOne => out.push('?'),
            Piece::Literal(c @ ('*' | '?' | '[')) => {
                out.push('[');
                out.push(c);
                out.push(']');
            }
            Piece::Literal(c) => out.push(c),
        }
    }
    out
}
