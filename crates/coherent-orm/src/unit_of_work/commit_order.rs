//! [`CommitOrder`]: the order in which a flush writes entity types.
//!
//! Policy (Doctrine's and MikroORM's): inserts go in dependency order (a type after every
//! type it references), deletes in the reverse order. Dependencies are edges between entity
//! types; a cycle is broken at a nullable edge (the reference is inserted as NULL and set by
//! a later UPDATE). The edges are the foreign keys of `Ref<T>` fields (`Orm::builder`
//! collects them from the entities' metadata); ties keep the registration order.

use std::any::TypeId;

/// An edge: `from` must be inserted before `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dependency {
    /// The referenced type.
    pub from: TypeId,
    /// The referencing type.
    pub to: TypeId,
    /// Whether the reference may be NULL (a cycle may be broken here).
    pub nullable: bool,
}

/// A topological order of entity types.
#[derive(Clone, Debug, Default)]
pub struct CommitOrder {
    order: Vec<TypeId>,
}

impl CommitOrder {
    /// Sorts `types` (in registration order) so every non-nullable dependency is respected,
    /// and nullable ones where no cycle forbids it. Ties keep the registration order.
    ///
    /// ```
    /// use coherent_orm::commit_order::{CommitOrder, Dependency};
    /// use std::any::TypeId;
    /// let (a, b) = (TypeId::of::<u8>(), TypeId::of::<u16>());
    /// let order = CommitOrder::new(&[a, b], &[Dependency { from: b, to: a, nullable: false }]);
    /// assert_eq!(order.types(), &[b, a]);
    /// ```
    pub fn new(types: &[TypeId], dependencies: &[Dependency]) -> CommitOrder {
        let n = types.len();
        let index = |t: TypeId| types.iter().position(|x| *x == t);
        // deps[i]: (j, nullable) for every type j that type i references.
        let mut deps: Vec<Vec<(usize, bool)>> = vec![Vec::new(); n];
        for d in dependencies {
            if let (Some(from), Some(to)) = (index(d.from), index(d.to)) {
                deps[to].push((from, d.nullable));
            }
        }
        // hard[i][j]: type i transitively needs type j through non-nullable references.
        let mut hard = vec![vec![false; n]; n];
        for (i, ds) in deps.iter().enumerate() {
            for &(j, nullable) in ds {
                hard[i][j] |= !nullable;
            }
        }
        for k in 0..n {
            let via = hard[k].clone();
            for row in hard.iter_mut() {
                if row[k] {
                    for (cell, through) in row.iter_mut().zip(&via) {
                        *cell |= *through;
                    }
                }
            }
        }
        struct Walk<'a> {
            deps: &'a [Vec<(usize, bool)>],
            hard: &'a [Vec<bool>],
            state: Vec<u8>, // 0 new, 1 on the path, 2 done
            path: Vec<usize>,
            out: Vec<usize>,
        }
        impl Walk<'_> {
            fn visit(&mut self, i: usize) {
                self.state[i] = 1;
                self.path.push(i);
                // Non-nullable references first; a nullable one only if following it cannot
                // force a type on the current path to come later (that is the cycle to break).
                for pass_nullable in [false, true] {
                    for &(j, nullable) in &self.deps[i] {
                        if nullable != pass_nullable || self.state[j] != 0 {
                            continue;
                        }
                        if nullable && self.path.iter().any(|&p| self.hard[j][p]) {
                            continue;
                        }
                        self.visit(j);
                    }
                }
                self.path.pop();
                self.state[i] = 2;
                self.out.push(i);
            }
        }
        let mut walk = Walk {
            deps: &deps,
            hard: &hard,
            state: vec![0; n],
            path: Vec::new(),
            out: Vec::with_capacity(n),
        };
        for i in 0..n {
            if walk.state[i] == 0 {
                walk.visit(i);
            }
        }
        CommitOrder {
            order: walk.out.into_iter().map(|i| types[i]).collect(),
        }
    }

    /// Types in insert order.
    pub fn types(&self) -> &[TypeId] {
        &self.order
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_and_cycle() {
        let (a, b, c) = (TypeId::of::<u8>(), TypeId::of::<u16>(), TypeId::of::<u32>());
        // c -> b -> a: a references b, b references c.
        let deps = [
            Dependency {
                from: b,
                to: a,
                nullable: false,
            },
            Dependency {
                from: c,
                to: b,
                nullable: false,
            },
        ];
        assert_eq!(CommitOrder::new(&[a, b, c], &deps).types(), &[c, b, a]);
        // b needs a (not null); a references b through a nullable key: a goes first, its
        // reference to b is written by a later UPDATE.
        let deps = [
            Dependency {
                from: a,
                to: b,
                nullable: false,
            },
            Dependency {
                from: b,
                to: a,
                nullable: true,
            },
        ];
        assert_eq!(CommitOrder::new(&[a, b], &deps).types(), &[a, b]);
        assert_eq!(CommitOrder::new(&[b, a], &deps).types(), &[a, b]);
        // A longer mixed cycle: a -(nullable)-> b -(nullable)-> c -(hard)-> a.
        let deps = [
            Dependency {
                from: b,
                to: a,
                nullable: true,
            },
            Dependency {
                from: c,
                to: b,
                nullable: true,
            },
            Dependency {
                from: a,
                to: c,
                nullable: false,
            },
        ];
        let order = CommitOrder::new(&[a, b, c], &deps);
        let pos = |t| order.types().iter().position(|x| *x == t).unwrap();
        assert!(
            pos(a) < pos(c),
            "the non-nullable reference c -> a must hold: {order:?}"
        );
        assert_eq!(CommitOrder::new(&[a, b, c], &[]).types(), &[a, b, c]);
    }
}
