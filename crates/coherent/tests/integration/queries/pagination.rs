//! Pagination: `find_and_count` in one statement where it can, and keyset cursors that walk
//! every order (NULLs and ties included) forward and backward without skipping or repeating
//! a row, with exact `has_next`/`has_previous`, and refuse tokens that were altered or made
//! for another query.

use super::*;
use coherent::{Error, LockMode, Page, PageRequest};

/// Six more books, with tied and NULL prices, for the walks.
async fn more_books(orm: &Orm) {
    let em = orm.em().fork();
    let dee = em.find_one_or_fail(Author::NAME.eq("Dee")).await.unwrap();
    for (i, price) in [Some(10), None, Some(30), Some(30), None, Some(20)]
        .into_iter()
        .enumerate()
    {
        em.persist(Book {
            id: 0,
            title: format!("Volume {i}"),
            pages: 100 + i as i32 * 50,
            price,
            author: Ref::to(&dee),
            genres: Collection::new(),
        })
        .unwrap();
    }
    em.flush().await.unwrap();
}

fn keys_of(books: &[Managed<Book>]) -> Vec<i64> {
    books.iter().map(|b| b.read().id).collect()
}

#[tokio::test]
async fn find_and_count_reads_page_and_total_in_one_statement() {
    for b in backends() {
        let orm = orm_for(&b).await;
        seed(&orm).await;
        more_books(&orm).await;
        let em = orm.em().fork();
        let log = StatementLog::capture();
        let options = FindOptions::default()
            .order_by([Book::PAGES.desc()])
            .limit(3)
            .offset(2);
        let (page, total) = em
            .find_and_count(Book::PAGES.gt(100), options)
            .await
            .unwrap();
        assert_eq!(total, 8, "{}", b.name);
        let pages: Vec<i32> = page.iter().map(|b| b.read().pages).collect();
        assert_eq!(pages, [300, 300, 250], "{}", b.name);
        let sql = log.take();
        assert_eq!(sql.len(), 1, "{}: {sql:?}", b.name);
        assert!(
            sql[0].contains("COUNT(*) OVER ()"),
            "{}: {}",
            b.name,
            sql[0]
        );

        // Past the last row, the page cannot tell: a COUNT follows.
        let (page, total) = em
            .find_and_count(
                Book::PAGES.gt(100),
                FindOptions::default().limit(5).offset(50),
            )
            .await
            .unwrap();
        assert!(page.is_empty());
        assert_eq!(total, 8, "{}", b.name);
        assert_eq!(log.take().len(), 2, "{}", b.name);
        // Nothing matches: no second statement.
        let (page, total) = em
            .find_and_count(Book::PAGES.gt(10_000), FindOptions::default().limit(5))
            .await
            .unwrap();
        assert!(page.is_empty() && total == 0);
        assert_eq!(log.take().len(), 1, "{}", b.name);
        // With a relation filter, and under a pessimistic lock (two statements: PostgreSQL
        // refuses window functions with FOR UPDATE).
        let (page, total) = em
            .find_and_count(
                Book::AUTHOR.is(Author::NAME.eq("Dee")),
                FindOptions::default().limit(2),
            )
            .await
            .unwrap();
        assert_eq!((page.len(), total), (2, 6), "{}", b.name);
        em.begin().await.unwrap();
        let (page, total) = em
            .find_and_count(
                Book::PRICE.is_null(),
                FindOptions::default()
                    .limit(1)
                    .lock_mode(LockMode::PessimisticWrite),
            )
            .await
            .unwrap();
        assert_eq!((page.len(), total), (1, 3), "{}", b.name);
        em.commit().await.unwrap();
    }
}

