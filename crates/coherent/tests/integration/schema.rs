//! Schema create / drop / refresh from entity metadata.

use crate::common::*;
use crate::each_backend;

async fn tables(orm: &coherent::Orm) -> Vec<String> {
    orm.em()
        .query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name", vec![])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get("name").unwrap())
        .collect()
}

#[tokio::test]
async fn create_drop_and_refresh() {
    each_backend!(|b, orm| {
        assert_eq!(tables(&orm).await, ["tags", "users"], "{}", b.name);
        let idx = orm
            .em()
            .query("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'users' AND name = 'uq_users_email'", vec![])
            .await
            .unwrap();
        assert_eq!(idx.len(), 1, "{}: the unique constraint is named", b.name);
        let em = orm.em().fork();
        em.persist(User::new("a", "a@x.io")).unwrap();
        em.flush().await.unwrap();
        orm.schema().create().await.unwrap(); // idempotent
        assert_eq!(user_rows(&orm).await.len(), 1);
        orm.schema().refresh().await.unwrap();
        assert!(user_rows(&orm).await.is_empty(), "{}", b.name);
        orm.schema().drop().await.unwrap();
        assert!(tables(&orm).await.is_empty(), "{}", b.name);
    });
}
