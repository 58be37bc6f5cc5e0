//! Keys are taken in the entity's own type: `find_one` and `get_reference` accept an `i32`
//! key as an `i32` (not only as an `i64`), and references to keys (`&id`, `&String`), on
//! every backend.

use crate::common::*;
use coherent::prelude::*;

/// An entity with an `i32` key the database generates.
#[derive(Entity, Clone, Debug)]
#[entity(table = "counters")]
struct Counter {
    #[primary_key]
    id: i32,
    label: String,
}

#[tokio::test]
async fn keys_are_taken_in_their_own_type_and_by_reference() {
    for b in backends() {
        let n = b.name;
        let orm = suite_builder(b.url())
            .entity::<Counter>()
            .build()
            .await
            .expect("connect");
        orm.schema().refresh().await.expect("schema");
        let em = orm.em().fork();
        let counter = em
            .persist(Counter {
                id: 0,
                label: "c".into(),
            })
            .unwrap();
        em.persist(Tag::new("t", "a tag")).unwrap();
        em.flush().await.unwrap();
        let id: i32 = counter.read().id;
        assert!(id > 0, "{n}: a generated key");

        let fresh = orm.em().fork();
        let by_value = fresh.find_one::<Counter>(id).await.unwrap().unwrap();
        let by_ref = fresh.find_one::<Counter>(&id).await.unwrap().unwrap();
        assert!(Managed::ptr_eq(&by_value, &by_ref), "{n}: one instance");
        assert_eq!(by_value.read().label, "c", "{n}");
        assert!(
            fresh
                .find_one::<Counter>(i64::from(i32::MAX) + 1)
                .await
                .unwrap()
                .is_none(),
            "{n}: an i64 outside the key's range matches nothing"
        );
        let reference = fresh.get_reference::<Counter>(&id).unwrap();
        assert!(reference.is_loaded(), "{n}: the loaded instance");
        assert!(Managed::ptr_eq(reference.get().unwrap(), &by_value), "{n}");
        assert_eq!(fresh.get_reference::<Counter>(7).unwrap().key(), 7, "{n}");

        let code = String::from("t");
        let tag = fresh.find_one::<Tag>(&code).await.unwrap().unwrap();
        assert_eq!(tag.read().label, "a tag", "{n}");
        let tag_ref = fresh.get_reference::<Tag>(&code).unwrap();
        assert!(Managed::ptr_eq(tag_ref.get().unwrap(), &tag), "{n}");
    }
}
