//! Many-to-many through a join table (`#[many_to_many]` / `#[many_to_many(mapped_by)]`):
//! the join table's DDL, link rows inserted and deleted as the owning collection changes
//! (after the keys of new rows are known), select-in populate from both sides in one query
//! per level, the inverse side refusing changes, and memory after a failed flush or a
//! rollback.

use crate::common::*;
use coherent::Error;
use coherent::prelude::*;

#[derive(Entity, Clone, Debug)]
#[entity(table = "articles")]
pub struct Article {
    #[primary_key]
    pub id: i64,
    pub title: String,
    #[many_to_many]
    pub tags: Collection<Label>,
}

#[derive(Entity, Clone, Debug)]
#[entity(table = "labels")]
pub struct Label {
    #[primary_key]
    pub id: i64,
    #[column(unique)]
    pub name: String,
    #[many_to_many(mapped_by = "tags")]
    pub articles: Collection<Article>,
}

async fn orm_for(b: &Backend) -> Orm {
    b.orm_with(|o| o.entity::<Article>().entity::<Label>())
        .await
}

fn article(title: &str) -> Article {
    Article {
        id: 0,
        title: title.into(),
        tags: Collection::new(),
    }
}

fn label(name: &str) -> Label {
    Label {
        id: 0,
        name: name.into(),
        articles: Collection::new(),
    }
}

async fn links(orm: &Orm) -> Vec<(i64, i64)> {
    orm.em()
        .fork()
        .query(
            "SELECT article_id, tag_id FROM articles_tags ORDER BY article_id, tag_id",
            vec![],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get_at::<i64>(0).unwrap(), r.get_at::<i64>(1).unwrap()))
        .collect()
}

async fn count(orm: &Orm, table: &str) -> i64 {
    orm.em()
        .fork()
        .query(&format!("SELECT COUNT(*) AS n FROM {table}"), vec![])
        .await
        .unwrap()[0]
        .get::<i64>("n")
        .unwrap()
}

#[tokio::test]
async fn new_owners_and_new_items_are_linked_in_one_flush() {
    for b in backends() {
        let orm = orm_for(&b).await;
        assert!(
            b.tables(&orm).await.contains(&"articles_tags".to_string()),
            "{}",
            b.name
        );
        let em = orm.em().fork();
        let a = em.persist(article("a")).unwrap();
        let rust = a.write().tags.add_new(label("rust")).unwrap();
        let orm_tag = a.write().tags.add_new(label("orm")).unwrap();
        let b2 = em.persist(article("b")).unwrap();
        b2.write().tags.add(&rust).unwrap();
        em.flush().await.unwrap();
        let (ai, bi) = (a.read().id, b2.read().id);
        let (ri, oi) = (rust.read().id, orm_tag.read().id);
        assert!(ai > 0 && ri > 0 && oi > 0, "{}: keys assigned", b.name);
        let mut expected = vec![(ai, ri), (ai, oi), (bi, ri)];
        expected.sort();
        assert_eq!(links(&orm).await, expected, "{}", b.name);
        // Written once: nothing left.
        let log = StatementLog::capture();
        em.flush().await.unwrap();
        assert!(log.take().is_empty(), "{}", b.name);
    }
}

#[tokio::test]
async fn populating_both_sides_of_100_owners_is_one_query_per_level() {
    for b in backends() {
        let orm = orm_for(&b).await;
        let seed = orm.em().fork();
        let labels: Vec<_> = (0..5)
            .map(|i| seed.persist(label(&format!("l{i}"))).unwrap())
            .collect();
        for i in 0..100 {
            let a = seed.persist(article(&format!("a{i:03}"))).unwrap();
            for l in labels.iter().skip(i % 3).take(2) {
                a.write().tags.add(l).unwrap();
            }
        }
        seed.flush().await.unwrap();
        assert_eq!(count(&orm, "articles_tags").await, 200, "{}", b.name);

        let em = orm.em().fork();
        let log = StatementLog::capture();
        let articles = em
            .find_with::<Article>(
                Filter::all(),
                FindOptions {
                    order_by: vec![Article::TITLE.asc()],
                    ..Default::default()
                }
                .populate(["tags", "tags.articles"]),
            )
            .await
            .unwrap();
        let statements = log.take();
        assert_eq!(statements.len(), 3, "{}: {statements:#?}", b.name);
        for (i, a) in articles.iter().enumerate() {
            let names: Vec<String> = a
                .read()
                .tags
                .items()
                .unwrap_or_else(|e| panic!("{} {i}: {e}", b.name))
                .iter()
                .map(|l| l.read().name.clone())
                .collect();
            let expected: Vec<String> = (i % 3..i % 3 + 2).map(|k| format!("l{k}")).collect();
            assert_eq!(names, expected, "{}", b.name);
        }
        // The inverse side, filled by the second level, holds the same instances.
        let l1 = articles[0].read().tags.items().unwrap()[1].clone();
        let back = l1.read().articles.items().unwrap().to_vec();
        assert!(
            back.iter().any(|x| Managed::ptr_eq(x, &articles[0])),
            "{}",
            b.name
        );
        assert_eq!(
            back.len() as i64,
            (0..100).filter(|i| (i % 3..i % 3 + 2).contains(&1)).count() as i64
        );
        // Joined strategy: many-to-many falls back to select-in (same queries, same result).
        em.clear().unwrap();
        log.take();
        em.find_with::<Article>(
            Filter::all(),
            FindOptions::default()
                .populate(["tags"])
                .strategy(LoadStrategy::Joined),
        )
        .await
        .unwrap();
        assert_eq!(log.take().len(), 2, "{}", b.name);
    }
}

