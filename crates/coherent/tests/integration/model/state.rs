//! The model: the committed database, the open transaction's own writes, and what each
//! EntityManager's identity map must hold (which instances it manages, which are pending
//! inserts or scheduled removals, and every instance's current values and baseline).
//!
//! Everything here is plain data and pure functions of it; the runner asks the model what an
//! operation must do, runs it on Coherent and compares.

use std::collections::{BTreeMap, BTreeSet};

/// The two entity types of the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// `Item`: a client-assigned key from a small range, no version.
    Item,
    /// `Doc`: a generated key and a `#[version]`.
    Doc,
}

/// A row's identity.
pub type Key = (Kind, i64);

/// A row's values (the same columns for both kinds; `version` is 0 for an `Item`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub name: String,
    pub qty: Option<i32>,
    pub version: i64,
}

impl Row {
    /// Whether the fields the application writes are the same.
    pub fn same_fields(&self, other: &Row) -> bool {
        self.name == other.name && self.qty == other.qty
    }
}

/// Rows by key.
pub type Db = BTreeMap<Key, Row>;

/// A transaction's own writes: a row written (`Some`) or deleted (`None`).
pub type Overlay = BTreeMap<Key, Option<Row>>;

/// One instance (`Managed<T>`) as the model expects it.
#[derive(Clone, Debug)]
pub struct Inst {
    pub kind: Kind,
    /// 0 for a `Doc` not inserted yet.
    pub key: i64,
    pub cur: Row,
    /// The state as last read or flushed (what the next flush compares with and guards on).
    pub base: Row,
    /// The row exists as far as the instance knows (false for a pending insert and after
    /// its row was deleted or it was detached).
    pub loaded: bool,
}

impl Inst {
    pub fn id(&self) -> Key {
        (self.kind, self.key)
    }

    /// What `Managed::is_dirty` must say.
    pub fn dirty(&self) -> bool {
        self.loaded && !self.cur.same_fields(&self.base)
    }

    /// Merges a re-read row (`Tracked::merge`): a clean instance takes it; a dirty one takes
    /// the fields it has not changed, in its state and baseline, and keeps its version.
    pub fn merge(&mut self, fresh: &Row) {
        if !self.loaded {
            return;
        }
        if !self.dirty() {
            self.cur = fresh.clone();
            self.base = fresh.clone();
            return;
        }
        if self.cur.name == self.base.name {
            self.cur.name = fresh.name.clone();
            self.base.name = fresh.name.clone();
        }
        if self.cur.qty == self.base.qty {
            self.cur.qty = fresh.qty;
            self.base.qty = fresh.qty;
        }
    }
}

/// One EntityManager's identity map.
#[derive(Clone, Debug, Default)]
pub struct MapModel {
    /// Instances with a known key (a pending `Item` is here too).
    pub by_key: BTreeMap<Key, usize>,
    /// Pending inserts in persist order.
    pub pending: Vec<usize>,
    /// Keys scheduled for deletion.
    pub removed: BTreeSet<Key>,
}

impl MapModel {
    /// `em.contains(&m)`.
    pub fn contains(&self, insts: &[Inst], i: usize) -> bool {
        let inst = &insts[i];
        if !inst.loaded && self.pending.contains(&i) {
            return true;
        }
        self.by_key.get(&inst.id()) == Some(&i) && !self.removed.contains(&inst.id())
    }

    /// The instances it contains, in a fixed order (by key, then unkeyed pending inserts):
    /// what operations pick their target from.
    pub fn contained(&self, insts: &[Inst]) -> Vec<usize> {
        let mut out: Vec<usize> = self
            .by_key
            .iter()
            .filter(|(k, _)| !self.removed.contains(*k))
            .map(|(_, i)| *i)
            .collect();
        out.extend(self.pending.iter().filter(|i| insts[**i].key == 0));
        out.retain(|i| self.contains(insts, *i));
        out
    }

    /// `em.len()`.
    pub fn len(&self, insts: &[Inst]) -> usize {
        self.by_key.len() + self.pending.iter().filter(|i| insts[**i].key == 0).count()
    }

    /// Whether a query of `kind` flushes first (`FlushMode::Auto`).
    pub fn auto_flushes(&self, insts: &[Inst], kind: Kind) -> bool {
        self.pending.iter().any(|i| insts[*i].kind == kind)
            || self.removed.iter().any(|k| k.0 == kind)
    }

    /// Forgets an instance whose row vanished (`TypeStore::detach`).
    pub fn detach(&mut self, insts: &mut [Inst], i: usize) {
        let k = insts[i].id();
        if self.by_key.get(&k) == Some(&i) {
            self.by_key.remove(&k);
            self.removed.remove(&k);
        }
        self.pending.retain(|p| *p != i);
        insts[i].loaded = false;
    }
}

/// What a scope (a transaction or a savepoint) restores on rollback.
#[derive(Clone, Debug)]
pub struct Saved {
    pub map: MapModel,
    pub states: Vec<(usize, Inst)>,
    pub overlay: Overlay,
}

