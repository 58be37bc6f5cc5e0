//! Runs a sequence on Coherent and on the model side by side: every operation's outcome must
//! be the model's, and after every step the database (read with raw SQL on a connection of
//! its own, and inside EntityManager 0's transaction on its pinned connection) and every
//! EntityManager's memory must be what the model says.

use super::ops::{CutAt, Field, NAMES, Op};
use super::state::{ErrClass, FlushPlan, Inst, Kind, MapModel, Model, Row, Tx};
use super::{Doc, Item};
use crate::common::Backend;
use crate::proxy::{Cut, Proxy};
use coherent::prelude::*;
use coherent::{Error, Result};

/// Outcomes seen, by operation (printed with `COHERENT_MODEL_STATS=1`).
pub static STATS: std::sync::Mutex<std::collections::BTreeMap<String, usize>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

/// Counts one outcome.
pub fn tally(what: String) {
    if std::env::var_os("COHERENT_MODEL_STATS").is_some() {
        *STATS.lock().unwrap().entry(what).or_default() += 1;
    }
}

/// A mismatch between Coherent and the model.
pub type Mismatch = String;

/// An operation's agreed outcome.
type Outcome = Result<(), ErrClass>;

macro_rules! ensure {
    ($cond:expr, $($arg:tt)*) => {
        if !$cond {
            return Err(format!($($arg)*));
        }
    };
}

/// Where a case runs: one backend, one schema for all its cases.
pub struct Env {
    pub backend: Backend,
    /// EntityManagers 1 and 2, the raw writer and the checker.
    pub orm: Orm,
    /// EntityManager 0's Orm: through the proxy on the servers.
    pub orm0: Orm,
    pub proxy: Option<Proxy>,
}

impl Env {
    pub async fn new(backend: Backend) -> Env {
        let orm = super::builder(backend.url())
            .build()
            .await
            .expect("connect");
        orm.schema().refresh().await.expect("schema");
        let (orm0, proxy) = if backend.is_server() {
            let proxy = Proxy::start(backend.url()).await;
            let url = proxy.url(backend.url());
            let sep = if url.contains('?') { '&' } else { '?' };
            let orm0 = super::builder(&format!("{url}{sep}acquire_timeout_ms=10000"))
                .build()
                .await
                .expect("connect through the proxy");
            (orm0, Some(proxy))
        } else {
            (orm.clone(), None)
        };
        Env {
            backend,
            orm,
            orm0,
            proxy,
        }
    }

    fn sql(&self, sql: &str) -> String {
        self.backend.sql(sql)
    }
}

/// Reads both tables through `em` (raw SQL).
async fn read_db(em: &EntityManager) -> Result<super::state::Db, Mismatch> {
    let mut db = super::state::Db::new();
    let err = |e: Error| format!("reading the database: {e}");
    for r in em
        .query("SELECT id, name, qty FROM model_items", vec![])
        .await
        .map_err(err)?
    {
        let row = Row {
            name: r.get("name").map_err(err)?,
            qty: r.get("qty").map_err(err)?,
            version: 0,
        };
        db.insert((Kind::Item, r.get("id").map_err(err)?), row);
    }
    for r in em
        .query("SELECT id, name, qty, version FROM model_docs", vec![])
        .await
        .map_err(err)?
    {
        let row = Row {
            name: r.get("name").map_err(err)?,
            qty: r.get("qty").map_err(err)?,
            version: r.get("version").map_err(err)?,
        };
        db.insert((Kind::Doc, r.get("id").map_err(err)?), row);
    }
    Ok(db)
}

/// The two modelled entity types, seen alike.
pub trait Modelled: Entity<Key = i64> + Clone {
    fn make(key: i64, row: &Row) -> Self;
    fn row(&self) -> Row;
    fn id(&self) -> i64;
    fn fields(&mut self) -> (&mut String, &mut Option<i32>);
    fn wrap(m: Managed<Self>) -> Handle;
}

impl Modelled for Item {
    fn make(key: i64, row: &Row) -> Self {
        Item {
            id: key,
            name: row.name.clone(),
            qty: row.qty,
        }
    }
    fn row(&self) -> Row {
        Row {
            name: self.name.clone(),
            qty: self.qty,
            version: 0,
        }
    }
    fn id(&self) -> i64 {
        self.id
    }
    fn fields(&mut self) -> (&mut String, &mut Option<i32>) {
        (&mut self.name, &mut self.qty)
    }
    fn wrap(m: Managed<Self>) -> Handle {
        Handle::Item(m)
    }
}

impl Modelled for Doc {
    fn make(_key: i64, row: &Row) -> Self {
        Doc {
            id: 0,
            name: row.name.clone(),
            qty: row.qty,
            version: 0,
        }
    }
    fn row(&self) -> Row {
        Row {
            name: self.name.clone(),
            qty: self.qty,
            version: self.version,
        }
    }
    fn id(&self) -> i64 {
        self.id
    }
    fn fields(&mut self) -> (&mut String, &mut Option<i32>) {
        (&mut self.name, &mut self.qty)
    }
    fn wrap(m: Managed<Self>) -> Handle {
        Handle::Doc(m)
    }
}

/// A managed instance of either type.
#[derive(Clone)]
pub enum Handle {
    Item(Managed<Item>),
    Doc(Managed<Doc>),
}

macro_rules! on {
    ($h:expr, $m:ident => $e:expr) => {
        match $h {
            Handle::Item($m) => $e,
            Handle::Doc($m) => $e,
        }
    };
}