/// Reads every page forward from the start and backward from the end.
async fn walk(em: &EntityManager, order: Vec<Order>, size: u64) -> (Vec<i64>, Vec<i64>) {
    let options = FindOptions::default().order_by(order);
    let mut forward = Vec::new();
    let mut request = PageRequest::first(size);
    let mut first = true;
    for _ in 0..=12 {
        let page: Page<Book> = em
            .find_page(Filter::<Book>::all(), request.clone(), options.clone())
            .await
            .unwrap();
        assert_eq!(page.has_previous, !first, "has_previous going forward");
        assert_eq!(page.cursors().len(), page.items.len());
        forward.extend(keys_of(&page.items));
        first = false;
        match (page.has_next, page.end_cursor()) {
            (true, Some(end)) => request = PageRequest::first(size).after(end),
            _ => break,
        }
        assert!(
            forward.len() <= 10,
            "the forward walk repeats rows: {forward:?}"
        );
    }
    let mut backward: Vec<Vec<i64>> = Vec::new();
    let mut request = PageRequest::last(size);
    let mut last = true;
    for _ in 0..=12 {
        let page = em
            .find_page(Filter::<Book>::all(), request.clone(), options.clone())
            .await
            .unwrap();
        assert_eq!(page.has_next, !last, "has_next going backward");
        backward.push(keys_of(&page.items));
        last = false;
        match (page.has_previous, page.start_cursor()) {
            (true, Some(start)) => request = PageRequest::last(size).before(start),
            _ => break,
        }
        assert!(
            backward.concat().len() <= 10,
            "the backward walk repeats rows: {backward:?}"
        );
    }
    backward.reverse();
    (forward, backward.concat())
}

#[tokio::test]
async fn cursors_walk_every_order_with_nulls_and_ties_both_ways() {
    for b in backends() {
        let orm = orm_for(&b).await;
        seed(&orm).await;
        more_books(&orm).await;
        let em = orm.em().fork();
        for order in [
            vec![Book::PRICE.asc()],
            vec![Book::PRICE.desc()],
            vec![Book::PRICE.asc().nulls_last()],
            vec![Book::PRICE.desc().nulls_first()],
            vec![Book::PRICE.asc().nulls_first(), Book::PAGES.desc()],
            vec![Book::AUTHOR.desc(), Book::PRICE.desc().nulls_last()],
            vec![Book::ID.desc()],
        ] {
            // The order the database gives the whole set, with the key appended.
            let mut all_order = order.clone();
            all_order.push(Book::ID.asc());
            if order == [Book::ID.desc()] {
                all_order.pop();
            }
            let all = keys_of(
                &em.find_with(
                    Filter::<Book>::all(),
                    FindOptions::default().order_by(all_order),
                )
                .await
                .unwrap(),
            );
            assert_eq!(all.len(), 10);
            for size in [1, 3, 4, 10, 11] {
                let (forward, backward) = walk(&em, order.clone(), size).await;
                assert_eq!(forward, all, "{}: forward by {size}, {order:?}", b.name);
                assert_eq!(backward, all, "{}: backward by {size}, {order:?}", b.name);
            }
        }
    }
}

#[tokio::test]
async fn pages_are_stable_when_rows_come_and_go_before_them() {
    for b in backends() {
        let orm = orm_for(&b).await;
        seed(&orm).await;
        more_books(&orm).await;
        let em = orm.em().fork();
        let by_pages = FindOptions::default().order_by([Book::PAGES.asc()]);
        let first = em
            .find_page(
                Filter::<Book>::all(),
                PageRequest::first(4),
                by_pages.clone(),
            )
            .await
            .unwrap();
        let seen = keys_of(&first.items);
        // A row that sorts first appears and one of the first page goes away.
        let writer = orm.em().fork();
        let dee = writer
            .find_one_or_fail(Author::NAME.eq("Dee"))
            .await
            .unwrap();
        writer
            .persist(Book {
                id: 0,
                title: "Pamphlet".into(),
                pages: 1,
                price: None,
                author: Ref::to(&dee),
                genres: Collection::new(),
            })
            .unwrap();
        let gone = writer.find_one_or_fail::<Book>(seen[0]).await.unwrap();
        writer.remove(&gone).unwrap();
        writer.flush().await.unwrap();
        let next = em
            .find_page(
                Filter::<Book>::all(),
                PageRequest::first(100).after(first.end_cursor().unwrap()),
                by_pages.clone(),
            )
            .await
            .unwrap();
        let rest = keys_of(&next.items);
        assert!(
            rest.iter().all(|k| !seen.contains(k)),
            "{}: no repeats",
            b.name
        );
        assert_eq!(seen.len() + rest.len(), 10, "{}: none skipped", b.name);
        assert!(next.has_previous && !next.has_next, "{}", b.name);
    }
}