/// EntityManager 0's open transaction.
#[derive(Clone, Debug)]
pub struct Tx {
    pub scopes: Vec<Saved>,
    pub overlay: Overlay,
    pub rollback_only: bool,
    /// A flush wrote in it (on PostgreSQL it then took a transaction id).
    pub wrote: bool,
}

/// Why an operation fails, as far as the model tells failures apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrClass {
    /// A unique key violation (an `Item` key that is already a row).
    Unique,
    /// An UPDATE that missed its row: `OptimisticLock` (versioned) or `RowCountMismatch`.
    UpdateMiss,
    DuplicateIdentity,
    InDoubt,
    NotManaged,
    InvalidArgument,
    TransactionRequired,
    RequiredTransactionNotFound,
    TransactionNotAllowed,
    RequiresNewUnavailable,
    RollbackOnly,
    /// The transactional closure's own failure.
    Injected,
    Connection,
    CommitOutcomeUnknown,
    Other,
}

/// What a flush writes, and why it would fail.
#[derive(Debug, Default)]
pub struct FlushPlan {
    pub inserts: Vec<usize>,
    pub updates: Vec<usize>,
    pub deletes: Vec<Key>,
    pub failures: Vec<ErrClass>,
}

impl FlushPlan {
    pub fn is_empty(&self) -> bool {
        self.inserts.is_empty() && self.updates.is_empty() && self.deletes.is_empty()
    }
}

/// The whole model.
#[derive(Clone, Debug)]
pub struct Model {
    /// The committed database.
    pub db: Db,
    /// Every instance the case has seen, by id (parallel to the runner's handles).
    pub insts: Vec<Inst>,
    /// Each EntityManager's identity map (0 is the one with transactions; a transactional
    /// scope on an empty fork pushes a map of its own while it runs).
    pub ems: Vec<MapModel>,
    /// EntityManager 0's open transaction.
    pub tx: Option<Tx>,
}

impl Model {
    pub fn new(ems: usize) -> Model {
        Model {
            db: Db::new(),
            insts: Vec::new(),
            ems: vec![MapModel::default(); ems],
            tx: None,
        }
    }

    /// What EntityManager `em` reads: EntityManager 0 inside its transaction sees the
    /// committed rows with its own writes over them.
    pub fn view(&self, em: usize) -> Db {
        let mut db = self.db.clone();
        if let (0, Some(tx)) = (em, &self.tx) {
            for (k, v) in &tx.overlay {
                match v {
                    Some(row) => db.insert(*k, row.clone()),
                    None => db.remove(k),
                };
            }
        }
        db
    }

    fn write(&mut self, em: usize, key: Key, row: Option<Row>) {
        match (em, &mut self.tx) {
            (0, Some(tx)) => {
                tx.overlay.insert(key, row);
            }
            _ => match row {
                Some(row) => {
                    self.db.insert(key, row);
                }
                None => {
                    self.db.remove(&key);
                }
            },
        }
    }

    /// A new instance; returns its id.
    pub fn add_inst(&mut self, inst: Inst) -> usize {
        self.insts.push(inst);
        self.insts.len() - 1
    }

    /// `em.persist(..)`: an `Item` key the map knows is `DuplicateIdentity`.
    pub fn persist(
        &mut self,
        em: usize,
        kind: Kind,
        key: i64,
        row: Row,
    ) -> Result<usize, ErrClass> {
        let key = if kind == Kind::Doc { 0 } else { key };
        if key != 0 && self.ems[em].by_key.contains_key(&(kind, key)) {
            return Err(ErrClass::DuplicateIdentity);
        }
        let i = self.add_inst(Inst {
            kind,
            key,
            cur: row.clone(),
            base: row,
            loaded: false,
        });
        if key != 0 {
            self.ems[em].by_key.insert((kind, key), i);
        }
        self.ems[em].pending.push(i);
        Ok(i)
    }

    /// `em.remove(&m)`.
    pub fn remove(&mut self, em: usize, i: usize) -> Result<(), ErrClass> {
        let map = &mut self.ems[em];
        if let Some(at) = map.pending.iter().position(|p| *p == i) {
            map.pending.remove(at);
            let k = self.insts[i].id();
            if map.by_key.get(&k) == Some(&i) {
                map.by_key.remove(&k);
            }
            return Ok(());
        }
        if !map.contains(&self.insts, i) {
            return Err(ErrClass::NotManaged);
        }
        map.removed.insert(self.insts[i].id());
        Ok(())
    }

    /// What a flush of `em` writes and whether it fails.
    pub fn plan_flush(&self, em: usize) -> FlushPlan {
        let map = &self.ems[em];
        let view = self.view(em);
        let mut plan = FlushPlan::default();
        for &i in &map.pending {
            let inst = &self.insts[i];
            if inst.kind == Kind::Item && view.contains_key(&inst.id()) {
                plan.failures.push(ErrClass::Unique);
            }
            plan.inserts.push(i);
        }
        for (k, &i) in &map.by_key {
            let inst = &self.insts[i];
            if map.removed.contains(k) || !inst.dirty() {
                continue;
            }
            match view.get(k) {
                Some(row) if inst.kind == Kind::Doc && row.version != inst.base.version => {
                    plan.failures.push(ErrClass::UpdateMiss)
                }
                Some(_) => {}
                None => plan.failures.push(ErrClass::UpdateMiss),
            }
            plan.updates.push(i);
        }
        plan.deletes = map.removed.iter().copied().collect();
        plan
    }

