//! Table-level schema metadata an entity declares beside its columns: composite indexes and
//! unique constraints ([`IndexMeta`]), and what deleting a referenced row does to the rows
//! that reference it ([`OnDelete`]).
//!
//! Policy: every index has a deterministic name, so the catalog, constraint errors and
//! migrations name it the same on every dialect: `uq_<table>_<col>_<col>..` for a unique
//! constraint and `idx_<table>_<col>_<col>..` for an index, unless the entity names it.

/// A composite (or named) index or unique constraint, from
/// `#[entity(index(columns = [..]), unique(columns = [..]))]`.
///
/// ```
/// use coherent_core::IndexMeta;
/// let by_author_and_title = IndexMeta { name: "uq_books_author_id_title", columns: &["author_id", "title"], unique: true };
/// assert_eq!(by_author_and_title.columns.len(), 2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexMeta {
    /// The index (or constraint) name.
    pub name: &'static str,
    /// Its columns (column names, not field names), in index order.
    pub columns: &'static [&'static str],
    /// A unique constraint rather than a plain index.
    pub unique: bool,
}

/// What the database does to the rows that reference a row being deleted: the `ON DELETE`
/// rule of a foreign key (`#[many_to_one(on_delete = "cascade")]`).
///
/// ```
/// use coherent_core::OnDelete;
/// assert_eq!(OnDelete::parse("set null"), Some(OnDelete::SetNull));
/// assert_eq!(OnDelete::SetNull.sql(), "SET NULL");
/// assert_eq!(OnDelete::default(), OnDelete::NoAction);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum OnDelete {
    /// No rule (the SQL default): deleting a row that is still referenced fails, checked at
    /// the end of the statement.
    #[default]
    NoAction,
    /// Deleting a row that is still referenced fails at once.
    Restrict,
    /// The referencing rows are deleted too.
    Cascade,
    /// The referencing rows' foreign key becomes NULL (the column must be nullable).
    SetNull,
}

impl OnDelete {
    /// The rule as SQL spells it (`NO ACTION`, `RESTRICT`, `CASCADE`, `SET NULL`).
    pub fn sql(self) -> &'static str {
        match self {
            OnDelete::NoAction => "NO ACTION",
            OnDelete::Restrict => "RESTRICT",
            OnDelete::Cascade => "CASCADE",
            OnDelete::SetNull => "SET NULL",
        }
    }

    /// Reads a rule as SQL or an attribute spells it, in any case, with a space or an
    /// underscore (`"set null"`, `"SET_NULL"`, `"cascade"`); None for anything else.
    pub fn parse(rule: &str) -> Option<OnDelete> {
        match rule.trim().to_ascii_lowercase().replace('_', " ").as_str() {
            "no action" => Some(OnDelete::NoAction),
            "restrict" => Some(OnDelete::Restrict),
            "cascade" => Some(OnDelete::Cascade),
            "set null" => Some(OnDelete::SetNull),
            _ => None,
        }
    }
}
