//! [`Snapshot`]: the schema the migrations produce, kept in a file beside them, so a new
//! migration can be generated (and CI can check that none is missing) without a database.
//!
//! Policy: one JSON file per dialect (`migrations/.snapshot-postgres.json`), rewritten by
//! every `migration generate`; it is the schema after the newest migration, in the model's
//! canonical form, and is reviewed like the SQL beside it.

use crate::model::Schema;
use crate::{Error, Result};
use coherent_core::Dialect;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A schema as the migrations leave it, for one dialect.
///
/// ```
/// use coherent_core::Dialect;
/// use coherent_migrate::Snapshot;
/// use coherent_migrate::model::{Schema, Table};
/// let mut schema = Schema::default();
/// schema.insert(Table::new("users"));
/// let snapshot = Snapshot::new(Dialect::Sqlite, schema);
/// let text = snapshot.to_json();
/// assert_eq!(Snapshot::from_json(&text, "x.json".as_ref()).unwrap(), snapshot);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The dialect the schema is spelled in (`sqlite`, `postgres`, `mysql`).
    pub dialect: String,
    /// The schema.
    pub schema: Schema,
}

impl Snapshot {
    /// A snapshot of `schema` in `dialect`.
    pub fn new(dialect: Dialect, schema: Schema) -> Snapshot {
        Snapshot {
            dialect: dialect_name(dialect).to_owned(),
            schema,
        }
    }

    /// The snapshot file of `dialect` in the migrations directory `dir`.
    ///
    /// ```
    /// use coherent_core::Dialect;
    /// use coherent_migrate::Snapshot;
    /// let path = Snapshot::path("migrations".as_ref(), Dialect::Postgres);
    /// assert_eq!(path, std::path::Path::new("migrations/.snapshot-postgres.json"));
    /// ```
    pub fn path(dir: &Path, dialect: Dialect) -> PathBuf {
        file_in(dir, dialect_name(dialect))
    }

    /// The snapshot as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a schema serializes");
        text.push('\n');
        text
    }

    /// Reads a snapshot from its JSON text (`path` names it in errors).
    pub fn from_json(text: &str, path: &Path) -> Result<Snapshot> {
        serde_json::from_str(text).map_err(|e| Error::Snapshot {
            path: path.to_owned(),
            reason: e.to_string(),
        })
    }

    /// Reads the snapshot of `dialect` in `dir`; an empty schema if there is none yet. A
    /// snapshot of another dialect, or a file that is not one, is [`Error::Snapshot`].
    ///
    /// ```
    /// use coherent_core::Dialect;
    /// use coherent_migrate::Snapshot;
    /// use coherent_migrate::model::{Schema, Table};
    /// let dir = std::env::temp_dir().join(format!("coherent-doc-snapshot-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// assert!(Snapshot::load(&dir, Dialect::Sqlite)?.schema.tables.is_empty()); // none yet
    /// let mut schema = Schema::default();
    /// schema.insert(Table::new("users"));
    /// Snapshot::new(Dialect::Sqlite, schema.clone()).save(&dir)?;
    /// assert_eq!(Snapshot::load(&dir, Dialect::Sqlite)?.schema, schema);
    /// std::fs::copy(Snapshot::path(&dir, Dialect::Sqlite), Snapshot::path(&dir, Dialect::MySql)).unwrap();
    /// assert!(matches!(Snapshot::load(&dir, Dialect::MySql), Err(coherent_migrate::Error::Snapshot { .. })));
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// # Ok::<(), coherent_migrate::Error>(())
    /// ```
    pub fn load(dir: &Path, dialect: Dialect) -> Result<Snapshot> {
        let path = Snapshot::path(dir, dialect);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let snapshot = Snapshot::from_json(&text, &path)?;
                if snapshot.dialect != dialect_name(dialect) {
                    return Err(Error::Snapshot {
                        path,
                        reason: format!(
                            "it is a {} snapshot, not {}",
                            snapshot.dialect,
                            dialect_name(dialect)
                        ),
                    });
                }
                Ok(snapshot)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Ok(Snapshot::new(dialect, Schema::default()))
            }
            Err(source) => Err(Error::Io { path, source }),
        }
    }

    /// Writes the snapshot of its dialect into `dir` (see [`Snapshot::load`] for an
    /// example); returns the file.
    pub fn save(&self, dir: &Path) -> Result<PathBuf> {
        let path = file_in(dir, &self.dialect);
        std::fs::write(&path, self.to_json()).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }
}

/// The snapshot file of the dialect named `dialect` in `dir`.
fn file_in(dir: &Path, dialect: &str) -> PathBuf {
    dir.join(format!(".snapshot-{dialect}.json"))
}

/// The dialect's name in file names and snapshots.
pub fn dialect_name(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "sqlite",
        Dialect::Postgres => "postgres",
        Dialect::MySql => "mysql",
    }
}
