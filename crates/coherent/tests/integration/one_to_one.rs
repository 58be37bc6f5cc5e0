//! One-to-one: the owning side a unique `#[one_to_one]` reference, the inverse side an
//! `Inverse<T>` (`#[one_to_one(mapped_by = .., orphan_removal)]`). Unique foreign key in the
//! schema, cascade persist through the inverse side, populate from both sides (select-in and
//! joined), replacing the item, and a second owner refused by the database.

use crate::common::*;
use coherent::prelude::*;

#[derive(Entity, Clone, Debug)]
#[entity(table = "persons")]
pub struct Person {
    #[primary_key]
    pub id: i64,
    pub name: String,
    #[one_to_one(mapped_by = "holder", orphan_removal)]
    pub passport: Inverse<Passport>,
}

#[derive(Entity, Clone, Debug)]
#[entity(table = "passports")]
pub struct Passport {
    #[primary_key]
    pub id: i64,
    pub number: String,
    #[one_to_one]
    pub holder: Option<Ref<Person>>,
}

async fn orm_for(b: &Backend) -> Orm {
    b.orm_with(|o| o.entity::<Passport>().entity::<Person>())
        .await
}

fn person(name: &str) -> Person {
    Person {
        id: 0,
        name: name.into(),
        passport: Inverse::new(),
    }
}

fn passport(number: &str) -> Passport {
    Passport {
        id: 0,
        number: number.into(),
        holder: None,
    }
}

#[tokio::test]
async fn the_inverse_side_persists_and_links_its_item_and_populates_from_both_sides() {
    for b in backends() {
        let orm = orm_for(&b).await;
        let unique = b.unique_indexes(&orm, "passports").await;
        assert!(
            unique.iter().any(|i| i.contains("holder_id")),
            "{}: {unique:?}",
            b.name
        );
        let em = orm.em().fork();
        let ann = em.persist(person("Ann")).unwrap();
        let p = ann.write().passport.set_new(passport("A-1")).unwrap();
        em.persist(person("Bob")).unwrap();
        em.flush().await.unwrap();
        assert_eq!(
            p.read().holder.as_ref().unwrap().key(),
            ann.read().id,
            "{}",
            b.name
        );

        for strategy in [LoadStrategy::SelectIn, LoadStrategy::Joined] {
            let reader = orm.em().fork();
            let log = StatementLog::capture();
            let people = reader
                .find_with::<Person>(
                    Filter::all(),
                    FindOptions {
                        order_by: vec![Person::NAME.asc()],
                        ..Default::default()
                    }
                    .populate(["passport"])
                    .strategy(strategy),
                )
                .await
                .unwrap();
            let queries = if strategy == LoadStrategy::Joined {
                1
            } else {
                2
            };
            assert_eq!(log.take().len(), queries, "{}: {strategy:?}", b.name);
            let ann_passport = people[0].read().passport.get().unwrap().cloned().unwrap();
            assert_eq!(ann_passport.read().number, "A-1", "{}", b.name);
            assert!(people[1].read().passport.get().unwrap().is_none());
            // The owning side's reference is linked to the same instance.
            let holder = ann_passport.read().holder.clone().unwrap();
            assert!(
                Managed::ptr_eq(holder.get().unwrap(), &people[0]),
                "{}",
                b.name
            );
        }
        // From the owning side: a reference path.
        let reader = orm.em().fork();
        let passports = reader
            .find_with::<Passport>(Filter::all(), FindOptions::default().populate(["holder"]))
            .await
            .unwrap();
        let holder = passports[0].read().holder.clone().unwrap();
        assert_eq!(holder.get().unwrap().read().name, "Ann", "{}", b.name);
    }
}

#[tokio::test]
async fn replacing_the_item_deletes_the_orphan_and_a_second_holder_is_refused() {
    for b in backends() {
        let orm = orm_for(&b).await;
        let em = orm.em().fork();
        let ann = em.persist(person("Ann")).unwrap();
        let old = ann.write().passport.set_new(passport("A-1")).unwrap();
        em.flush().await.unwrap();
        let old_id = old.read().id;

        let new = ann.write().passport.set_new(passport("A-2")).unwrap();
        let log = StatementLog::capture();
        let r = em.flush().await;
        assert!(r.is_ok(), "{}: {r:?} {:#?}", b.name, log.take());
        let check = orm.em().fork();
        let all = check.find::<Passport>(Filter::all()).await.unwrap();
        assert_eq!(all.len(), 1, "{}: the old passport is gone", b.name);
        assert_eq!(all[0].read().id, new.read().id, "{}", b.name);
        assert!(all[0].read().id != old_id);

        // Two passports naming one holder: the unique foreign key refuses, nothing written.
        let other = em.persist(passport("A-3")).unwrap();
        other.write().holder = Some(Ref::to(&ann));
        let err = em.flush().await.unwrap_err();
        assert_eq!(
            err.constraint_kind(),
            Some(ConstraintKind::Unique),
            "{}: {err:?}",
            b.name
        );
        assert_eq!(
            check.count::<Passport>(Filter::all()).await.unwrap(),
            1,
            "{}",
            b.name
        );
        em.remove(&other).unwrap();
        em.flush().await.unwrap();
    }
}
