//! `OrmBuilder::all_entities` registers every `#[derive(Entity)]` type linked into the
//! program: this test binary's three entities, one of them declared inside a function, with a
//! relation between two of them, and nothing else.
#![allow(missing_docs)]
#![cfg(feature = "sqlite")]

use coherent::prelude::*;

#[derive(Entity, Clone, Debug)]
#[entity(table = "writers")]
struct Writer {
    #[primary_key]
    id: i64,
    name: String,
    #[one_to_many(mapped_by = "writer")]
    notes: Collection<Note>,
}

#[derive(Entity, Clone, Debug)]
#[entity(table = "notes")]
struct Note {
    #[primary_key]
    id: i64,
    text: String,
    #[many_to_one]
    writer: Ref<Writer>,
}

#[tokio::test]
async fn every_derived_entity_is_registered() -> coherent::Result<()> {
    #[derive(Entity, Clone, Debug)]
    #[entity(table = "labels")]
    struct Label {
        #[primary_key]
        code: String,
    }

    let orm = Orm::builder()
        .url("sqlite::memory:")
        .all_entities()
        .build()
        .await?;
    let mut tables = orm.schema().create_sql().join("\n");
    tables.retain(|c| c != '"' && c != '`');
    for table in ["EXISTS writers (", "EXISTS notes (", "EXISTS labels ("] {
        assert!(tables.contains(table), "{table} missing from:\n{tables}");
    }
    orm.schema().create().await?;
    let em = orm.em().fork();
    let writer = em.persist(Writer {
        id: 0,
        name: "w".into(),
        notes: Collection::default(),
    })?;
    em.persist(Note {
        id: 0,
        text: "n".into(),
        writer: Ref::to(&writer),
    })?;
    em.persist(Label { code: "l".into() })?;
    em.flush().await?;
    let fresh = orm.em().fork();
    assert_eq!(fresh.count::<Note>(Filter::all()).await?, 1);
    assert_eq!(fresh.count::<Label>(Filter::all()).await?, 1);
    Ok(())
}