impl Handle {
    fn key(&self) -> i64 {
        on!(self, m => m.read().id())
    }
    fn row(&self) -> Row {
        on!(self, m => m.read().row())
    }
    fn original(&self) -> Option<Row> {
        on!(self, m => m.original().map(|o| o.row()))
    }
    fn is_dirty(&self) -> bool {
        on!(self, m => m.is_dirty())
    }
    fn in_doubt(&self) -> bool {
        on!(self, m => m.is_in_doubt())
    }
    fn contains(&self, em: &EntityManager) -> bool {
        on!(self, m => em.contains(m).expect("contains"))
    }
    fn ptr_eq(&self, other: &Handle) -> bool {
        match (self, other) {
            (Handle::Item(a), Handle::Item(b)) => Managed::ptr_eq(a, b),
            (Handle::Doc(a), Handle::Doc(b)) => Managed::ptr_eq(a, b),
            _ => false,
        }
    }
    fn change(&self, field: &Field) {
        on!(self, m => {
            let mut e = m.write();
            let (name, qty) = e.fields();
            match field {
                Field::Name(n) => *name = NAMES[*n as usize % NAMES.len()].to_string(),
                Field::Qty(q) => *qty = q.map(i32::from),
            }
        })
    }
    fn remove(&self, em: &EntityManager) -> Result<()> {
        on!(self, m => em.remove(m))
    }
    async fn refresh(&self, em: &EntityManager) -> Result<bool> {
        match self {
            Handle::Item(m) => em.refresh(m).await,
            Handle::Doc(m) => em.refresh(m).await,
        }
    }
    fn resolve_in_doubt(&self, em: &EntityManager) -> Result<()> {
        on!(self, m => em.resolve_in_doubt(m))
    }
}

/// The model's class of a Coherent error.
pub fn classify(e: &Error) -> ErrClass {
    match e {
        Error::Constraint {
            kind: ConstraintKind::Unique,
            ..
        } => ErrClass::Unique,
        Error::OptimisticLock { .. } | Error::RowCountMismatch { .. } => ErrClass::UpdateMiss,
        Error::DuplicateIdentity { .. } => ErrClass::DuplicateIdentity,
        Error::InDoubt { .. } => ErrClass::InDoubt,
        Error::NotManaged { .. } => ErrClass::NotManaged,
        Error::InvalidArgument(_) => ErrClass::InvalidArgument,
        Error::TransactionRequired => ErrClass::TransactionRequired,
        Error::RequiredTransactionNotFound { .. } => ErrClass::RequiredTransactionNotFound,
        Error::TransactionNotAllowed { .. } => ErrClass::TransactionNotAllowed,
        Error::RequiresNewUnavailable { .. } => ErrClass::RequiresNewUnavailable,
        Error::RollbackOnly { .. } => ErrClass::RollbackOnly,
        Error::Connection { .. } => ErrClass::Connection,
        Error::CommitOutcomeUnknown { .. } => ErrClass::CommitOutcomeUnknown,
        _ => ErrClass::Other,
    }
}

/// A transactional closure's error.
#[derive(Debug)]
pub enum BodyError {
    /// Coherent's error (the scope's own: refused, or its commit failed).
    Coherent(Error),
    /// An operation of the body failed, as the model expected.
    Failed(ErrClass),
    /// The body asked to fail.
    Injected,
    /// Coherent and the model disagreed inside the body.
    Mismatch(Mismatch),
}

impl From<Error> for BodyError {
    fn from(e: Error) -> Self {
        BodyError::Coherent(e)
    }
}

impl BodyError {
    fn class(&self) -> ErrClass {
        match self {
            BodyError::Coherent(e) => classify(e),
            BodyError::Failed(c) => *c,
            BodyError::Injected => ErrClass::Injected,
            BodyError::Mismatch(_) => ErrClass::Other,
        }
    }
}

/// How a transactional scope runs, from its propagation and whether a transaction is open.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Scope {
    /// A new transaction on a fork sharing EntityManager 0's instances.
    NewTx,
    /// A savepoint of the open transaction.
    Savepoint,
    /// Joins the open transaction.
    Join,
    /// No transaction: a fork sharing the instances, flushed and merged back on success.
    NoTx,
    /// `RequiresNew` inside the transaction: an empty fork with a transaction of its own.
    EmptyForkTx,
    /// `NotSupported` inside the transaction: an empty fork outside it.
    EmptyForkNoTx,
    Refused(ErrClass),
}

/// One case: the model, Coherent's EntityManagers and the handles of every instance.
pub struct Case<'a> {
    env: &'a Env,
    model: Model,
    /// Parallel to `model.insts`.
    handles: Vec<Handle>,
    /// EntityManager 0 (on `orm0`), 1 and 2.
    ems: Vec<EntityManager>,
    /// Operations run so far (not skipped).
    pub ran: usize,
}

const EMS: usize = 3;
/// A `Doc` key no row has.
const MISSING_DOC: i64 = 1_000_000_000;

