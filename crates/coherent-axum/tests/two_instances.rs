//! The blog's stale-data story over real HTTP: two API instances (two `Orm` values, two axum
//! servers on 127.0.0.1) over one SQLite file. With `RequestContextLayer` every GET after a
//! PATCH on the other instance returns the new name; the control without it (one long-lived
//! EntityManager per instance) serves the stale one.
//!
//! The HTTP client is hand-written HTTP/1.1 over a tokio `TcpStream` (`Connection: close`).

use axum::Router;
use coherent::prelude::*;
use coherent_axum::RequestContextLayer;
use serde_json::{Value, json};

// The application under test is the example itself.
mod common;
use common::{Reply, Server, TempDb};

#[path = "../examples/users_api.rs"]
#[allow(dead_code)]
mod users_api;
use users_api::User;

/// The routes, with the service holding `service_em`, and the layer if given.
fn app(service_em: EntityManager, layer: Option<RequestContextLayer>) -> Router {
    let router = users_api::routes(service_em);
    match layer {
        Some(layer) => router.layer(layer),
        None => router,
    }
}

/// The real shape: the service holds the global EntityManager, the layer is installed.
fn layered_app(orm: &Orm) -> Router {
    users_api::app(orm)
}

// ---------------------------------------------------------------------------------------
// A database file, servers and a client.
// ---------------------------------------------------------------------------------------

impl TempDb {
    /// An Orm (an API instance) on the file.
    async fn orm(&self) -> Orm {
        Orm::builder()
            .url(self.url())
            .entity::<User>()
            .build()
            .await
            .expect("connect")
    }
}

impl Server {
    async fn patch_text(&self, path: &str, body: &str) -> Reply {
        self.send("PATCH", path, "text/plain", body).await
    }

    async fn patch_json(&self, path: &str, body: &Value) -> Reply {
        self.send_json("PATCH", path, body).await
    }
}

/// Creates the schema and seeds John (id 1) and Ann (id 2).
async fn seed(orm: &Orm) -> (i64, i64) {
    orm.schema().create().await.expect("schema");
    let em = orm.em().fork();
    let john = em
        .persist(User {
            id: 0,
            name: "John".into(),
            email: "john@example.com".into(),
        })
        .unwrap();
    let ann = em
        .persist(User {
            id: 0,
            name: "Ann".into(),
            email: "ann@example.com".into(),
        })
        .unwrap();
    em.flush().await.expect("seed");
    let ids = (john.read().id, ann.read().id);
    assert_eq!(ids, (1, 2));
    ids
}

// ---------------------------------------------------------------------------------------
// The tests.
// ---------------------------------------------------------------------------------------

const ROUNDS: usize = 20;

/// The blog's sequence, 20 times: GET on instance 1, PATCH on instance 2, GET on instance 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_get_after_the_other_instances_patch_is_never_stale() {
    let db = TempDb::new();
    let (orm1, orm2) = (db.orm().await, db.orm().await);
    let (john, _) = seed(&orm1).await;
    let (api1, api2) = (
        Server::start(layered_app(&orm1)).await,
        Server::start(layered_app(&orm2)).await,
    );
    let path = format!("/users/{john}");

    let first = api1.get(&path).await;
    assert_eq!(first.status, 200, "{first:?}");
    assert_eq!(first.json()["name"], "John");

    let mut previous = "John".to_string();
    for round in 0..ROUNDS {
        let name = if round == 0 {
            "Mike".to_string()
        } else {
            format!("Mike {round}")
        };
        let before = api1.get(&path).await;
        assert_eq!(before.status, 200, "round {round}: {before:?}");
        assert_eq!(before.json()["name"], previous.as_str(), "round {round}");

        // Alternate plain-text and JSON bodies.
        let patched = if round % 2 == 0 {
            api2.patch_text(&path, &name).await
        } else {
            api2.patch_json(&path, &json!({ "name": name })).await
        };
        assert_eq!(patched.status, 200, "round {round}: {patched:?}");
        assert_eq!(patched.json()["name"], name.as_str(), "round {round}");

        let after = api1.get(&path).await;
        assert_eq!(after.status, 200, "round {round}: {after:?}");
        assert_eq!(
            after.json()["name"],
            name.as_str(),
            "round {round}: instance 1 served stale data after instance 2's PATCH"
        );
        previous = name;
    }
}

