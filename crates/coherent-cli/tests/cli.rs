//! The `coherent` command line end to end, on a SQLite file: generate from the entities,
//! apply, evolve, revert; and the refusals.
#![allow(missing_docs)]

use coherent::{Entity, Orm, OrmBuilder};
use coherent_cli::{CliError, run_from};
use std::path::{Path, PathBuf};

mod v1 {
    use coherent::Entity;

    #[derive(Entity, Clone, Debug)]
    #[entity(table = "members")]
    pub struct Member {
        #[primary_key]
        pub id: i64,
        #[column(unique)]
        pub email: String,
    }
}

mod v2 {
    use coherent::Entity;

    /// v1 plus a nullable field and a composite index.
    #[derive(Entity, Clone, Debug)]
    #[entity(table = "members", index(columns = ["nickname", "email"]))]
    pub struct Member {
        #[primary_key]
        pub id: i64,
        #[column(unique)]
        pub email: String,
        pub nickname: Option<String>,
    }
}

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("coherent-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
    fn url(&self) -> String {
        format!("sqlite://{}", self.0.join("app.db").display())
    }
    fn migrations(&self) -> PathBuf {
        self.0.join("migrations")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn cli(s: &Scratch, builder: Option<OrmBuilder>, args: &[&str]) -> Result<String, CliError> {
    let url = s.url();
    let dir = s.migrations();
    let mut all = vec![
        "coherent",
        "--database-url",
        url.as_str(),
        "--migrations",
        dir.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    let mut out = Vec::new();
    run_from(builder, all, &mut out).await?;
    Ok(String::from_utf8(out).unwrap())
}

fn with<T: Entity>() -> Option<OrmBuilder> {
    Some(Orm::builder().entity::<T>())
}

fn migration_dirs(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

async fn columns(s: &Scratch) -> Vec<String> {
    let orm = Orm::connect(&s.url()).await.unwrap();
    let rows = orm
        .em()
        .query(
            "SELECT name FROM pragma_table_info('members') ORDER BY cid",
            vec![],
        )
        .await
        .unwrap();
    orm.close().await;
    rows.iter().map(|r| r.get("name").unwrap()).collect()
}

#[tokio::test]
async fn generate_apply_evolve_and_revert() {
    let s = Scratch::new("flow");
    let out = cli(&s, with::<v1::Member>(), &["migration", "generate", "init"])
        .await
        .unwrap();
    assert!(
        out.contains("wrote ") && out.contains("create table members"),
        "{out}"
    );
    let dirs = migration_dirs(&s.migrations());
    assert_eq!(dirs.len(), 1);
    assert!(dirs[0].ends_with("_init"), "{dirs:?}");
    let up_sql = std::fs::read_to_string(s.migrations().join(&dirs[0]).join("up.sql")).unwrap();
    assert!(up_sql.contains("CREATE TABLE \"members\""), "{up_sql}");
    assert!(s.migrations().join(".snapshot-sqlite.json").exists());

    // Not applied yet: the diff still shows it, status says pending, and generating again
    // from the database is refused.
    let diff = cli(&s, with::<v1::Member>(), &["schema", "diff"])
        .await
        .unwrap();
    assert!(diff.contains("CREATE TABLE \"members\""), "{diff}");
    let status = cli(&s, None, &["migration", "status"]).await.unwrap();
    assert!(
        status.contains("_init") && status.contains("pending"),
        "{status}"
    );
    let err = cli(
        &s,
        with::<v1::Member>(),
        &["migration", "generate", "again"],
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, CliError::PendingMigrations { pending } if pending.len() == 1),
        "{err}"
    );
    assert_eq!(migration_dirs(&s.migrations()).len(), 1, "nothing written");

    // The standalone binary (no entities) applies it.
    let out = cli(&s, None, &["migration", "up"]).await.unwrap();
    assert!(out.contains("applied ") && out.contains("_init"), "{out}");
    assert_eq!(columns(&s).await, ["id", "email"]);
    let diff = cli(&s, with::<v1::Member>(), &["schema", "diff"])
        .await
        .unwrap();
    assert!(diff.contains("matches the entities"), "{diff}");
    let out = cli(
        &s,
        with::<v1::Member>(),
        &["migration", "generate", "noop", "--from-snapshot"],
    )
    .await
    .unwrap();
    assert!(out.contains("no migration written"), "{out}");
    // The CI check: in step with the snapshot; v2 is not.
    cli(
        &s,
        with::<v1::Member>(),
        &["schema", "diff", "--from-snapshot", "--check"],
    )
    .await
    .unwrap();
    let err = cli(
        &s,
        with::<v2::Member>(),
        &["schema", "diff", "--from-snapshot", "--check"],
    )
    .await
    .unwrap_err();
    assert!(matches!(err, CliError::SchemaDrift { changes: 2 }), "{err}");

    // v2: from the snapshot (no database needed), then applied.
    let out = cli(
        &s,
        with::<v2::Member>(),
        &["migration", "generate", "nickname", "--from-snapshot"],
    )
    .await
    .unwrap();
    assert!(out.contains("add column members.nickname"), "{out}");
    assert!(
        out.contains("add index idx_members_nickname_email"),
        "{out}"
    );
    cli(&s, None, &["migration", "up"]).await.unwrap();
    assert_eq!(columns(&s).await, ["id", "email", "nickname"]);
    let dump = cli(&s, None, &["schema", "dump"]).await.unwrap();
    assert!(dump.contains("\"idx_members_nickname_email\""), "{dump}");
    let json = cli(&s, None, &["schema", "dump", "--json"]).await.unwrap();
    assert!(json.contains("\"dialect\": \"sqlite\""), "{json}");

    // Down one, then the status shows it pending again.
    let out = cli(&s, None, &["migration", "down"]).await.unwrap();
    assert!(
        out.contains("reverted ") && out.contains("_nickname"),
        "{out}"
    );
    assert_eq!(columns(&s).await, ["id", "email"]);
    let status = cli(&s, None, &["migration", "status"]).await.unwrap();
    let lines: Vec<&str> = status.lines().collect();
    assert!(
        lines[0].contains("_init") && lines[0].contains("applied"),
        "{status}"
    );
    assert!(
        lines[1].contains("_nickname") && lines[1].contains("pending"),
        "{status}"
    );
}

#[tokio::test]
async fn refusals_are_typed() {
    let s = Scratch::new("refusals");
    // Without the application's entities, nothing to diff against.
    let err = cli(&s, None, &["schema", "diff"]).await.unwrap_err();
    assert!(
        matches!(
            err,
            CliError::NoEntities {
                command: "schema diff"
            }
        ),
        "{err}"
    );
    let err = cli(&s, None, &["migration", "generate", "x"])
        .await
        .unwrap_err();
    assert!(matches!(err, CliError::NoEntities { .. }), "{err}");
    // A wrong command line.
    let err = cli(&s, None, &["migration", "sideways"]).await.unwrap_err();
    assert!(matches!(err, CliError::Usage(_)), "{err}");
    // `resolve` needs --applied or --rolled-back.
    let err = cli(&s, None, &["migration", "resolve", "x"])
        .await
        .unwrap_err();
    assert!(matches!(err, CliError::Usage(_)), "{err}");
    // Down with nothing applied: refused, nothing changed.
    cli(&s, with::<v1::Member>(), &["migration", "generate", "init"])
        .await
        .unwrap();
    let err = cli(&s, None, &["migration", "down"]).await.unwrap_err();
    assert!(
        matches!(
            err,
            CliError::Migrate(coherent_migrate::Error::NotEnoughApplied { .. })
        ),
        "{err}"
    );
    // A malformed migration names its file; nothing is applied.
    let dirs = migration_dirs(&s.migrations());
    std::fs::write(
        s.migrations().join(&dirs[0]).join("up.sql"),
        "CREATE TABLE 'oops (id INT);",
    )
    .unwrap();
    let err = cli(&s, None, &["migration", "up"]).await.unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(
            err,
            CliError::Migrate(coherent_migrate::Error::Malformed { .. })
        ),
        "{text}"
    );
    assert!(text.contains("up.sql"), "{text}");
    assert!(columns(&s).await.is_empty());
}
