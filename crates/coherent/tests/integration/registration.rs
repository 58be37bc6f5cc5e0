//! An entity used without being registered is `Error::UnknownEntity`, naming it and both
//! remedies, and nothing enters the identity map. (`OrmBuilder::all_entities` has a test
//! binary of its own, `tests/all_entities.rs`: this one links several entities per table.)

use crate::common::*;
use coherent::Error;
use coherent::prelude::*;

#[tokio::test]
async fn an_unregistered_entity_is_a_typed_error_naming_the_remedies() {
    for b in backends() {
        let n = b.name;
        let _schema = b.orm().await;
        let orm = Orm::builder()
            .url(b.url())
            .entity::<Tag>()
            .build()
            .await
            .unwrap();
        let em = orm.em().fork();
        let err = em.persist(User::new("u", "u@x.io")).unwrap_err();
        assert!(
            matches!(err, Error::UnknownEntity { entity: "User" }),
            "{n}: {err:?}"
        );
        let text = err.to_string();
        assert!(
            text.contains("OrmBuilder::entity::<User>()") && text.contains("all_entities()"),
            "{n}: {text}"
        );
        let err = em.find_one::<User>(1).await.unwrap_err();
        assert!(
            matches!(err, Error::UnknownEntity { entity: "User" }),
            "{n}: {err:?}"
        );
        assert_eq!(em.len().unwrap(), 0, "{n}: nothing entered the map");
    }
}
