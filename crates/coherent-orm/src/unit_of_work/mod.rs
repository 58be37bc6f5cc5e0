//! The Unit of Work: what changed, and the statements that write it.
//!
//! Policy: [`plan::UnitOfWork`] owns the identity map and plans a flush as one ordered list
//! of statements ([`change_set`] per entity type, in [`commit_order`], relation changes
//! turned into writes by [`cascade`]); after the batch answers it applies the outcomes, and
//! a [`checkpoint`] restores memory when it fails. Nothing here runs SQL or knows an
//! EntityManager: `transaction/flush.rs` runs the plan.

pub(crate) mod cascade;
pub(crate) mod change_set;
pub(crate) mod checkpoint;
pub mod commit_order;
pub(crate) mod insert_plan;
pub(crate) mod model;
pub(crate) mod plan;
pub(crate) mod statement_cache;
pub(crate) mod stored_form;
pub(crate) mod update_plan;
pub(crate) mod written_rows;
