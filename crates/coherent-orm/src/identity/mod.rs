//! The identity map: one instance per row per EntityManager.
//!
//! Policy: the map is type-erased at the top (one typed store per entity type, found by
//! `TypeId`) and typed below ([`type_store`]); pending inserts have their own store until
//! the database assigns their key ([`pending`]); instances that only hold each other through
//! relations are freed by [`cycles`]. It imports only `entity/`: what a flush plans from the
//! map lives in `unit_of_work/`, which asks the map, never the reverse.

pub(crate) mod cycles;
pub(crate) mod identity_map;
pub(crate) mod pending;
pub(crate) mod type_store;
