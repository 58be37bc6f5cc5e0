//! Schema create / drop / refresh from entity metadata.

use crate::common::*;
use crate::each_backend;

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