#[tokio::test]
async fn removing_and_adding_items_deletes_and_inserts_link_rows_only() {
    for b in backends() {
        let orm = orm_for(&b).await;
        let seed = orm.em().fork();
        let a = seed.persist(article("a")).unwrap();
        let x = a.write().tags.add_new(label("x")).unwrap();
        a.write().tags.add_new(label("y")).unwrap();
        let z = seed.persist(label("z")).unwrap();
        seed.flush().await.unwrap();
        let (ai, xi, zi) = (a.read().id, x.read().id, z.read().id);

        let em = orm.em().fork();
        let a = em
            .find_one_with::<Article>(ai, FindOptions::default().populate(["tags"]))
            .await
            .unwrap()
            .unwrap();
        let x = em.find_one_or_fail::<Label>(xi).await.unwrap();
        let z = em.find_one_or_fail::<Label>(zi).await.unwrap();
        a.write().tags.remove(&x).unwrap();
        a.write().tags.add(&z).unwrap();
        let log = StatementLog::capture();
        em.flush().await.unwrap();
        let kinds = statement_kinds(&log.take());
        assert!(
            kinds.contains(&"DELETE FROM".to_string()),
            "{}: {kinds:?}",
            b.name
        );
        let yi = a.read().tags.items().unwrap()[0].read().id;
        let mut expected = vec![(ai, yi), (ai, zi)];
        expected.sort();
        assert_eq!(links(&orm).await, expected, "{}", b.name);
        assert_eq!(
            count(&orm, "labels").await,
            3,
            "{}: the label rows stay",
            b.name
        );

        // Deleting the owner deletes its link rows (ON DELETE CASCADE), not the labels.
        em.remove(&a).unwrap();
        em.flush().await.unwrap();
        assert!(links(&orm).await.is_empty(), "{}", b.name);
        assert_eq!(count(&orm, "labels").await, 3, "{}", b.name);
    }
}

#[tokio::test]
async fn changing_the_inverse_side_is_refused_before_any_sql() {
    for b in backends() {
        let orm = orm_for(&b).await;
        let seed = orm.em().fork();
        let a = seed.persist(article("a")).unwrap();
        seed.persist(label("free")).unwrap();
        seed.flush().await.unwrap();
        let ai = a.read().id;

        let em = orm.em().fork();
        let free = em
            .find_one_with::<Label>(Filter::all(), FindOptions::default().populate(["articles"]))
            .await
            .unwrap()
            .unwrap();
        let a = em.find_one_or_fail::<Article>(ai).await.unwrap();
        free.write().articles.add(&a).unwrap();
        let log = StatementLog::capture();
        let err = em.flush().await.unwrap_err();
        assert!(
            matches!(
                &err,
                Error::InverseSideChanged {
                    owning_entity: "Article",
                    owning_field: "tags",
                    ..
                }
            ) && err.to_string().contains("inverse side of Article.tags"),
            "{}: {err:?}",
            b.name
        );
        assert!(log.take().is_empty(), "{}", b.name);
        assert!(links(&orm).await.is_empty(), "{}", b.name);
    }
}

#[tokio::test]
async fn a_failed_link_flush_and_a_rollback_leave_memory_as_before() {
    for b in backends() {
        let orm = orm_for(&b).await;
        let em = orm.em().fork();
        let a = em.persist(article("a")).unwrap();
        em.persist(label("taken")).unwrap();
        em.flush().await.unwrap();

        // A new label whose insert fails: nothing is linked, and a retry links it once.
        let dup = a.write().tags.add_new(label("taken")).unwrap();
        let err = em.flush().await.unwrap_err();
        assert_eq!(
            err.constraint_kind(),
            Some(ConstraintKind::Unique),
            "{}",
            b.name
        );
        assert!(links(&orm).await.is_empty(), "{}", b.name);
        assert_eq!(dup.read().id, 0, "{}", b.name);
        dup.write().name = "fresh".into();
        em.flush().await.unwrap();
        assert_eq!(
            links(&orm).await,
            vec![(a.read().id, dup.read().id)],
            "{}",
            b.name
        );

        // A rolled-back transaction restores the collection; the row stays unlinked.
        em.begin().await.unwrap();
        a.write().tags.remove(&dup).unwrap();
        em.flush().await.unwrap();
        em.rollback().await.unwrap();
        assert_eq!(a.read().tags.len().unwrap(), 1, "{}", b.name);
        assert_eq!(links(&orm).await.len(), 1, "{}", b.name);
        let log = StatementLog::capture();
        em.flush().await.unwrap();
        assert!(log.take().is_empty(), "{}", b.name);
    }
}