/// The control: the same servers with one long-lived EntityManager per instance and no layer
/// serve the stale name, so the test above would catch the bug.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_one_long_lived_entity_manager_per_instance_serves_stale_data() {
    let db = TempDb::new();
    let (orm1, orm2) = (db.orm().await, db.orm().await);
    let (john, _) = seed(&orm1).await;
    let (api1, api2) = (
        Server::start(app(orm1.em().fork(), None)).await,
        Server::start(app(orm2.em().fork(), None)).await,
    );
    let path = format!("/users/{john}");
    assert_eq!(api1.get(&path).await.json()["name"], "John");
    let patched = api2.patch_text(&path, "Mike").await;
    assert_eq!(patched.status, 200, "{patched:?}");
    assert_eq!(
        api1.get(&path).await.json()["name"],
        "John",
        "the long-lived identity map answers from memory"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_user_is_404_and_a_taken_email_is_409() {
    let db = TempDb::new();
    let orm = db.orm().await;
    let (john, _ann) = seed(&orm).await;
    let api = Server::start(layered_app(&orm)).await;

    let missing = api.get("/users/999").await;
    assert_eq!(missing.status, 404, "{missing:?}");
    assert_eq!(missing.json()["error"], "not_found");
    assert_eq!(missing.json()["message"], "User not found (999)");
    let missing = api.patch_text("/users/999", "Nobody").await;
    assert_eq!(missing.status, 404, "{missing:?}");

    let taken = api
        .patch_json(
            &format!("/users/{john}"),
            &json!({ "email": "ann@example.com" }),
        )
        .await;
    assert_eq!(taken.status, 409, "{taken:?}");
    assert_eq!(taken.json()["error"], "conflict");
    assert!(
        taken.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("unique constraint violated"),
        "{taken:?}"
    );
    // The failed request left nothing behind: the next one sees the row unchanged.
    let john_now = api.get(&format!("/users/{john}")).await.json();
    assert_eq!(john_now["email"], "john@example.com");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_extractor_hands_each_request_its_own_fork() {
    let db = TempDb::new();
    let orm = db.orm().await;
    seed(&orm).await;
    let api = Server::start(layered_app(&orm)).await;

    let mut ids = Vec::new();
    for _ in 0..5 {
        let reply = api.get("/debug/entity-manager").await;
        assert_eq!(reply.status, 200, "{reply:?}");
        let json = reply.json();
        assert_eq!(json["global"], false, "{json}");
        assert_eq!(
            json["service_resolves_to_it"], true,
            "the service's global EntityManager resolves to the extracted one: {json}"
        );
        let id = json["id"].as_u64().unwrap();
        assert_ne!(id, orm.em().id(), "not the global EntityManager");
        assert!(!ids.contains(&id), "a fresh EntityManager per request");
        ids.push(id);
    }

    // Concurrent requests each get their own too.
    let addr = api.addr;
    let replies =
        join_all((0..8).map(|_| common::request(addr, "GET", "/debug/entity-manager", None))).await;
    let mut concurrent: Vec<u64> = replies
        .iter()
        .map(|r| r.json()["id"].as_u64().unwrap())
        .collect();
    concurrent.sort_unstable();
    concurrent.dedup();
    assert_eq!(concurrent.len(), 8, "{replies:?}");
    assert!(concurrent.iter().all(|id| !ids.contains(id)));
}

/// Runs the futures concurrently, each on a task of its own; their outputs in order.
async fn join_all<F: Future<Output = Reply> + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<Reply> {
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.expect("request task"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_layer_the_extractor_and_the_global_entity_manager_fail_with_500() {
    let db = TempDb::new();
    let orm = db.orm().await;
    let (john, _) = seed(&orm).await;
    let api = Server::start(app(orm.em().clone(), None)).await;

    let extracted = api.get("/debug/entity-manager").await;
    assert_eq!(extracted.status, 500, "{extracted:?}");
    let json = extracted.json();
    assert_eq!(json["error"], "request_context_layer_missing");
    assert!(
        json["message"]
            .as_str()
            .unwrap()
            .starts_with("RequestContextLayer is not installed"),
        "{json}"
    );

    let global = api.get(&format!("/users/{john}")).await;
    assert_eq!(global.status, 500, "{global:?}");
    let json = global.json();
    assert_eq!(
        json["error"], "global_context",
        "Error::GlobalContext: {json}"
    );
    assert!(
        json["message"]
            .as_str()
            .unwrap()
            .starts_with("Using global EntityManager instance methods"),
        "{json}"
    );

    let patched = api.patch_text(&format!("/users/{john}"), "Mike").await;
    assert_eq!(patched.status, 500, "{patched:?}");
    assert_eq!(patched.json()["error"], "global_context");
    // Nothing was written.
    let name: String = orm
        .em()
        .query("SELECT name FROM users WHERE id = ?", vec![john.into()])
        .await
        .unwrap()[0]
        .get("name")
        .unwrap();
    assert_eq!(name, "John");
}
