//! The operations a sequence is made of, and how proptest generates them.
//!
//! Operations name their targets by small numbers (an EntityManager slot, the n-th instance
//! it contains, the n-th row of a table) that the runner reads modulo what exists when the
//! operation runs, so every sequence is valid, and shrinking (dropping operations, lowering
//! numbers) keeps it so. An operation that does not apply in the current state (a
//! concurrent writer while a transaction is open, a fault without a server) is skipped.

use super::state::Kind;
use coherent::prelude::Propagation;
use proptest::prelude::*;

/// A field change.
#[derive(Clone, Debug)]
pub enum Field {
    Name(u8),
    Qty(Option<u8>),
}

/// Where the proxy cuts EntityManager 0's connection during a flush (server backends).
#[derive(Clone, Debug)]
pub enum CutAt {
    /// Before the batch's BEGIN reaches the server.
    BeforeBegin,
    /// After this many bytes of the flush (anywhere in BEGIN, the statements, COMMIT).
    Bytes(u16),
    /// Before COMMIT reaches the server.
    BeforeCommit,
    /// Right after COMMIT reached the server (its answer never arrives).
    AfterCommit,
    /// After COMMIT's answer reached the client.
    AfterCommitReply,
}

impl CutAt {
    /// The variant's name.
    pub fn name(&self) -> &'static str {
        match self {
            CutAt::BeforeBegin => "before BEGIN",
            CutAt::Bytes(_) => "after some bytes",
            CutAt::BeforeCommit => "before COMMIT",
            CutAt::AfterCommit => "after COMMIT",
            CutAt::AfterCommitReply => "after COMMIT's answer",
        }
    }
}

/// One step of a sequence.
#[derive(Clone, Debug)]
pub enum Op {
    /// `em.persist`: an `Item` with key `1 + key % 4`, or a `Doc` (generated key).
    Persist {
        em: u8,
        kind: Kind,
        key: u8,
        name: u8,
        qty: Option<u8>,
    },
    /// A write to the `pick`-th instance the EntityManager contains.
    Change {
        em: u8,
        pick: u8,
        field: Field,
    },
    /// `em.remove` of the `pick`-th instance it contains.
    Remove {
        em: u8,
        pick: u8,
    },
    Flush {
        em: u8,
    },
    /// `em.find(Filter::all())`.
    FindAll {
        em: u8,
        kind: Kind,
    },
    /// `em.find_one(key)`: an `Item` key `1 + key % 4`, or the `key`-th `Doc` row (one past
    /// the last: a key with no row).
    FindOne {
        em: u8,
        kind: Kind,
        key: u8,
    },
    /// `em.refresh` of the `pick`-th instance it contains.
    Refresh {
        em: u8,
        pick: u8,
    },
    /// Replaces EntityManager `slot` (1 or 2) with a new fork.
    Fork {
        slot: u8,
    },
    /// `begin` on EntityManager 0 (a savepoint inside its transaction).
    Begin,
    Commit,
    Rollback,
    /// `transactional_with` on EntityManager 0: the body runs on the scope's EntityManager
    /// and, with `fail`, the closure returns an error after it.
    Transactional {
        propagation: Propagation,
        body: Vec<Op>,
        fail: bool,
    },
    /// A concurrent writer's raw UPDATE of the `pick`-th row of a table (a `Doc`'s version
    /// goes up, as a well-behaved writer's does).
    RawUpdate {
        kind: Kind,
        pick: u8,
        name: u8,
    },
    /// A concurrent writer's raw DELETE.
    RawDelete {
        kind: Kind,
        pick: u8,
    },
    /// A concurrent writer's raw INSERT of an `Item` (if its key is free).
    RawInsert {
        key: u8,
        name: u8,
    },
    /// A flush of EntityManager 0 whose connection the proxy cuts.
    FaultFlush {
        cut: CutAt,
    },
    /// A commit of EntityManager 0's transaction whose connection the proxy cuts at COMMIT.
    FaultCommit {
        cut: CutAt,
    },
}

/// The names fields take (few, so writes collide and some change nothing).
pub const NAMES: [&str; 4] = ["ann", "bob", "cy", "dee"];

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![Just(Kind::Item), Just(Kind::Doc)]
}

