//! [`Condition`] trees to sea-query expressions, every value through a [`Slots`] table.

use crate::params::Slots;
use coherent_core::{CmpOp, Condition};
use sea_query::{Expr, ExprTrait};

/// Converts `condition` into a sea-query expression; `None` means "every row".
pub fn to_expr(condition: &Condition, slots: &mut Slots) -> Option<Expr> {
    Some(match condition {
        Condition::All => return None,
        Condition::Compare { column, op, value } => {
            let col = Expr::col(*column);
            let v = slots.slot(value.clone());
            match op {
                CmpOp::Eq => col.eq(v),
                CmpOp::Ne => col.ne(v),
                CmpOp::Lt => col.lt(v),
                CmpOp::Lte => col.lte(v),
                CmpOp::Gt => col.gt(v),
                CmpOp::Gte => col.gte(v),
                CmpOp::Like => col.binary(sea_query::BinOper::Like, v),
            }
        }
        Condition::In {
            column,
            values,
            negated,
        } => {
            if values.is_empty() {
                // `IN ()` is not valid SQL everywhere: an empty list matches nothing.
                return Some(Expr::cust(if *negated { "1 = 1" } else { "1 = 0" }));
            }
            let vals: Vec<_> = values.iter().map(|v| slots.slot(v.clone())).collect();
            if *negated {
                Expr::col(*column).is_not_in(vals)
            } else {
                Expr::col(*column).is_in(vals)
            }
        }
        Condition::IsNull { column, negated } => {
            if *negated {
                Expr::col(*column).is_not_null()
            } else {
                Expr::col(*column).is_null()
            }
        }
        Condition::And(parts) => fold(parts, slots, true)?,
        Condition::Or(parts) => fold(parts, slots, false)?,
        Condition::Not(inner) => match to_expr(inner, slots) {
            Some(e) => e.not(),
            None => Expr::cust("1 = 0"),
        },
    })
}

fn fold(parts: &[Condition], slots: &mut Slots, all: bool) -> Option<Expr> {
    let mut acc: Option<Expr> = None;
    for part in parts {
        let Some(e) = to_expr(part, slots) else {
            if all {
                continue; // `x AND true` is `x`
            }
            return None; // `x OR true` is every row
        };
        acc = Some(match acc {
            None => e,
            Some(a) if all => a.and(e),
            Some(a) => a.or(e),
        });
    }
    if acc.is_none() && !all {
        return Some(Expr::cust("1 = 0")); // an empty OR matches nothing
    }
    acc
}
