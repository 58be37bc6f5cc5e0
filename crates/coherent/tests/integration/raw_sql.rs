//! The raw escape hatch: `execute` and `query`, with bound parameters only.

use crate::common::*;
use crate::each_backend;
use coherent::Error;
use coherent::prelude::*;

#[tokio::test]
async fn raw_sql_binds_every_value() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        let payload = "x'); DROP TABLE users; --";
        let n = em
            .execute(
                &b.sql("INSERT INTO users (name, email, age) VALUES (?, ?, ?)"),
                vec![payload.into(), "e@x.io".into(), Value::Null],
            )
            .await
            .unwrap();
        assert_eq!(n, 1, "{}", b.name);
        let rows = em
            .query(
                &b.sql("SELECT name, age FROM users WHERE email = ?"),
                vec!["e@x.io".into()],
            )
            .await
            .unwrap();
        assert_eq!(
            rows[0].get::<String>("name").unwrap(),
            payload,
            "{}",
            b.name
        );
        assert_eq!(rows[0].get::<Option<i32>>("age").unwrap(), None);
        // The same payload in a typed filter is a bound value too.
        let found = em.find(User::NAME.eq(payload)).await.unwrap();
        assert_eq!(found.len(), 1, "{}", b.name);
        assert_eq!(em.count(User::NAME.like(payload)).await.unwrap(), 1);
        let err = em.query("SELEKT 1", vec![]).await.unwrap_err();
        assert!(matches!(err, Error::Database { .. }), "{}: {err:?}", b.name);
    });
}