    /// Applies a successful flush of `em` (`doc_keys`: the keys the database generated for
    /// the pending `Doc`s, in the plan's order).
    pub fn apply_flush(&mut self, em: usize, plan: &FlushPlan, doc_keys: &[i64]) {
        if let (0, Some(tx)) = (em, &mut self.tx) {
            tx.wrote |= !plan.is_empty();
        }
        let mut generated = doc_keys.iter();
        for &i in &plan.inserts {
            if self.insts[i].kind == Kind::Doc {
                self.insts[i].key = *generated.next().expect("a key per Doc");
                self.insts[i].cur.version = 1;
            }
            let inst = &mut self.insts[i];
            inst.base = inst.cur.clone();
            inst.loaded = true;
            let (k, row) = (inst.id(), inst.cur.clone());
            self.write(em, k, Some(row));
            self.ems[em].by_key.insert(k, i);
        }
        self.ems[em].pending.clear();
        let view = self.view(em);
        for &i in &plan.updates {
            let inst = &mut self.insts[i];
            let mut row = view[&inst.id()].clone();
            if inst.cur.name != inst.base.name {
                row.name = inst.cur.name.clone();
            }
            if inst.cur.qty != inst.base.qty {
                row.qty = inst.cur.qty;
            }
            if inst.kind == Kind::Doc {
                row.version = inst.base.version + 1;
                inst.cur.version = row.version;
            }
            inst.base = inst.cur.clone();
            let k = inst.id();
            self.write(em, k, Some(row));
        }
        for &k in &plan.deletes {
            self.write(em, k, None);
            if let Some(i) = self.ems[em].by_key.remove(&k) {
                self.insts[i].loaded = false;
            }
            self.ems[em].removed.remove(&k);
        }
    }

    /// Merges a row read by `em` into its map (`TypeStore::merge_row`); the instance that
    /// stands for it, or None if its key is scheduled for removal.
    pub fn merge_row(&mut self, em: usize, key: Key, row: &Row) -> Option<usize> {
        if self.ems[em].removed.contains(&key) {
            return None;
        }
        if let Some(&i) = self.ems[em].by_key.get(&key) {
            self.insts[i].merge(row);
            return Some(i);
        }
        let i = self.add_inst(Inst {
            kind: key.0,
            key: key.1,
            cur: row.clone(),
            base: row.clone(),
            loaded: true,
        });
        self.ems[em].by_key.insert(key, i);
        Some(i)
    }

    /// The state a scope saves when it begins.
    pub fn save(&self, em: usize) -> Saved {
        let map = self.ems[em].clone();
        let mut ids: BTreeSet<usize> = map.by_key.values().copied().collect();
        ids.extend(map.pending.iter().copied());
        Saved {
            states: ids
                .into_iter()
                .map(|i| (i, self.insts[i].clone()))
                .collect(),
            map,
            overlay: self
                .tx
                .as_ref()
                .map(|t| t.overlay.clone())
                .unwrap_or_default(),
        }
    }

    /// Puts EntityManager `em` back as `saved` (`Checkpoint::restore`): instances that
    /// entered since are detached.
    pub fn restore(&mut self, em: usize, saved: Saved) {
        let kept: BTreeSet<usize> = saved.states.iter().map(|(i, _)| *i).collect();
        let now: Vec<usize> = self.ems[em]
            .by_key
            .values()
            .chain(self.ems[em].pending.iter())
            .copied()
            .collect();
        for i in now {
            if !kept.contains(&i) {
                self.insts[i].loaded = false;
            }
        }
        for (i, state) in saved.states {
            self.insts[i] = state;
        }
        self.ems[em] = saved.map;
    }

    /// Merges the map of an empty fork that ran outside `into`'s open transaction
    /// (`RequiresNew`, `NotSupported`) into `into` (`IdentityMap::merge_from` with
    /// `ForkOrigin::Suspended`, for a fork that deleted nothing and wrote no row `into`
    /// holds: the bodies only read and insert `Doc`s). What the fork merely read is the
    /// committed state, older than the transaction's, so `into`'s instance of such a row
    /// stays as it is; rows new to `into` become managed there.
    pub fn merge_fork(&mut self, into: usize, fork: &MapModel) {
        for (k, &theirs) in &fork.by_key {
            match self.ems[into].by_key.get(k) {
                Some(_) => {}
                None => {
                    self.ems[into].by_key.insert(*k, theirs);
                }
            }
        }
        let insts = &self.insts;
        let map = &mut self.ems[into];
        map.pending.retain(|p| !insts[*p].loaded);
        let pending = map.pending.clone();
        map.by_key
            .retain(|_, i| insts[*i].loaded || pending.contains(i));
        let managed = map.by_key.clone();
        map.removed
            .retain(|k| fork.removed.contains(k) || managed.contains_key(k));
        map.removed.extend(fork.removed.iter().copied());
    }
}
