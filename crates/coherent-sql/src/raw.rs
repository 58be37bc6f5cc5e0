//! Raw SQL with `?` placeholders ([`coherent_core::query::raw`]) in each dialect's style.
//!
//! Policy: a raw fragment of a filter becomes part of the statement sea-query renders, its
//! parameters bound among the statement's others, in order; a raw statement
//! (`find_by_sql`) is rewritten directly. `??` is a literal `?`; text in quotes is never
//! touched.

use crate::render::RenderState;
use coherent_core::query::raw::{RawPiece, split};
use coherent_core::{Dialect, Value};
use sea_query::Expr;

/// A raw fragment (checked: one parameter per `?`) as an expression, in parentheses.
pub fn fragment(dialect: Dialect, sql: &str, params: &[Value], state: &mut RenderState) -> Expr {
    // sea-query reads the template: a literal `?` (or `$` on PostgreSQL, outside quotes)
    // is doubled so it is not taken for a placeholder.
    let mut template = String::with_capacity(sql.len() + 2);
    template.push('(');
    let mut n = 0;
    for piece in split(sql) {
        match piece {
            RawPiece::Param => {
                n += 1;
                if dialect == Dialect::Postgres {
                    template.push('$');
                    template.push_str(&n.to_string());
                } else {
                    template.push('?');
                }
            }
            RawPiece::Text(text) if dialect == Dialect::Postgres => {
                escape_outside_quotes(text, '$', &mut template)
            }
            RawPiece::Text(text) => escape_outside_quotes(text, '?', &mut template),
        }
    }
    template.push(')');
    let exprs = params
        .iter()
        .map(|v| Expr::val(state.slots.slot(v.clone())))
        .collect::<Vec<_>>();
    Expr::cust_with_exprs(template, exprs)
}

/// Appends `text`, doubling `special` outside quotes.
fn escape_outside_quotes(text: &str, special: char, out: &mut String) {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in text.chars() {
        match quote {
            Some(_) if escaped => escaped = false,
            Some(_) if c == '\\' => escaped = true,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if matches!(c, '\'' | '"' | '`') => quote = Some(c),
            None if c == '[' => quote = Some(']'),
            None if c == special => out.push(special),
            None => {}
        }
        out.push(c);
    }
}

/// A raw statement with its `?` placeholders in the dialect's style (`$1`, `$2`.. on
/// PostgreSQL), and the number of placeholders.
///
/// ```
/// use coherent_core::Dialect;
/// let (sql, n) = coherent_sql::raw::statement(Dialect::Postgres, "SELECT * FROM t WHERE a = ? AND b ?? 'x?'");
/// assert_eq!((sql.as_str(), n), ("SELECT * FROM t WHERE a = $1 AND b ? 'x?'", 1));
/// ```
pub fn statement(dialect: Dialect, sql: &str) -> (String, usize) {
    let mut out = String::with_capacity(sql.len() + 4);
    let mut n = 0;
    for piece in split(sql) {
        match piece {
            RawPiece::Param => {
                n += 1;
                if dialect == Dialect::Postgres {
                    out.push('$');
                    out.push_str(&n.to_string());
                } else {
                    out.push('?');
                }
            }
            RawPiece::Text(text) => out.push_str(text),
        }
    }
    (out, n)
}