fn em() -> impl Strategy<Value = u8> {
    prop_oneof![3 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)]
}

fn qty() -> impl Strategy<Value = Option<u8>> {
    proptest::option::of(0u8..3)
}

fn field() -> impl Strategy<Value = Field> {
    prop_oneof![(0u8..4).prop_map(Field::Name), qty().prop_map(Field::Qty)]
}

fn propagation() -> impl Strategy<Value = Propagation> {
    prop_oneof![
        Just(Propagation::Nested),
        Just(Propagation::Required),
        Just(Propagation::Supports),
        Just(Propagation::Mandatory),
        Just(Propagation::Never),
        Just(Propagation::RequiresNew),
        Just(Propagation::NotSupported),
    ]
}

/// The operations a transactional body may hold (on the scope's EntityManager).
fn body_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (kind(), 0u8..4, 0u8..4, qty()).prop_map(|(kind, key, name, qty)| Op::Persist {
            em: 0,
            kind,
            key,
            name,
            qty
        }),
        3 => (any::<u8>(), field()).prop_map(|(pick, field)| Op::Change { em: 0, pick, field }),
        1 => any::<u8>().prop_map(|pick| Op::Remove { em: 0, pick }),
        1 => Just(Op::Flush { em: 0 }),
        1 => kind().prop_map(|kind| Op::FindAll { em: 0, kind }),
        1 => (kind(), any::<u8>()).prop_map(|(kind, key)| Op::FindOne { em: 0, kind, key }),
    ]
}

fn cut() -> impl Strategy<Value = CutAt> {
    prop_oneof![
        1 => Just(CutAt::BeforeBegin),
        3 => (0u16..700).prop_map(CutAt::Bytes),
        1 => Just(CutAt::BeforeCommit),
        1 => Just(CutAt::AfterCommit),
        1 => Just(CutAt::AfterCommitReply),
    ]
}

fn commit_cut() -> impl Strategy<Value = CutAt> {
    prop_oneof![
        Just(CutAt::BeforeCommit),
        Just(CutAt::AfterCommit),
        Just(CutAt::AfterCommitReply),
    ]
}

/// One operation.
pub fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (em(), kind(), 0u8..4, 0u8..4, qty()).prop_map(|(em, kind, key, name, qty)| {
            Op::Persist { em, kind, key, name, qty }
        }),
        5 => (em(), any::<u8>(), field()).prop_map(|(em, pick, field)| Op::Change { em, pick, field }),
        2 => (em(), any::<u8>()).prop_map(|(em, pick)| Op::Remove { em, pick }),
        4 => em().prop_map(|em| Op::Flush { em }),
        2 => (em(), kind()).prop_map(|(em, kind)| Op::FindAll { em, kind }),
        2 => (em(), kind(), any::<u8>()).prop_map(|(em, kind, key)| Op::FindOne { em, kind, key }),
        1 => (em(), any::<u8>()).prop_map(|(em, pick)| Op::Refresh { em, pick }),
        1 => (1u8..3).prop_map(|slot| Op::Fork { slot }),
        2 => Just(Op::Begin),
        2 => Just(Op::Commit),
        1 => Just(Op::Rollback),
        3 => (propagation(), proptest::collection::vec(body_op(), 0..4), proptest::bool::weighted(0.3))
            .prop_map(|(propagation, body, fail)| Op::Transactional { propagation, body, fail }),
        2 => (kind(), any::<u8>(), 0u8..4).prop_map(|(kind, pick, name)| Op::RawUpdate { kind, pick, name }),
        2 => (kind(), any::<u8>()).prop_map(|(kind, pick)| Op::RawDelete { kind, pick }),
        1 => (0u8..4, 0u8..4).prop_map(|(key, name)| Op::RawInsert { key, name }),
        1 => cut().prop_map(|cut| Op::FaultFlush { cut }),
        1 => commit_cut().prop_map(|cut| Op::FaultCommit { cut }),
    ]
}

/// A sequence of up to `len` operations.
pub fn sequence(len: usize) -> impl Strategy<Value = Vec<Op>> {
    proptest::collection::vec(op(), 1..=len)
}
