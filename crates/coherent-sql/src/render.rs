//! [`RenderState`]: what one statement's rendering carries along: its parameter slots and
//! its table alias counter, and custom SQL templates in the dialect's placeholder style.

use crate::params::Slots;
use coherent_core::{Dialect, EntityMeta};
use sea_query::Expr;

/// The state of rendering one statement: parameters, and the next table alias number.
#[derive(Debug, Default)]
pub struct RenderState {
    /// The statement's parameters.
    pub slots: Slots,
    aliases: usize,
}

impl RenderState {
    /// A state whose next alias number is `first_alias` (the aliases before it are taken).
    pub fn new(first_alias: usize) -> RenderState {
        RenderState {
            slots: Slots::new(),
            aliases: first_alias,
        }
    }

    /// A fresh alias for a table of `meta` ([`alias`]).
    pub fn next_alias(&mut self, meta: &EntityMeta) -> String {
        self.next_table_alias(meta.table)
    }

    /// A fresh alias for table `table`.
    pub fn next_table_alias(&mut self, table: &str) -> String {
        let a = table_alias(table, self.aliases);
        self.aliases += 1;
        a
    }
}

/// A table's alias as MikroORM names them: the first letter of the table and the table's
/// position in the query, the root first (`"user" AS "u0"`).
///
/// ```
/// # use coherent_core::{EntityMeta};
/// # static META: EntityMeta = EntityMeta { name: "User", table: "user", columns: &[], primary_key: 0, relations: &[], indexes: &[], renamed_from: None };
/// assert_eq!(coherent_sql::render::alias(&META, 2), "u2");
/// ```
pub fn alias(meta: &EntityMeta, index: usize) -> String {
    table_alias(meta.table, index)
}

fn table_alias(table: &str, index: usize) -> String {
    let first = table
        .chars()
        .find(|c| c.is_ascii_alphabetic())
        .unwrap_or('t')
        .to_ascii_lowercase();
    format!("{first}{index}")
}

/// A custom SQL expression: `template`'s `?`s replaced by `exprs`, in order, in the
/// dialect's placeholder style (sea-query numbers them `$1`, `$2`.. on PostgreSQL). The
/// template must not hold any other `?` (or `$` on PostgreSQL).
pub fn template(dialect: Dialect, template: &str, exprs: Vec<Expr>) -> Expr {
    if dialect == Dialect::Postgres {
        let mut out = String::with_capacity(template.len() + 4);
        let mut n = 0;
        for c in template.chars() {
            if c == '?' {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            } else {
                out.push(c);
            }
        }
        Expr::cust_with_exprs(out, exprs)
    } else {
        Expr::cust_with_exprs(template.to_owned(), exprs)
    }
}
