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

use crate::identity::identity_map::IdentityMap;
use std::collections::HashMap;

/// The instances of an identity map as the collector sees them: one node per store entry
/// (an instance a store keeps twice appears twice), their relation edges in one buffer.
#[derive(Default)]
pub(crate) struct Graph {
    /// Per entry: its address, all handles to it, and its edges' range in `edges` (empty for
    /// the second entry of an instance).
    pub nodes: Vec<(usize, usize, std::ops::Range<usize>)>,
    /// The addresses the relation fields hold (a repeated one counts each time).
    pub edges: Vec<usize>,
}

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Detaches the relation fields of the instances of `map` that only cycles keep alive.
pub(crate) fn collect(map: &IdentityMap) {
    let mut graph = Graph::default();
    map.relation_graph(&mut graph);
    if graph.nodes.is_empty() {
        return;
    }
    // One slot per instance: its handles, the handles this map and the relation fields of
    // its instances account for, and its edges.
    let mut index: FastMap<usize, usize> = FastMap::default();
    index.reserve(graph.nodes.len());
    let mut slots: Vec<(usize, usize, usize, std::ops::Range<usize>)> =
        Vec::with_capacity(graph.nodes.len());
    // The slot of each node, in node order.
    let mut slot_of = Vec::with_capacity(graph.nodes.len());
    for (addr, handles, edges) in &graph.nodes {
        let i = match index.get(addr) {
            Some(&i) => {
                slots[i].1 += 1;
                i
            }
            None => {
                index.insert(*addr, slots.len());
                slots.push((*handles, 1, 0, edges.clone()));
                slots.len() - 1
            }
        };
        slot_of.push(i);
    }
    for e in &graph.edges {
        if let Some(&i) = index.get(e) {
            slots[i].2 += 1;
        }
    }
    let mut live = vec![false; slots.len()];
    let mut stack: Vec<usize> = (0..slots.len())
        .filter(|&i| slots[i].0 > slots[i].1 + slots[i].2)
        .collect();
    while let Some(i) = stack.pop() {
        if std::mem::replace(&mut live[i], true) {
            continue;
        }
        stack.extend(
            graph.edges[slots[i].3.clone()]
                .iter()
                .filter_map(|e| index.get(e).copied()),
        );
    }
    // The stores list their instances in the same order again: one flag per node.
    let garbage: Vec<bool> = slot_of.iter().map(|&i| !live[i]).collect();
    if garbage.iter().any(|g| *g) {
        map.detach_relations(&mut garbage.into_iter());
    }
}
