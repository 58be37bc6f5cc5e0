//! Breaking reference cycles among managed instances when an identity map goes away.
//!
//! Policy: relation fields hold instances strongly (a collection its items, an item's
//! reference its owner, both sides of a many-to-many each other), so populated instances
//! form cycles that reference counting alone never frees. When an identity map is dropped,
//! cleared or replaced, it finds the instances nothing outside it holds, directly or
//! through the relations of an instance that is held, and detaches their relation fields
//! (collections become unloaded, references keep only their keys); the instances are then
//! freed with the map. An instance the application (or another identity map, such as a
//! fork's parent) still holds keeps its relations, and so does everything reachable from it.
//! This is trial deletion, as CPython's cycle collector does it: an instance's handles not
//! accounted for by this map and by the relation fields of its instances are outside ones.
//! A populated graph the application keeps beyond its EntityManager is a cycle of its own
//! once the map is gone: `Managed::release_relations` detaches it before it is let go.

use crate::identity_map::IdentityMap;
use std::collections::{HashMap, HashSet};

/// One instance as the collector sees it.
pub(crate) struct Node {
    /// Its address.
    pub addr: usize,
    /// All handles to it.
    pub handles: usize,
    /// The handles this map's store keeps.
    pub held: usize,
    /// The addresses its relation fields hold (a repeated one counts each time).
    pub edges: Vec<usize>,
}

/// Detaches the relation fields of the instances of `map` that only cycles keep alive.
pub(crate) fn collect(map: &IdentityMap) {
    let mut nodes = Vec::new();
    map.relation_graph(&mut nodes);
    if nodes.is_empty() {
        return;
    }
    let index: HashMap<usize, usize> = nodes.iter().enumerate().map(|(i, n)| (n.addr, i)).collect();
    let mut internal = vec![0usize; nodes.len()];
    for n in &nodes {
        for e in &n.edges {
            if let Some(&i) = index.get(e) {
                internal[i] += 1;
            }
        }
    }
    let mut live = vec![false; nodes.len()];
    let mut stack: Vec<usize> = (0..nodes.len())
        .filter(|&i| nodes[i].handles > nodes[i].held + internal[i])
        .collect();
    while let Some(i) = stack.pop() {
        if std::mem::replace(&mut live[i], true) {
            continue;
        }
        stack.extend(nodes[i].edges.iter().filter_map(|e| index.get(e).copied()));
    }
    let garbage: HashSet<usize> = nodes
        .iter()
        .zip(&live)
        .filter(|(_, live)| !**live)
        .map(|(n, _)| n.addr)
        .collect();
    if !garbage.is_empty() {
        map.detach_relations(&garbage);
    }
}
