//! Schema create / drop / refresh from entity metadata.

use crate::common::*;
use crate::each_backend;
use coherent::prelude::*;
use coherent::{ConstraintKind, Error};

#[tokio::test]
async fn create_drop_and_refresh() {
    each_backend!(|b, orm| {
        assert_eq!(b.tables(&orm).await, ["tags", "users"], "{}", b.name);
        assert_eq!(
            b.unique_indexes(&orm, "users").await,
            ["uq_users_email"],
            "{}: the unique constraint is named",
            b.name
        );
        let em = orm.em().fork();
        em.persist(User::new("a", "a@x.io")).unwrap();
        em.flush().await.unwrap();
        orm.schema().create().await.unwrap(); // idempotent
        assert_eq!(user_rows(&orm).await.len(), 1);
        orm.schema().refresh().await.unwrap();
        assert!(user_rows(&orm).await.is_empty(), "{}", b.name);
        orm.schema().drop().await.unwrap();
        assert!(b.tables(&orm).await.is_empty(), "{}", b.name);
    });
}

/// A shelf holds volumes; deleting it deletes them (`on_delete = "cascade"`).
#[derive(Entity, Clone, Debug)]
#[entity(table = "shelves")]
pub struct Shelf {
    #[primary_key]
    pub id: i64,
    pub name: String,
}

/// A keeper looks after volumes; deleting one unsets the volumes' keeper (`set null`).
#[derive(Entity, Clone, Debug)]
#[entity(table = "keepers")]
pub struct Keeper {
    #[primary_key]
    pub id: i64,
    pub name: String,
}

/// One volume per shelf position (a composite unique constraint), indexed by title and
/// position (a composite index); its catalogue entry may not be deleted while it exists
/// (`restrict`).
#[derive(Entity, Clone, Debug)]
#[entity(
    table = "volumes",
    unique(columns = ["shelf", "position"]),
    index(columns = ["title", "position"])
)]
pub struct Volume {
    #[primary_key]
    pub id: i64,
    pub title: String,
    pub position: i32,
    #[many_to_one(on_delete = "cascade")]
    pub shelf: Ref<Shelf>,
    #[many_to_one(on_delete = "set null")]
    pub keeper: Option<Ref<Keeper>>,
    #[many_to_one(on_delete = "restrict")]
    pub entry: Ref<Entry>,
    #[column(default = "0")]
    pub loans: i64,
}

/// A catalogue entry.
#[derive(Entity, Clone, Debug)]
#[entity(table = "entries")]
pub struct Entry {
    #[primary_key]
    pub id: i64,
}

async fn volume_rows(orm: &Orm) -> Vec<(i64, Option<i64>)> {
    orm.em()
        .query(
            "SELECT shelf_id, keeper_id FROM volumes ORDER BY id",
            vec![],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get("shelf_id").unwrap(), r.get("keeper_id").unwrap()))
        .collect()
}

#[tokio::test]
async fn composite_unique_and_on_delete_rules_hold_in_the_database() {
    for b in backends() {
        let orm = b
            .orm_with(|o| {
                o.entity::<Shelf>()
                    .entity::<Keeper>()
                    .entity::<Entry>()
                    .entity::<Volume>()
            })
            .await;
        let em = orm.em().fork();
        let shelves = [
            em.persist(Shelf {
                id: 0,
                name: "a".into(),
            })
            .unwrap(),
            em.persist(Shelf {
                id: 0,
                name: "b".into(),
            })
            .unwrap(),
        ];
        let keeper = em
            .persist(Keeper {
                id: 0,
                name: "k".into(),
            })
            .unwrap();
        let entry = em.persist(Entry { id: 0 }).unwrap();
        for (shelf, position) in [(&shelves[0], 1), (&shelves[0], 2), (&shelves[1], 1)] {
            em.persist(Volume {
                id: 0,
                title: "t".into(),
                position,
                shelf: Ref::to(shelf),
                keeper: Some(Ref::to(&keeper)),
                entry: Ref::to(&entry),
                loans: 0,
            })
            .unwrap();
        }
        em.flush().await.unwrap();
        let before = volume_rows(&orm).await;
        assert_eq!(before.len(), 3, "{}", b.name);

        // The same shelf and position twice: refused, nothing written.
        let em2 = orm.em().fork();
        em2.persist(Volume {
            id: 0,
            title: "dup".into(),
            position: 1,
            shelf: Ref::to_key(shelves[1].key()),
            keeper: None,
            entry: Ref::to_key(entry.key()),
            loans: 0,
        })
        .unwrap();
        let err = em2.flush().await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::Constraint {
                    kind: ConstraintKind::Unique,
                    ..
                }
            ),
            "{}: {err}",
            b.name
        );
        assert_eq!(volume_rows(&orm).await, before, "{}", b.name);

        // restrict: the entry cannot go while volumes reference it.
        let q = |s: &str| b.sql(s);
        let err = orm
            .em()
            .execute(
                &q("DELETE FROM entries WHERE id = ?"),
                vec![entry.key().into()],
            )
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Constraint {
                    kind: ConstraintKind::ForeignKey,
                    ..
                }
            ),
            "{}: {err}",
            b.name
        );
        assert_eq!(volume_rows(&orm).await, before, "{}", b.name);

        // set null: the keeper goes, the volumes stay without one.
        orm.em()
            .execute(
                &q("DELETE FROM keepers WHERE id = ?"),
                vec![keeper.key().into()],
            )
            .await
            .unwrap();
        let (a, b_id) = (shelves[0].key(), shelves[1].key());
        assert_eq!(
            volume_rows(&orm).await,
            [(a, None), (a, None), (b_id, None)],
            "{}",
            b.name
        );
        // cascade: shelf a goes with its two volumes.
        orm.em()
            .execute(&q("DELETE FROM shelves WHERE id = ?"), vec![a.into()])
            .await
            .unwrap();
        assert_eq!(volume_rows(&orm).await, [(b_id, None)], "{}", b.name);
        // The default applies to rows written without the column.
        let loans: Vec<i64> = orm
            .em()
            .query("SELECT loans FROM volumes", vec![])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get("loans").unwrap())
            .collect();
        assert_eq!(loans, [0], "{}", b.name);
    }
}