impl<'a> Case<'a> {
    pub fn new(env: &'a Env) -> Case<'a> {
        Case {
            env,
            model: Model::new(EMS),
            handles: Vec::new(),
            ems: vec![
                env.orm0.em().fork(),
                env.orm.em().fork(),
                env.orm.em().fork(),
            ],
            ran: 0,
        }
    }

    /// Ends an open transaction (after a mismatch too), so the next case finds no lock.
    pub async fn close(&mut self) {
        for _ in 0..8 {
            if !self.ems[0].in_transaction().await {
                break;
            }
            let _ = self.ems[0].rollback().await;
        }
    }

    fn pick(&self, em: usize, pick: u8) -> Option<usize> {
        let c = self.model.ems[em].contained(&self.model.insts);
        (!c.is_empty()).then(|| c[pick as usize % c.len()])
    }

    /// Compares a Coherent result with the model's expected outcome (`Ok` or one of the
    /// failure classes).
    fn agree(what: &str, expected: &[ErrClass], got: Option<&Error>) -> Result<Outcome, Mismatch> {
        tally(format!("{what}: {:?}", got.map(classify)));
        match got {
            None => {
                ensure!(
                    expected.is_empty(),
                    "{what}: succeeded, the model expected {expected:?}"
                );
                Ok(Ok(()))
            }
            Some(e) => {
                let c = classify(e);
                ensure!(
                    expected.contains(&c),
                    "{what}: failed with {e:?}, the model expected {}",
                    if expected.is_empty() {
                        "success".to_string()
                    } else {
                        format!("{expected:?}")
                    }
                );
                Ok(Err(c))
            }
        }
    }

    /// The keys Coherent generated for the plan's `Doc` inserts, checked.
    fn doc_keys(&self, em: usize, plan: &FlushPlan) -> Result<Vec<i64>, Mismatch> {
        let view = self.model.view(em);
        let mut keys = Vec::new();
        for &i in &plan.inserts {
            if self.model.insts[i].kind == Kind::Doc {
                let k = self.handles[i].key();
                ensure!(
                    k > 0 && !view.contains_key(&(Kind::Doc, k)) && !keys.contains(&k),
                    "inserted Doc got key {k}"
                );
                keys.push(k);
            }
        }
        Ok(keys)
    }

    /// Settles a flush of `em` that Coherent answered with `got`.
    fn settle_flush(
        &mut self,
        em: usize,
        plan: &FlushPlan,
        got: &Result<(), Error>,
    ) -> Result<Outcome, Mismatch> {
        let outcome = Self::agree("flush", &plan.failures, got.as_ref().err())?;
        if outcome.is_ok() {
            let keys = self.doc_keys(em, plan)?;
            self.model.apply_flush(em, plan, &keys);
        }
        Ok(outcome)
    }

    /// Registers the instances a read returned: `ids` (the model's, in its order) against
    /// Coherent's `found`.
    fn register(
        &mut self,
        first_new: usize,
        ids: &[usize],
        found: Vec<Handle>,
    ) -> Result<(), Mismatch> {
        ensure!(
            found.len() == ids.len(),
            "read returned {} instances, the model expected {}",
            found.len(),
            ids.len()
        );
        for &i in ids {
            let key = self.model.insts[i].key;
            let h = found
                .iter()
                .find(|h| h.key() == key)
                .ok_or_else(|| format!("read did not return key {key}"))?;
            if i < first_new {
                ensure!(
                    h.ptr_eq(&self.handles[i]),
                    "read returned another instance for key {key}"
                );
            } else {
                ensure!(i == self.handles.len(), "instance ids out of step");
                ensure!(
                    self.handles.iter().all(|o| !o.ptr_eq(h)),
                    "read returned a known instance for new key {key}"
                );
                self.handles.push(h.clone());
            }
        }
        Ok(())
    }

    /// The model's automatic flush before a query of `kind` (`FlushMode::Auto`), if any.
    fn auto_flush(&self, em: usize, kind: Kind) -> Option<FlushPlan> {
        self.model.ems[em]
            .auto_flushes(&self.model.insts, kind)
            .then(|| self.model.plan_flush(em))
    }

    /// Settles a query's automatic flush; `Some` if the query failed with it.
    fn settle_auto_flush<T>(
        &mut self,
        em: usize,
        plan: Option<FlushPlan>,
        got: &Result<T, Error>,
    ) -> Result<Option<Outcome>, Mismatch> {
        match plan {
            Some(plan) => {
                let outcome = Self::agree("flush", &plan.failures, got.as_ref().err())?;
                if outcome.is_ok() {
                    let keys = self.doc_keys(em, &plan)?;
                    self.model.apply_flush(em, &plan, &keys);
                }
                Ok(outcome.is_err().then_some(outcome))
            }
            None => {
                let _ = Self::agree("query", &[], got.as_ref().err())?;
                Ok(None)
            }
        }
    }

    /// Runs one operation that may also run inside a transactional body, on model map `em`
    /// and Coherent EntityManager `sut`. `Ok(Err(_))`: it failed, as the model expected.
    async fn simple(
        &mut self,
        em: usize,
        sut: &EntityManager,
        op: &Op,
    ) -> Result<Option<Outcome>, Mismatch> {
        let out = match op {
            Op::Persist {
                kind,
                key,
                name,
                qty,
                ..
            } => {
                let row = Row {
                    name: NAMES[*name as usize % NAMES.len()].into(),
                    qty: qty.map(i32::from),
                    version: 0,
                };
                let key = 1 + i64::from(*key % 4);
                let expected = self.model.persist(em, *kind, key, row.clone());
                let got = match kind {
                    Kind::Item => sut.persist(Item::make(key, &row)).map(Item::wrap),
                    Kind::Doc => sut.persist(Doc::make(key, &row)).map(Doc::wrap),
                };
                match (expected, got) {
                    (Ok(i), Ok(h)) => {
                        ensure!(i == self.handles.len(), "instance ids out of step");
                        self.handles.push(h);
                        Ok(())
                    }
                    (Err(c), Err(e)) if classify(&e) == c => Err(c),
                    (expected, got) => {
                        return Err(format!(
                            "persist: Coherent {:?}, model {expected:?}",
                            got.map(|_| ())
                        ));
                    }
                }
            }
            Op::Change { pick, field, .. } => {
                let Some(i) = self.pick(em, *pick) else {
                    return Ok(None);
                };
                self.handles[i].change(field);
                let cur = &mut self.model.insts[i].cur;
                match field {
                    Field::Name(n) => cur.name = NAMES[*n as usize % NAMES.len()].into(),
                    Field::Qty(q) => cur.qty = q.map(i32::from),
                }
                Ok(())
            }
            Op::Remove { pick, .. } => {
                let Some(i) = self.pick(em, *pick) else {
                    return Ok(None);
                };
                let expected = self.model.remove(em, i).err();
                let got = self.handles[i].remove(sut);
                Self::agree("remove", expected.as_slice(), got.as_ref().err())?
            }
            Op::Flush { .. } => {
                let plan = self.model.plan_flush(em);
                let got = sut.flush().await;
                self.settle_flush(em, &plan, &got)?
            }
            Op::FindAll { kind, .. } => {
                let plan = self.auto_flush(em, *kind);
                let got = match kind {
                    Kind::Item => sut
                        .find::<Item>(Filter::all())
                        .await
                        .map(|v| v.into_iter().map(Item::wrap).collect::<Vec<_>>()),
                    Kind::Doc => sut
                        .find::<Doc>(Filter::all())
                        .await
                        .map(|v| v.into_iter().map(Doc::wrap).collect()),
                };
                if let Some(failed) = self.settle_auto_flush(em, plan, &got)? {
                    return Ok(Some(failed));
                }
                let first_new = self.model.insts.len();
                let rows: Vec<_> = self
                    .model
                    .view(em)
                    .into_iter()
                    .filter(|(k, _)| k.0 == *kind)
                    .collect();
                let ids: Vec<usize> = rows
                    .iter()
                    .filter_map(|(k, r)| self.model.merge_row(em, *k, r))
                    .collect();
                self.register(first_new, &ids, got.expect("checked"))?;
                Ok(())
            }
            Op::FindOne { kind, key, .. } => {
                let key = match kind {
                    Kind::Item => 1 + i64::from(*key % 4),
                    Kind::Doc => {
                        let mut keys: Vec<i64> = self
                            .model
                            .view(em)
                            .keys()
                            .filter(|k| k.0 == Kind::Doc)
                            .map(|k| k.1)
                            .collect();
                        keys.extend(
                            self.model.ems[em]
                                .by_key
                                .keys()
                                .filter(|k| k.0 == Kind::Doc)
                                .map(|k| k.1),
                        );
                        keys.sort();
                        keys.dedup();
                        keys.get(*key as usize % (keys.len() + 1))
                            .copied()
                            .unwrap_or(MISSING_DOC)
                    }
                };
                let k = (*kind, key);
                let got = match kind {
                    Kind::Item => sut.find_one::<Item>(key).await.map(|o| o.map(Item::wrap)),
                    Kind::Doc => sut.find_one::<Doc>(key).await.map(|o| o.map(Doc::wrap)),
                };
                let map = &self.model.ems[em];
                let expected: Option<usize> = if map.removed.contains(&k) {
                    None
                } else if let Some(&i) = map.by_key.get(&k) {
                    Some(i)
                } else {
                    let plan = self.auto_flush(em, *kind);
                    if let Some(failed) = self.settle_auto_flush(em, plan, &got)? {
                        return Ok(Some(failed));
                    }
                    match self.model.ems[em].by_key.get(&k) {
                        Some(&i) => Some(i),
                        None => match self.model.view(em).get(&k).cloned() {
                            Some(row) => self.model.merge_row(em, k, &row),
                            None => None,
                        },
                    }
                };
                let got = got.map_err(|e| format!("find_one {k:?}: {e:?}"))?;
                match (expected, got) {
                    (None, None) => {}
                    (Some(i), Some(h)) => {
                        if i < self.handles.len() {
                            ensure!(
                                h.ptr_eq(&self.handles[i]),
                                "find_one {k:?}: another instance"
                            );
                        } else {
                            self.register(i, &[i], vec![h])?;
                        }
                    }
                    (e, g) => {
                        return Err(format!(
                            "find_one {k:?}: Coherent found {}, the model {}",
                            g.is_some(),
                            e.is_some()
                        ));
                    }
                }
                Ok(())
            }
            Op::Refresh { pick, .. } => {
                let Some(i) = self.pick(em, *pick) else {
                    return Ok(None);
                };
                let got = self.handles[i].refresh(sut).await;
                let inst = &self.model.insts[i];
                if !inst.loaded {
                    return Self::agree(
                        "refresh",
                        &[ErrClass::InvalidArgument],
                        got.as_ref().err(),
                    )
                    .map(Some);
                }
                let row = self.model.view(em).get(&inst.id()).cloned();
                let got = got.map_err(|e| format!("refresh: {e:?}"))?;
                ensure!(
                    got == row.is_some(),
                    "refresh: Coherent says the row is there: {got}"
                );
                match row {
                    Some(row) => {
                        let inst = &mut self.model.insts[i];
                        inst.cur = row.clone();
                        inst.base = row;
                    }
                    None => self.model.ems[em].detach(&mut self.model.insts, i),
                }
                Ok(())
            }
            _ => unreachable!("not a simple operation: {op:?}"),
        };
        Ok(Some(out))
    }

    /// Runs one operation of the sequence; false if it does not apply here (skipped).
    pub async fn apply(&mut self, op: &Op) -> Result<bool, Mismatch> {
        let tx_open = self.model.tx.is_some();
        let em = match op {
            Op::Persist { em, .. }
            | Op::Change { em, .. }
            | Op::Remove { em, .. }
            | Op::Flush { em }
            | Op::FindAll { em, .. }
            | Op::FindOne { em, .. }
            | Op::Refresh { em, .. } => Some(*em as usize % EMS),
            _ => None,
        };
        // Nothing runs beside EntityManager 0's open transaction: on SQLite it holds the one
        // write lock, on the servers a writer could wait for its row locks.
        let concurrent = em.is_some_and(|e| e != 0)
            || matches!(
                op,
                Op::Fork { .. }
                    | Op::RawUpdate { .. }
                    | Op::RawDelete { .. }
                    | Op::RawInsert { .. }
            );
        if concurrent && tx_open {
            return Ok(false);
        }
        tally(format!(
            "op {}",
            format!("{op:?}")
                .split([' ', '('])
                .next()
                .unwrap_or_default()
        ));
        if let Some(em) = em {
            let sut = self.ems[em].clone();
            let ran = self.simple(em, &sut, op).await?;
            return Ok(ran.is_some());
        }
        match op {
            Op::Fork { slot } => {
                let slot = 1 + *slot as usize % (EMS - 1);
                self.ems[slot] = self.ems[0].fork();
                self.model.ems[slot] = MapModel::default();
            }
            Op::Begin => self.begin().await?,
            Op::Commit => self.commit(None).await?,
            Op::Rollback => self.rollback().await?,
            Op::Transactional {
                propagation,
                body,
                fail,
            } => self.transactional(*propagation, body, *fail).await?,
            Op::RawUpdate { .. } | Op::RawDelete { .. } | Op::RawInsert { .. } => {
                if !self.raw(op).await? {
                    return Ok(false);
                }
            }
            Op::FaultFlush { cut } => {
                if self.env.proxy.is_none() || tx_open {
                    return Ok(false);
                }
                self.fault_flush(cut).await?;
            }
            Op::FaultCommit { cut } => {
                let depth_one = self
                    .model
                    .tx
                    .as_ref()
                    .is_some_and(|t| t.scopes.len() == 1 && !t.rollback_only);
                if self.env.proxy.is_none() || !depth_one {
                    return Ok(false);
                }
                self.commit(Some(cut)).await?;
            }
            _ => unreachable!(),
        }
        Ok(true)
    }

    async fn begin(&mut self) -> Result<(), Mismatch> {
        let options = TxOptions {
            isolation: self
                .env
                .backend
                .is_server()
                .then_some(IsolationLevel::ReadCommitted),
            ..Default::default()
        };
        self.ems[0]
            .begin_with(&options)
            .await
            .map_err(|e| format!("begin: {e:?}"))?;
        let saved = self.model.save(0);
        match &mut self.model.tx {
            Some(tx) => tx.scopes.push(saved),
            None => {
                self.model.tx = Some(Tx {
                    scopes: vec![saved],
                    overlay: Default::default(),
                    rollback_only: false,
                    wrote: false,
                })
            }
        }
        Ok(())
    }

    /// Rolls the whole transaction back in the model.
    fn model_roll_back_all(&mut self) {
        let tx = self.model.tx.take().expect("a transaction");
        let start = tx.scopes.into_iter().next().expect("its scope");
        self.model.restore(0, start);
    }

    /// `commit`, or with `cut`, a commit whose connection the proxy cuts at COMMIT.
    async fn commit(&mut self, cut: Option<&CutAt>) -> Result<(), Mismatch> {
        let Some(tx) = &self.model.tx else {
            let got = self.ems[0].commit().await;
            let _ = Self::agree(
                "commit",
                &[ErrClass::TransactionRequired],
                got.as_ref().err(),
            )?;
            return Ok(());
        };
        let depth = tx.scopes.len();
        if depth == 1 && tx.rollback_only {
            let got = self.ems[0].commit().await;
            let _ = Self::agree("commit", &[ErrClass::RollbackOnly], got.as_ref().err())?;
            self.model_roll_back_all();
            return Ok(());
        }
        let plan = self.model.plan_flush(0);
        if let Some(cut) = cut {
            self.arm(cut);
        }
        let got = self.ems[0].commit().await;
        if let Some(cut) = cut {
            self.disarm();
            tally(format!(
                "commit cut {}: {:?}",
                cut.name(),
                got.as_ref().err().map(classify)
            ));
        }
        if let (Some(_), Err(e)) = (cut, &got) {
            match classify(e) {
                c if plan.failures.contains(&c) => return Ok(()),
                ErrClass::Connection => {
                    self.model_roll_back_all();
                    return Ok(());
                }
                ErrClass::CommitOutcomeUnknown => {
                    // PostgreSQL asks the server about the transaction id its first writing
                    // flush took; with none taken nobody can tell (nor does it matter).
                    let wrote = self.model.tx.as_ref().is_some_and(|t| t.wrote) || !plan.is_empty();
                    ensure!(
                        self.env.backend.is_mysql() || !wrote,
                        "commit: {e:?} (PostgreSQL resolves the outcome of a transaction that wrote)"
                    );
                    return self.commit_unknown(&plan).await;
                }
                _ => {}
            }
        }
        if Self::agree("commit", &plan.failures, got.as_ref().err())?.is_err() {
            return Ok(());
        }
        let keys = self.doc_keys(0, &plan)?;
        self.model.apply_flush(0, &plan, &keys);
        if depth > 1 {
            self.model.tx.as_mut().expect("open").scopes.pop();
        } else {
            self.model.db = self.model.view(0);
            self.model.tx = None;
        }
        Ok(())
    }

    /// A COMMIT of unknown outcome (MariaDB): memory is restored and what the transaction
    /// inserted is in doubt; the application looks at the database and resolves it.
    async fn commit_unknown(&mut self, plan: &FlushPlan) -> Result<(), Mismatch> {
        let actual = self.settled_db().await?;
        let mut after = self.model.clone();
        let keys: Vec<i64> = actual
            .keys()
            .filter(|k| k.0 == Kind::Doc && !after.view(0).contains_key(k))
            .map(|k| k.1)
            .collect();
        let docs = plan
            .inserts
            .iter()
            .filter(|i| self.model.insts[**i].kind == Kind::Doc)
            .count();
        if keys.len() == docs {
            after.apply_flush(0, plan, &keys);
        }
        let committed_db = after.view(0);
        let committed = actual == committed_db && actual != self.model.db;
        ensure!(
            committed || actual == self.model.db,
            "after an unknown COMMIT the database is neither before nor after: {actual:?}"
        );
        self.model_roll_back_all();
        if committed {
            self.model.db = committed_db;
            self.clear_em0();
        } else {
            self.resolve_all();
        }
        Ok(())
    }

    /// The committed database, once the server finished with a cut connection (it may still
    /// be applying what reached it).
    async fn settled_db(&self) -> Result<super::state::Db, Mismatch> {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        read_db(self.env.orm.em()).await
    }

    /// `em.clear()` on EntityManager 0.
    fn clear_em0(&mut self) {
        self.ems[0].clear().expect("clear");
        let now: Vec<usize> = self.model.ems[0]
            .by_key
            .values()
            .chain(self.model.ems[0].pending.iter())
            .copied()
            .collect();
        for i in now {
            self.model.insts[i].loaded = false;
        }
        self.model.ems[0] = MapModel::default();
    }

    /// `resolve_in_doubt` for every instance of EntityManager 0 that is in doubt.
    fn resolve_all(&mut self) {
        for i in self.model.ems[0].contained(&self.model.insts) {
            if self.handles[i].in_doubt() {
                self.handles[i]
                    .resolve_in_doubt(&self.ems[0])
                    .expect("resolve");
            }
        }
    }

    async fn rollback(&mut self) -> Result<(), Mismatch> {
        let got = self.ems[0].rollback().await;
        let Some(tx) = &mut self.model.tx else {
            let _ = Self::agree(
                "rollback",
                &[ErrClass::TransactionRequired],
                got.as_ref().err(),
            )?;
            return Ok(());
        };
        got.map_err(|e| format!("rollback: {e:?}"))?;
        if tx.scopes.len() > 1 {
            let scope = tx.scopes.pop().expect("a savepoint");
            tx.overlay = scope.overlay.clone();
            self.model.restore(0, scope);
        } else {
            self.model_roll_back_all();
        }
        Ok(())
    }

    async fn transactional(
        &mut self,
        propagation: Propagation,
        body: &[Op],
        fail: bool,
    ) -> Result<(), Mismatch> {
        let in_tx = self.model.tx.is_some();
        let servers = self.env.backend.is_server();
        let scope = match (propagation, in_tx) {
            (Propagation::Nested, true) => Scope::Savepoint,
            (Propagation::Required | Propagation::Supports | Propagation::Mandatory, true) => {
                Scope::Join
            }
            (Propagation::Never, true) => Scope::Refused(ErrClass::TransactionNotAllowed),
            (Propagation::Mandatory, false) => {
                Scope::Refused(ErrClass::RequiredTransactionNotFound)
            }
            (Propagation::RequiresNew, true) if !servers => {
                Scope::Refused(ErrClass::RequiresNewUnavailable)
            }
            (Propagation::RequiresNew, true) => Scope::EmptyForkTx,
            (Propagation::NotSupported, true) => Scope::EmptyForkNoTx,
            (Propagation::Supports | Propagation::Never | Propagation::NotSupported, false) => {
                Scope::NoTx
            }
            (_, false) => Scope::NewTx,
            (p, _) => return Err(format!("unmodelled propagation {p:?}")),
        };
        // What a body may do there (see the module documentation).
        let body: Vec<Op> = body
            .iter()
            .filter(|op| match scope {
                Scope::NewTx | Scope::Savepoint | Scope::Join => true,
                Scope::NoTx => matches!(
                    op,
                    Op::Persist { .. } | Op::Change { .. } | Op::Remove { .. }
                ),
                Scope::EmptyForkTx | Scope::EmptyForkNoTx => {
                    servers
                        && matches!(
                            op,
                            Op::FindAll { .. }
                                | Op::Persist {
                                    kind: Kind::Doc,
                                    ..
                                }
                        )
                }
                Scope::Refused(_) => false,
            })
            .cloned()
            .collect();
        let saved = self.model.clone();
        let body_em = match scope {
            Scope::EmptyForkTx | Scope::EmptyForkNoTx => {
                self.model.ems.push(MapModel::default());
                self.model.ems.len() - 1
            }
            _ => 0,
        };
        let options = TxOptions {
            propagation,
            ..Default::default()
        };
        let em0 = self.ems[0].clone();
        let this = &mut *self;
        let body_ref = &body;
        let got: Result<(), BodyError> = em0
            .transactional_with(options, move |tx| async move {
                for op in body_ref {
                    match this.simple(body_em, &tx, op).await {
                        Err(m) => return Err(BodyError::Mismatch(m)),
                        Ok(Some(Err(c))) => return Err(BodyError::Failed(c)),
                        Ok(_) => {}
                    }
                }
                if fail {
                    Err(BodyError::Injected)
                } else {
                    Ok(())
                }
            })
            .await;
        if let Err(BodyError::Mismatch(m)) = got {
            return Err(format!("in the {scope:?} body: {m}"));
        }
        let what = format!("transactional {propagation:?} ({scope:?})");
        let mut fork_map = None;
        if body_em != 0 {
            fork_map = self.model.ems.pop();
        }
        // Where the body itself failed (an operation, or asked to), the scope returns that.
        let body_failed = match &got {
            Err(BodyError::Failed(c)) => Some(*c),
            Err(BodyError::Injected) => Some(ErrClass::Injected),
            _ => None,
        };
        let restore_all = |case: &mut Case| {
            case.handles.truncate(saved.insts.len());
            case.model = saved.clone();
        };
        let restore_map = |case: &mut Case| {
            case.handles.truncate(saved.insts.len());
            case.model.insts.truncate(saved.insts.len());
            case.model.ems[0] = saved.ems[0].clone();
        };
        match scope {
            Scope::Refused(c) => {
                ensure!(
                    got.as_ref().err().map(BodyError::class) == Some(c),
                    "{what}: {got:?}, the model expected {c:?}"
                );
            }
            Scope::Join => match body_failed {
                Some(_) => {
                    ensure!(got.is_err(), "{what}: succeeded after its body failed");
                    self.model.tx.as_mut().expect("open").rollback_only = true;
                }
                None => ensure!(got.is_ok(), "{what}: {got:?}"),
            },
            Scope::NewTx
            | Scope::Savepoint
            | Scope::NoTx
            | Scope::EmptyForkTx
            | Scope::EmptyForkNoTx => {
                let map_em = if body_em != 0 {
                    self.model
                        .ems
                        .push(fork_map.clone().expect("the fork's map"));
                    body_em
                } else {
                    0
                };
                let outcome = match body_failed {
                    Some(c) => {
                        ensure!(
                            got.as_ref().err().map(BodyError::class) == Some(c),
                            "{what}: {got:?} after the body failed with {c:?}"
                        );
                        Err(c)
                    }
                    None => {
                        // The scope's final flush (inside its transaction, or on its own).
                        let plan = self.model.plan_flush(map_em);
                        let failed = match &got {
                            Ok(()) => None,
                            Err(BodyError::Coherent(e)) => Some(e),
                            Err(other) => return Err(format!("{what}: {other:?}")),
                        };
                        let outcome =
                            Self::agree(&format!("{what}'s flush"), &plan.failures, failed)?;
                        if outcome.is_ok() {
                            let keys = self.doc_keys(map_em, &plan)?;
                            self.model.apply_flush(map_em, &plan, &keys);
                        }
                        outcome
                    }
                };
                let fork = (body_em != 0).then(|| self.model.ems.pop().expect("the fork's map"));
                match (scope, outcome) {
                    (_, Ok(())) => {
                        if let Some(fork) = fork {
                            self.model.merge_fork(0, &fork);
                        }
                    }
                    // Rolled back: memory and database as before.
                    (Scope::NewTx | Scope::Savepoint | Scope::EmptyForkTx, Err(_)) => {
                        restore_all(self)
                    }
                    // No transaction: what was flushed stays; nothing is merged back, but the
                    // instances the fork shares keep their changes.
                    (Scope::NoTx | Scope::EmptyForkNoTx, Err(_)) => restore_map(self),
                    _ => unreachable!(),
                }
            }
        }
        Ok(())
    }

    /// A concurrent writer's raw statement; false if it does not apply.
    async fn raw(&mut self, op: &Op) -> Result<bool, Mismatch> {
        let em = self.env.orm.em();
        let table = |k: Kind| {
            if k == Kind::Item {
                "model_items"
            } else {
                "model_docs"
            }
        };
        let nth = |kind: Kind, pick: u8| {
            let keys: Vec<i64> = self
                .model
                .db
                .keys()
                .filter(|k| k.0 == kind)
                .map(|k| k.1)
                .collect();
            (!keys.is_empty()).then(|| keys[pick as usize % keys.len()])
        };
        let err = |e: Error| format!("raw writer: {e:?}");
        match op {
            Op::RawUpdate { kind, pick, name } => {
                let Some(key) = nth(*kind, *pick) else {
                    return Ok(false);
                };
                let name = NAMES[*name as usize % NAMES.len()];
                let bump = if *kind == Kind::Doc {
                    ", version = version + 1"
                } else {
                    ""
                };
                let sql = self.env.sql(&format!(
                    "UPDATE {} SET name = ?{bump} WHERE id = ?",
                    table(*kind)
                ));
                em.execute(&sql, vec![name.into(), key.into()])
                    .await
                    .map_err(err)?;
                let row = self.model.db.get_mut(&(*kind, key)).expect("a row");
                row.name = name.into();
                if *kind == Kind::Doc {
                    row.version += 1;
                }
            }
            Op::RawDelete { kind, pick } => {
                let Some(key) = nth(*kind, *pick) else {
                    return Ok(false);
                };
                let sql = self
                    .env
                    .sql(&format!("DELETE FROM {} WHERE id = ?", table(*kind)));
                em.execute(&sql, vec![key.into()]).await.map_err(err)?;
                self.model.db.remove(&(*kind, key));
            }
            Op::RawInsert { key, name } => {
                let key = 1 + i64::from(*key % 4);
                if self.model.db.contains_key(&(Kind::Item, key)) {
                    return Ok(false);
                }
                let name = NAMES[*name as usize % NAMES.len()];
                let sql = self
                    .env
                    .sql("INSERT INTO model_items (id, name, qty) VALUES (?, ?, NULL)");
                em.execute(&sql, vec![key.into(), name.into()])
                    .await
                    .map_err(err)?;
                self.model.db.insert(
                    (Kind::Item, key),
                    Row {
                        name: name.into(),
                        qty: None,
                        version: 0,
                    },
                );
            }
            _ => unreachable!(),
        }
        Ok(true)
    }

    fn arm(&self, cut: &CutAt) {
        let proxy = self.env.proxy.as_ref().expect("a proxy");
        proxy.arm(match cut {
            CutAt::BeforeBegin => Cut::Before(b"BEGIN".to_vec()),
            CutAt::Bytes(n) => Cut::AfterBytes(usize::from(*n)),
            CutAt::BeforeCommit => Cut::Before(b"COMMIT".to_vec()),
            CutAt::AfterCommit => Cut::After(b"COMMIT".to_vec()),
            CutAt::AfterCommitReply => Cut::AfterReply(b"COMMIT".to_vec()),
        });
    }

    fn disarm(&self) {
        if let Some(p) = &self.env.proxy {
            p.disarm();
        }
    }

    /// A flush of EntityManager 0 (no transaction open) whose connection is cut at `cut`:
    /// it succeeds with memory applied, or fails with memory and database as before, or
    /// (MariaDB, at COMMIT) its outcome is unknown and the application resolves it.
    async fn fault_flush(&mut self, cut: &CutAt) -> Result<(), Mismatch> {
        let plan = self.model.plan_flush(0);
        self.arm(cut);
        let got = self.ems[0].flush().await;
        self.disarm();
        tally(format!(
            "flush cut {}: {:?}",
            cut.name(),
            got.as_ref().err().map(classify)
        ));
        let transparent = matches!(cut, CutAt::BeforeBegin | CutAt::AfterCommitReply);
        let Err(e) = &got else {
            let _ = self.settle_flush(0, &plan, &got)?;
            return Ok(());
        };
        let c = classify(e);
        if plan.failures.contains(&c) || transparent {
            let _ = self.settle_flush(0, &plan, &got)?;
            return Ok(());
        }
        match c {
            // Rolled back: memory as before (the check after the step compares the rows).
            ErrClass::Connection => {}
            ErrClass::CommitOutcomeUnknown => {
                ensure!(
                    self.env.backend.is_mysql(),
                    "flush: {e:?} (PostgreSQL resolves the outcome)"
                );
                for &i in &plan.inserts {
                    ensure!(
                        self.handles[i].in_doubt(),
                        "an instance the flush inserted is not in doubt"
                    );
                }
                if !plan.inserts.is_empty() {
                    let again = self.ems[0].flush().await;
                    let _ = Self::agree(
                        "blind flush of an instance in doubt",
                        &[ErrClass::InDoubt],
                        again.as_ref().err(),
                    )?;
                }
                let actual = self.settled_db().await?;
                let mut after = self.model.clone();
                let keys: Vec<i64> = actual
                    .keys()
                    .filter(|k| k.0 == Kind::Doc && !self.model.db.contains_key(k))
                    .map(|k| k.1)
                    .collect();
                if keys.len()
                    == plan
                        .inserts
                        .iter()
                        .filter(|i| self.model.insts[**i].kind == Kind::Doc)
                        .count()
                {
                    after.apply_flush(0, &plan, &keys);
                }
                let committed = actual == after.db && actual != self.model.db;
                ensure!(
                    committed || actual == self.model.db,
                    "after an unknown COMMIT the database is neither before nor after: {actual:?}"
                );
                if committed {
                    self.model.db = after.db;
                    self.clear_em0();
                } else {
                    self.resolve_all();
                }
            }
            _ => {
                return Err(format!(
                    "flush cut at {cut:?}: {e:?}, the model expected {:?} or a lost connection",
                    plan.failures
                ));
            }
        }
        Ok(())
    }

    /// Compares the database and every EntityManager's memory with the model.
    pub async fn verify(&mut self) -> Result<(), Mismatch> {
        let tx_open = self.model.tx.is_some();
        // SQLite in memory has no WAL: another connection waits for the open transaction.
        let memory = self.env.backend.name == "sqlite-memory";
        if !(tx_open && memory) {
            let db = read_db(self.env.orm.em()).await?;
            ensure!(
                db == self.model.db,
                "database\n  is {db:?}\n  model {:?}",
                self.model.db
            );
        }
        if tx_open {
            let db = read_db(&self.ems[0]).await?;
            let view = self.model.view(0);
            ensure!(
                db == view,
                "the transaction's view\n  is {db:?}\n  model {view:?}"
            );
        }
        for (e, em) in self.ems.iter().enumerate() {
            let map = &self.model.ems[e];
            let len = em.len().expect("len");
            ensure!(
                len == map.len(&self.model.insts),
                "EntityManager {e} holds {len} instances, the model {}",
                map.len(&self.model.insts)
            );
            for (i, h) in self.handles.iter().enumerate() {
                let expected = map.contains(&self.model.insts, i);
                ensure!(
                    h.contains(em) == expected,
                    "EntityManager {e} contains instance {i} ({:?}): {}",
                    self.model.insts[i].id(),
                    !expected
                );
                if expected {
                    check_instance(e, i, h, &self.model.insts[i])?;
                }
            }
        }
        Ok(())
    }
}

fn check_instance(e: usize, i: usize, h: &Handle, inst: &Inst) -> Result<(), Mismatch> {
    let what = format!("EntityManager {e}, instance {i} ({:?})", inst.id());
    ensure!(h.key() == inst.key, "{what}: key {}", h.key());
    let row = h.row();
    ensure!(
        row == inst.cur,
        "{what}: holds {row:?}, the model {:?}",
        inst.cur
    );
    ensure!(
        h.is_dirty() == inst.dirty(),
        "{what}: dirty {}",
        h.is_dirty()
    );
    let original = h.original();
    let expected = inst.loaded.then(|| inst.base.clone());
    ensure!(
        original == expected,
        "{what}: original {original:?}, the model {expected:?}"
    );
    ensure!(!h.in_doubt(), "{what}: in doubt");
    Ok(())
}