#[tokio::test]
async fn bad_cursors_are_refused_before_any_sql() {
    for b in backends() {
        let orm = orm_for(&b).await;
        seed(&orm).await;
        let em = orm.em().fork();
        let by_title = FindOptions::default().order_by([Book::TITLE.asc()]);
        let page = em
            .find_page(
                Filter::<Book>::all(),
                PageRequest::first(2),
                by_title.clone(),
            )
            .await
            .unwrap();
        let token = page.end_cursor().unwrap().to_owned();
        let mut altered = token.clone().into_bytes();
        let i = altered.len() / 2;
        altered[i] = if altered[i] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        // Another Orm on the same database: another random cursor key.
        let other_orm = coherent::Orm::builder()
            .url(b.url())
            .entity::<Country>()
            .entity::<Author>()
            .entity::<Book>()
            .entity::<Genre>()
            .build()
            .await
            .unwrap();
        let log = StatementLog::capture();
        let refusals = [
            em.find_page(
                Filter::<Book>::all(),
                PageRequest::first(2).after(&altered),
                by_title.clone(),
            )
            .await,
            em.find_page(
                Book::PAGES.gt(1),
                PageRequest::first(2).after(&token),
                by_title.clone(),
            )
            .await,
            em.find_page(
                Filter::<Book>::all(),
                PageRequest::last(2).before(&token),
                FindOptions::default().order_by([Book::TITLE.desc()]),
            )
            .await,
            em.find_page(
                Filter::<Book>::all(),
                PageRequest::first(2).after("not a token"),
                by_title.clone(),
            )
            .await,
            other_orm
                .em()
                .fork()
                .find_page(
                    Filter::<Book>::all(),
                    PageRequest::first(2).after(&token),
                    by_title.clone(),
                )
                .await,
        ];
        for (i, r) in refusals.into_iter().enumerate() {
            let err = r.unwrap_err();
            assert!(
                matches!(err, Error::InvalidCursor { .. }),
                "{}: refusal {i}: {err}",
                b.name
            );
        }
        let err = em
            .find_page(
                Filter::<Book>::all(),
                PageRequest::first(2),
                by_title.clone().offset(1),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidQuery(_)), "{}: {err}", b.name);
        let err = em
            .find_page(
                Filter::<Book>::all(),
                PageRequest::first(2),
                FindOptions::default().order_by([Book::AUTHOR.then(Author::NAME).asc()]),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidQuery(_)), "{}: {err}", b.name);
        let err = em
            .find_page(
                Filter::<Book>::all(),
                PageRequest::first(0),
                by_title.clone(),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidArgument(_)),
            "{}: {err}",
            b.name
        );
        assert!(log.take_all().is_empty(), "{}: no SQL", b.name);
        // The genuine token still works.
        let next = em
            .find_page(
                Filter::<Book>::all(),
                PageRequest::first(2).after(&token),
                by_title,
            )
            .await
            .unwrap();
        assert_eq!(next.items.len(), 2);
        assert!(next.has_previous && !next.has_next, "{}", b.name);
    }
}

#[tokio::test]
async fn cursors_hold_the_rows_values_not_unflushed_changes() {
    for b in backends() {
        let orm = orm_for(&b).await;
        seed(&orm).await;
        let em = orm.em().fork();
        let by_name = FindOptions::default().order_by([Author::NAME.asc()]);
        let first = em
            .find_page(
                Filter::<Author>::all(),
                PageRequest::first(2),
                by_name.clone(),
            )
            .await
            .unwrap();
        assert_eq!(names(&first.items), ["Ann", "Bob"], "{}", b.name);
        // Bob is renamed in memory only: the next page still follows the database's order.
        first.items[1].write().name = "Zed".into();
        let again = em
            .find_page(
                Filter::<Author>::all(),
                PageRequest::first(2),
                by_name.clone(),
            )
            .await
            .unwrap();
        let next = em
            .find_page(
                Filter::<Author>::all(),
                PageRequest::first(2).after(again.end_cursor().unwrap()),
                by_name,
            )
            .await
            .unwrap();
        assert_eq!(names(&next.items), ["Cid", "Dee"], "{}", b.name);
    }
}
