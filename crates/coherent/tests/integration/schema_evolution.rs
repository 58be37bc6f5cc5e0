//! Schema evolution end to end, on every backend (issue 12's "done when"): generate a
//! migration from an empty database, apply it, write data; evolve the entities (a new field,
//! an index, a composite unique constraint, a foreign key, a table and a column renamed),
//! generate and apply again with the data preserved; `down` and `up` again. After every
//! step, introspecting the database and diffing it against the entities is empty.

use crate::common::backends;
use coherent::migrate::diff::{PlanOptions, diff, plan};
use coherent::migrate::model::{Schema, from_entities};
use coherent::migrate::{Migrations, Migrator, introspect};
use coherent::{Orm, OrmBuilder, Value};
use std::path::{Path, PathBuf};

mod v1 {
    use coherent::Entity;

    #[derive(Entity, Clone, Debug)]
    #[entity(table = "authors")]
    pub struct Author {
        #[primary_key]
        pub id: i64,
        pub name: String,
    }

    #[derive(Entity, Clone, Debug)]
    #[entity(table = "articles")]
    pub struct Article {
        #[primary_key]
        pub id: i64,
        pub title: String,
        pub body: String,
    }
}

mod v2 {
    use coherent::{Entity, Ref};

    /// Renamed (`authors` → `writers`), with a new unique field.
    #[derive(Entity, Clone, Debug)]
    #[entity(table = "writers", renamed_from = "authors")]
    pub struct Writer {
        #[primary_key]
        pub id: i64,
        pub name: String,
        #[column(unique)]
        pub email: Option<String>,
    }

    /// A renamed column (`body` → `content`), new fields with defaults, a reference (a
    /// foreign key), a composite index and a composite unique constraint.
    #[derive(Entity, Clone, Debug)]
    #[entity(
        table = "articles",
        index(columns = ["published", "writer"]),
        unique(columns = ["writer", "slug"])
    )]
    pub struct Article {
        #[primary_key]
        pub id: i64,
        pub title: String,
        #[column(renamed_from = "body")]
        pub content: String,
        #[column(default = "false")]
        pub published: bool,
        #[column(default = "''")]
        pub slug: String,
        #[many_to_one(on_delete = "set null")]
        pub writer: Option<Ref<Writer>>,
    }
}

fn v1(url: &str) -> OrmBuilder {
    Orm::builder()
        .url(url)
        .entity::<v1::Author>()
        .entity::<v1::Article>()
}

fn v2(url: &str) -> OrmBuilder {
    Orm::builder()
        .url(url)
        .entity::<v2::Writer>()
        .entity::<v2::Article>()
}

fn wanted(orm: &Orm) -> Schema {
    from_entities::schema(&orm.entity_metas(), orm.dialect())
}

/// Generates the migration from the live schema to `orm`'s entities into `dir` (as
/// `coherent migration generate` does, with timestamps a second apart so they sort).
async fn generate(orm: &Orm, dir: &Path, name: &str) -> PathBuf {
    let live = introspect::live(orm).await.unwrap();
    let p = plan(&live, &wanted(orm), orm.dialect(), PlanOptions::default());
    assert!(p.skipped.is_empty(), "nothing destructive: {:?}", p.skipped);
    assert!(!p.changes.is_empty());
    // Written with a second's distance, so the two migrations sort in order.
    let at = std::time::SystemTime::UNIX_EPOCH
        + std::time::Duration::from_secs(
            1_800_000_000 + dir.read_dir().map_or(0, |d| d.count() as u64),
        );
    coherent::migrate::migration::write_at(dir, name, &p.up, Some(&p.down), at).unwrap()
}

/// Introspect, diff against `orm`'s entities: empty.
async fn assert_matches(orm: &Orm, what: &str) {
    let live = introspect::live(orm).await.unwrap();
    let left = diff(&live, &wanted(orm));
    assert!(left.is_empty(), "{what}: {left:#?}");
}

async fn rows(orm: &Orm, sql: &str) -> Vec<Vec<Value>> {
    orm.em()
        .query(sql, vec![])
        .await
        .unwrap()
        .iter()
        .map(|r| r.values().to_vec())
        .collect()
}

