//! Peak memory of reading 1 000 000 rows (issue 13, item 6): `em.stream` beside `em.find` of
//! the same rows, on a SQLite file. Not a timing benchmark: it prints, per way of reading,
//! the rows read, the process's peak resident memory and the elapsed time, a figure for
//! BENCHMARKS.md.
//!
//! Peak RSS is per process, so each reading runs in a process of its own: this binary sets up
//! the database (the `author` table of the unit-of-work bench, filled by rusqlite with
//! multi-row INSERTs in one transaction), then runs itself once per reading
//! (`--probe <how> <db>`); the child reads, then reports its `VmHWM` from `/proc/self/status`
//! (Linux). A third child only opens the Orm and counts the rows: the floor every process
//! pays (the runtime, the connection threads, SQLite's page cache).
//!
//! Run: `cargo bench -p coherent-bench --bench stream_memory` (`BENCH_ROWS=100000` picks
//! another size).

mod harness;

use coherent::prelude::*;
use harness::author::Author;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--probe") {
        probe(&args[i + 1], Path::new(&args[i + 2]));
        return;
    }
    let rows = harness::size("BENCH_ROWS", 1_000_000);
    let db = harness::temp_db("stream-memory");
    let start = Instant::now();
    setup(&db, rows);
    println!(
        "setup: {rows} rows in {} ({:.1} s)",
        db.display(),
        start.elapsed().as_secs_f64()
    );
    println!();
    println!("| reading | rows | peak RSS | elapsed |");
    println!("|---|---|---|---|");
    for how in ["open", "stream", "find"] {
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["--probe", how, &db.display().to_string()])
            .output()
            .expect("run the probe");
        assert!(
            out.status.success(),
            "probe {how} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = String::from_utf8(out.stdout).unwrap();
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [counted, hwm_kb, ms] = fields[..] else {
            panic!("probe {how} said: {line}");
        };
        let label = match how {
            "open" => "open the Orm, `count` (the floor)",
            "stream" => "`em.stream::<Author>(Filter::all(), ..)`, counting",
            _ => "`em.find::<Author>(Filter::all())`",
        };
        println!(
            "| {label} | {counted} | {:.1} MB | {ms} ms |",
            hwm_kb.parse::<f64>().unwrap() / 1024.0
        );
    }
    harness::remove_db(&db);
}

/// Creates the `author` table in a new file at `db` and fills it with `rows` rows.
fn setup(db: &Path, rows: usize) {
    let ddl = harness::runtime().block_on(async {
        let orm = Orm::builder()
            .url("sqlite::memory:")
            .entity::<Author>()
            .build()
            .await
            .unwrap();
        orm.schema().create_sql()
    });
    let mut conn = harness::rusqlite_open(db, &ddl);
    let tx = conn.transaction().unwrap();
    {
        const PER: usize = 500;
        let values = vec!["(?, ?, ?, ?)"; PER].join(", ");
        let sql = format!("INSERT INTO author (name, email, age, version) VALUES {values}");
        let mut insert = tx.prepare(&sql).unwrap();
        let mut row = 0;
        while row < rows {
            let n = PER.min(rows - row);
            let mut params: Vec<rusqlite::types::Value> = Vec::with_capacity(n * 4);
            for i in row..row + n {
                let a = harness::author::author(i);
                params.extend([
                    a.name.into(),
                    a.email.into(),
                    i64::from(a.age).into(),
                    a.version.into(),
                ]);
            }
            if n == PER {
                insert.execute(rusqlite::params_from_iter(params)).unwrap();
            } else {
                let values = vec!["(?, ?, ?, ?)"; n].join(", ");
                tx.execute(
                    &format!("INSERT INTO author (name, email, age, version) VALUES {values}"),
                    rusqlite::params_from_iter(params),
                )
                .unwrap();
            }
            row += n;
        }
    }
    tx.commit().unwrap();
}

/// One reading, in this process: prints the rows read, the peak RSS in kB and the elapsed
/// milliseconds.
fn probe(how: &str, db: &Path) {
    let rt = harness::runtime();
    let (rows, elapsed) = rt.block_on(async {
        let orm = Orm::builder()
            .url(format!("sqlite://{}", db.display()))
            .entity::<Author>()
            .build()
            .await
            .unwrap();
        let em = orm.em().fork();
        let start = Instant::now();
        let rows = match how {
            "open" => em.count::<Author>(Filter::all()).await.unwrap() as usize,
            "stream" => {
                let mut stream = em
                    .stream::<Author>(Filter::all(), FindOptions::default())
                    .unwrap();
                let (mut rows, mut ages) = (0usize, 0i64);
                while let Some(author) = stream.next().await {
                    let author = author.unwrap();
                    rows += 1;
                    ages += i64::from(author.age);
                }
                std::hint::black_box(ages);
                rows
            }
            "find" => {
                let all = em.find::<Author>(Filter::all()).await.unwrap();
                std::hint::black_box(&all);
                all.len()
            }
            other => panic!("unknown probe {other}"),
        };
        let elapsed = start.elapsed();
        orm.close().await;
        (rows, elapsed)
    });
    println!("{rows} {} {}", peak_rss_kb(), elapsed.as_millis());
}

/// The process's peak resident set (`VmHWM`), in kB.
fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}
