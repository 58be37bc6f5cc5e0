//! Populated relations form reference cycles (a blog holds its posts, each post its blog; the
//! two sides of a many-to-many each other). Dropping or clearing the EntityManager frees the
//! instances nothing else holds; instances the application holds keep their relations.

use crate::common::*;
use coherent::core::field_type::DecodeResult;
use coherent::prelude::*;
use coherent::{ColumnType, FieldType};
use std::sync::atomic::{AtomicIsize, Ordering};

/// Live `Counted` values: every decoded or cloned one counts until dropped.
static LIVE: AtomicIsize = AtomicIsize::new(0);

#[derive(Debug, PartialEq)]
pub struct Counted(String);

impl Counted {
    fn new(s: &str) -> Self {
        LIVE.fetch_add(1, Ordering::SeqCst);
        Counted(s.to_owned())
    }
}

impl Clone for Counted {
    fn clone(&self) -> Self {
        Counted::new(&self.0)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

impl FieldType for Counted {
    const COLUMN_TYPE: ColumnType = ColumnType::Text;
    fn to_value(&self) -> Value {
        Value::Text(self.0.clone())
    }
    fn from_value(value: Value) -> DecodeResult<Self> {
        String::from_value(value).map(|s| Counted::new(&s))
    }
    fn same(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

#[derive(Entity, Clone, Debug)]
#[entity(table = "shelves")]
pub struct Shelf {
    #[primary_key]
    pub id: i64,
    pub label: Counted,
    #[one_to_many(mapped_by = "shelf")]
    pub items: Collection<Item>,
}

#[derive(Entity, Clone, Debug)]
#[entity(table = "items")]
pub struct Item {
    #[primary_key]
    pub id: i64,
    pub label: Counted,
    #[many_to_one]
    pub shelf: Ref<Shelf>,
}

async fn seeded(b: &Backend) -> Orm {
    let orm = b.orm_with(|o| o.entity::<Item>().entity::<Shelf>()).await;
    let em = orm.em().fork();
    for s in 0..5 {
        let shelf = em
            .persist(Shelf {
                id: 0,
                label: Counted::new(&format!("s{s}")),
                items: Collection::new(),
            })
            .unwrap();
        for i in 0..4 {
            let item = Item {
                id: 0,
                label: Counted::new(&format!("s{s}/i{i}")),
                shelf: Ref::to(&shelf),
            };
            shelf.write().items.add_new(item).unwrap();
        }
    }
    em.flush().await.unwrap();
    orm
}

/// One test, run on every backend in turn: the counter is global to the test binary, and no
/// other test uses `Counted`.
#[tokio::test]
async fn dropping_an_entity_manager_frees_populated_cycles_it_alone_holds() {
    for b in backends() {
        let orm = seeded(&b).await;
        let before = LIVE.load(Ordering::SeqCst);

        // Nothing held outside: everything is freed with the fork.
        {
            let em = orm.em().fork();
            let shelves = em
                .find_with::<Shelf>(Filter::all(), FindOptions::default().populate(["items"]))
                .await
                .unwrap();
            assert_eq!(shelves.len(), 5);
            assert!(LIVE.load(Ordering::SeqCst) >= before + 25, "{}", b.name);
        }
        assert_eq!(LIVE.load(Ordering::SeqCst), before, "{}: all freed", b.name);

        // A shelf held by the application keeps its items and their back references.
        let kept = {
            let em = orm.em().fork();
            let shelves = em
                .find_with::<Shelf>(
                    Filter::all(),
                    FindOptions {
                        order_by: vec![Shelf::ID.asc()],
                        ..Default::default()
                    }
                    .populate(["items"]),
                )
                .await
                .unwrap();
            shelves[0].clone()
        };
        assert_eq!(kept.read().items.len().unwrap(), 4, "{}", b.name);
        let item = kept.read().items.items().unwrap()[0].clone();
        assert!(Managed::ptr_eq(item.read().shelf.get().unwrap(), &kept));
        drop(item);
        // The other four shelves and their items are gone; this one and its items remain
        // (their labels, with each instance's snapshot-free state: 1 + 4).
        assert_eq!(LIVE.load(Ordering::SeqCst), before + 5, "{}", b.name);
        // A graph held past its EntityManager is released by the application.
        Managed::release_relations(&kept);
        drop(kept);
        assert_eq!(LIVE.load(Ordering::SeqCst), before, "{}: released", b.name);

        // Clearing an EntityManager frees what it alone held, too.
        let em = orm.em().fork();
        em.find_with::<Shelf>(Filter::all(), FindOptions::default().populate(["items"]))
            .await
            .unwrap();
        em.clear().unwrap();
        assert_eq!(
            LIVE.load(Ordering::SeqCst),
            before,
            "{}: clear frees too",
            b.name
        );
    }
}