#[tokio::test]
async fn generate_apply_evolve_revert_and_reapply_on_every_backend() {
    for b in backends() {
        // Two Orms (the application before and after) on one database.
        if !b.shared_between_orms() {
            continue;
        }
        let dir = std::env::temp_dir().join(format!(
            "coherent-evolution-{}-{}-{}",
            b.name,
            std::process::id(),
            line!()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let name = b.name;

        // 1. From an empty database.
        let orm1 = v1(b.url()).build().await.unwrap();
        assert!(
            introspect::live(&orm1).await.unwrap().tables.is_empty(),
            "{name}"
        );
        generate(&orm1, &dir, "init").await;
        let applied = Migrator::new(&orm1, Migrations::from_dir(&dir).unwrap())
            .up()
            .await
            .unwrap();
        assert_eq!(applied.len(), 1, "{name}");
        assert_matches(&orm1, &format!("{name}: v1")).await;
        let em = orm1.em().fork();
        for (n, (title, body)) in [("Dune", "sand"), ("Emma", "it's a truth")]
            .iter()
            .enumerate()
        {
            em.persist(v1::Article {
                id: 0,
                title: (*title).into(),
                body: (*body).into(),
            })
            .unwrap();
            em.persist(v1::Author {
                id: 0,
                name: format!("author {n}"),
            })
            .unwrap();
        }
        em.flush().await.unwrap();
        let articles_v1 = rows(&orm1, "SELECT id, title, body FROM articles ORDER BY id").await;
        let authors_v1 = rows(&orm1, "SELECT id, name FROM authors ORDER BY id").await;
        assert_eq!(articles_v1.len(), 2);

        // 2. The entities evolve: generate against the database, apply.
        let orm2 = v2(b.url()).build().await.unwrap();
        let path = generate(&orm2, &dir, "evolve").await;
        let up = std::fs::read_to_string(path.join("up.sql")).unwrap();
        for needle in [
            "rename table authors to writers",
            "rename column articles.body to content",
            "add column writers.email",
            "add foreign key fk_articles_writer_id",
        ] {
            assert!(up.contains(needle), "{name}: {needle} in\n{up}");
        }
        assert!(
            !up.contains("drop table"),
            "{name}: renamed, not dropped:\n{up}"
        );
        let migrator = Migrator::new(&orm2, Migrations::from_dir(&dir).unwrap());
        assert_eq!(migrator.up().await.unwrap().len(), 1, "{name}");
        assert_matches(&orm2, &format!("{name}: v2")).await;
        // The data is all there, under the new names, with the new columns' defaults.
        let articles_v2 = rows(&orm2, "SELECT id, title, content FROM articles ORDER BY id").await;
        assert_eq!(articles_v2, articles_v1, "{name}");
        assert_eq!(
            rows(&orm2, "SELECT id, name FROM writers ORDER BY id").await,
            authors_v1,
            "{name}"
        );
        let em = orm2.em().fork();
        let found = em
            .find::<v2::Article>(coherent::Filter::all())
            .await
            .unwrap();
        assert!(
            found
                .iter()
                .all(|a| !a.read().published && a.read().slug.is_empty()),
            "{name}"
        );
        // The new constraints hold: a reference, and one slug per writer.
        let writer = em
            .find::<v2::Writer>(coherent::Filter::all())
            .await
            .unwrap()
            .remove(0);
        for a in &found {
            let mut a = a.write();
            a.writer = Some(coherent::Ref::to(&writer));
            a.slug = "same".into();
        }
        let err = em.flush().await.unwrap_err();
        assert_eq!(
            err.constraint_kind(),
            Some(coherent::ConstraintKind::Unique),
            "{name}: the composite unique constraint holds: {err}"
        );
        let em = orm2.em().fork();
        let first = em
            .find::<v2::Article>(coherent::Filter::all())
            .await
            .unwrap()
            .remove(0);
        first.write().writer = Some(coherent::Ref::to_key(writer.key()));
        em.flush().await.unwrap();

        // 3. Down, back to v1 with the data; up again.
        assert_eq!(migrator.down(1).await.unwrap().len(), 1, "{name}");
        assert_matches(&orm1, &format!("{name}: down to v1")).await;
        assert_eq!(
            rows(&orm1, "SELECT id, title, body FROM articles ORDER BY id").await,
            articles_v1,
            "{name}"
        );
        assert_eq!(
            rows(&orm1, "SELECT id, name FROM authors ORDER BY id").await,
            authors_v1,
            "{name}"
        );
        assert_eq!(migrator.up().await.unwrap().len(), 1, "{name}");
        assert_matches(&orm2, &format!("{name}: up again")).await;
        assert_eq!(
            rows(&orm2, "SELECT id, title, content FROM articles ORDER BY id").await,
            articles_v1,
            "{name}"
        );

        orm1.close().await;
        orm2.close().await;
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
