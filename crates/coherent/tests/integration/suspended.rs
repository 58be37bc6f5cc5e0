//! Work beside a suspended transaction (issue 10, defects 2 and 3): a `RequiresNew` or
//! `NotSupported` scope inside a transaction must never wait for the transaction it
//! suspended, which waits for it. Every test is bounded: a regression fails instead of
//! hanging the suite.

use crate::common::*;
use coherent::prelude::*;
use std::time::{Duration, Instant};

fn propagation(p: Propagation) -> TxOptions {
    TxOptions {
        propagation: p,
        ..Default::default()
    }
}

/// `url` with one more query parameter.
fn with_param(url: &str, param: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{param}")
}

/// Runs `fut`, failing the test if it takes longer than a few seconds (it used to hang).
async fn bounded<F: std::future::Future>(what: &str, fut: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(15), fut)
        .await
        .unwrap_or_else(|_| panic!("{what}: hung"))
}

/// Asserts that a refusal came at once, not after a timeout.
fn at_once(start: Instant, what: &str) {
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{what}: refused after {:?}, not at once",
        start.elapsed()
    );
}

/// `NotSupported` inside a transaction on a pool of one: the only connection is pinned by the
/// suspended transaction, so the scope's query and flush fail at once with
/// `ConnectionsPinned` (SQLite waited forever, the servers for the acquire timeout); the
/// outer transaction goes on and commits its own write, and nothing of the scope is written.
#[tokio::test]
async fn not_supported_on_a_pool_the_suspended_transaction_holds_fails_at_once() {
    for b in backends() {
        let orm = suite_orm(&with_param(b.url(), "max_connections=1")).await;
        let em = orm.em().fork();
        let start = Instant::now();
        let name = b.name;
        bounded(
            b.name,
            em.transactional(|tx| async move {
                tx.persist(User::new("outer", "outer@x.io"))?;
                tx.flush().await?;
                let err = tx
                    .transactional_with(
                        propagation(Propagation::NotSupported),
                        |outside| async move { outside.count::<User>(Filter::all()).await },
                    )
                    .await
                    .unwrap_err();
                assert!(
                    matches!(err, Error::ConnectionsPinned { max_connections: 1 }),
                    "{name}: {err:?}"
                );
                assert!(!err.is_retryable());
                assert!(err.to_string().contains("wait forever"), "{err}");
                // A write outside the transaction is refused when its flush takes a connection.
                let err = tx
                    .transactional_with(
                        propagation(Propagation::NotSupported),
                        |outside| async move {
                            outside.persist(User::new("outside", "outside@x.io"))?;
                            Ok::<_, Error>(())
                        },
                    )
                    .await
                    .unwrap_err();
                assert!(
                    matches!(err, Error::ConnectionsPinned { max_connections: 1 }),
                    "{name}: {err:?}"
                );
                at_once(start, name);
                // The transaction itself goes on.
                assert_eq!(tx.count::<User>(Filter::all()).await?, 1);
                Ok::<_, Error>(())
            }),
        )
        .await
        .unwrap();
        let names: Vec<_> = user_rows(&orm).await.into_iter().map(|r| r.1).collect();
        assert_eq!(
            names,
            ["outer"],
            "{}: the outer transaction committed",
            b.name
        );
        // The pool serves the next unit of work.
        let after = orm.em().fork();
        after.persist(User::new("after", "after@x.io")).unwrap();
        after.flush().await.unwrap();
        assert_eq!(user_rows(&orm).await.len(), 2, "{}", b.name);
    }
}

/// `RequiresNew` needs a second connection: on a pool of one it fails at once with
/// `ConnectionsPinned` (it waited for the acquire timeout); with two, a `RequiresNew` inside
/// the `RequiresNew` finds both held by the task's two suspended transactions. The
/// transactions that could begin commit their own writes. (On SQLite `RequiresNew` inside a
/// transaction is `RequiresNewUnavailable`: one writer.)
#[tokio::test]
async fn requires_new_on_a_pool_the_suspended_transactions_hold_fails_at_once() {
    for b in backends().into_iter().filter(|b| b.is_server()) {
        for size in [1usize, 2] {
            let orm = suite_orm(&with_param(b.url(), &format!("max_connections={size}"))).await;
            let em = orm.em().fork();
            let start = Instant::now();
            let what = format!("{} with {size} connection(s)", b.name);
            let inner_what = what.clone();
            bounded(
                &what,
                em.transactional(|tx| async move {
                    tx.persist(User::new("outer", "outer@x.io"))?;
                    tx.flush().await?;
                    let requires_new = propagation(Propagation::RequiresNew);
                    let result = tx
                        .transactional_with(requires_new.clone(), |inner| async move {
                            inner.persist(User::new("inner", "inner@x.io"))?;
                            inner.flush().await?;
                            let err = inner
                                .transactional_with(requires_new, |innermost| async move {
                                    innermost.persist(User::new("innermost", "im@x.io"))?;
                                    Ok::<_, Error>(())
                                })
                                .await
                                .unwrap_err();
                            assert!(
                                matches!(err, Error::ConnectionsPinned { max_connections: 2 }),
                                "{err:?}"
                            );
                            Ok::<_, Error>(())
                        })
                        .await;
                    if size == 1 {
                        let err = result.unwrap_err();
                        assert!(
                            matches!(err, Error::ConnectionsPinned { max_connections: 1 }),
                            "{inner_what}: {err:?}"
                        );
                    } else {
                        result.unwrap();
                    }
                    at_once(start, &inner_what);
                    Ok::<_, Error>(())
                }),
            )
            .await
            .unwrap();
            let mut names: Vec<_> = user_rows(&orm).await.into_iter().map(|r| r.1).collect();
            names.sort();
            let expected: &[&str] = if size == 1 {
                &["outer"]
            } else {
                &["inner", "outer"]
            };
            assert_eq!(names, expected, "{what}: nothing half-written");
        }
    }
}
