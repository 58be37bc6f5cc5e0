//! What the server benches share: which servers to run on (their URLs from the environment)
//! and how both sides get their own tables on each.

use coherent::OrmBuilder;
use coherent::prelude::*;
use sqlx::{Connection, Executor};

#[derive(Clone, Copy, PartialEq)]
pub enum Server {
    Postgres,
    MariaDb,
}

/// The hand-written side: one connection, SQL by hand.
pub enum RawConn {
    Pg(sqlx::PgConnection),
    My(sqlx::MySqlConnection),
}

/// The servers whose URL is set (`COHERENT_PG_URL`, `COHERENT_MYSQL_URL`), with their names
/// and URLs; a server whose URL is unset is skipped with a note.
pub fn configured() -> Vec<(Server, &'static str, String)> {
    [
        (Server::Postgres, "COHERENT_PG_URL", "postgres"),
        (Server::MariaDb, "COHERENT_MYSQL_URL", "mariadb"),
    ]
    .into_iter()
    .filter_map(|(server, var, name)| match std::env::var(var) {
        Ok(url) => Some((server, name, url)),
        Err(_) => {
            eprintln!("{var} is not set: skipping {name}");
            None
        }
    })
    .collect()
}

/// Opens both sides on `url`, each with its own tables: in a schema (PostgreSQL) or database
/// (MariaDB) named `{prefix}_orm` / `{prefix}_raw`, dropped and created afresh, so the two
/// sides never share a table. Coherent gets the entities `register` adds and creates its
/// schema; the hand-written side's connection runs the same DDL.
pub async fn open(
    server: Server,
    url: &str,
    prefix: &str,
    register: impl FnOnce(OrmBuilder) -> OrmBuilder,
) -> (Orm, RawConn) {
    let admin = Orm::connect(url).await.unwrap();
    let (orm_db, raw_db) = (format!("{prefix}_orm"), format!("{prefix}_raw"));
    let (drop, create) = match server {
        Server::Postgres => ("DROP SCHEMA IF EXISTS {} CASCADE", "CREATE SCHEMA {}"),
        Server::MariaDb => ("DROP DATABASE IF EXISTS {}", "CREATE DATABASE {}"),
    };
    for s in [&orm_db, &raw_db] {
        for sql in [drop, create] {
            admin
                .em()
                .execute(&sql.replace("{}", s), vec![])
                .await
                .unwrap();
        }
    }
    let (orm_url, raw_url) = match server {
        Server::Postgres => {
            let sep = if url.contains('?') { '&' } else { '?' };
            (
                format!("{url}{sep}options[search_path]={orm_db}"),
                format!("{url}{sep}options[search_path]={raw_db}"),
            )
        }
        Server::MariaDb => {
            let base = url.split('?').next().unwrap();
            let server = base.rsplit_once('/').unwrap().0;
            (format!("{server}/{orm_db}"), format!("{server}/{raw_db}"))
        }
    };
    let orm = register(Orm::builder().url(&orm_url))
        .build()
        .await
        .unwrap();
    orm.schema().create().await.unwrap();
    let ddl = orm.schema().create_sql();
    let raw = match server {
        Server::Postgres => {
            let mut c = sqlx::PgConnection::connect(&raw_url).await.unwrap();
            for s in &ddl {
                c.execute(sqlx::AssertSqlSafe(s.clone())).await.unwrap();
            }
            RawConn::Pg(c)
        }
        Server::MariaDb => {
            let mut c = sqlx::MySqlConnection::connect(&raw_url).await.unwrap();
            for s in &ddl {
                c.execute(sqlx::AssertSqlSafe(s.clone())).await.unwrap();
            }
            RawConn::My(c)
        }
    };
    (orm, raw)
}
