//! Canonical spellings of column types and defaults, per dialect, so that what the entities
//! render and what the catalog reports compare equal when they mean the same thing.
//!
//! Policy: canonical forms are lowercase with single spaces and no space after a comma.
//! - PostgreSQL: the catalog's aliases become the DDL's names (`int8` → `bigint`,
//!   `timestamp with time zone` → `timestamptz`, `character(2)` → `char(2)`); defaults lose
//!   their casts (`'a'::text` → `'a'`), and a number the catalog quotes to cast it is a
//!   number again (`'-1'::integer` → `-1`).
//! - Every dialect: a number default loses the zeros that end its fraction (`1.50` → `1.5`;
//!   MariaDB reports `DEFAULT 0` of a `DECIMAL(38, 10)` as `0.0000000000`).
//! - MySQL/MariaDB: the display width of integers goes (`bigint(20)` → `bigint`),
//!   `tinyint(1)` is `boolean`, `json` is `longtext` (MariaDB stores JSON as `LONGTEXT`
//!   with a check), character sets and collations are not part of the type; a `NULL`
//!   default is no default, `true`/`false` defaults are `1`/`0` (what the catalog reports
//!   for a `BOOLEAN`); `RESTRICT` is `NO ACTION` ([`on_delete`]).
//! - SQLite: the declared type, lowercased (SQLite keeps it as written).

use coherent_core::{Dialect, OnDelete};

/// The canonical spelling of the column type `raw` in `dialect`.
///
/// ```
/// use coherent_core::Dialect;
/// use coherent_migrate::model::canonical::column_type;
/// assert_eq!(column_type(Dialect::Postgres, "INT8"), "bigint");
/// assert_eq!(column_type(Dialect::Postgres, "timestamp with time zone"), "timestamptz");
/// assert_eq!(column_type(Dialect::Postgres, "timestamp(3) with time zone"), "timestamptz(3)");
/// assert_eq!(column_type(Dialect::Postgres, "character varying(255)"), "varchar(255)");
/// assert_eq!(column_type(Dialect::Postgres, "character(2)"), "char(2)");
/// assert_eq!(column_type(Dialect::Postgres, "double precision"), "double precision");
/// assert_eq!(column_type(Dialect::MySql, "bigint(20)"), "bigint");
/// assert_eq!(column_type(Dialect::MySql, "tinyint(1)"), "boolean");
/// assert_eq!(column_type(Dialect::MySql, "VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin"), "varchar(255)");
/// assert_eq!(column_type(Dialect::MySql, "DECIMAL(38, 10)"), "decimal(38,10)");
/// assert_eq!(column_type(Dialect::MySql, "int(11)"), "int");
/// assert_eq!(column_type(Dialect::MySql, "bigint(20) unsigned"), "bigint unsigned");
/// assert_eq!(column_type(Dialect::MySql, "JSON"), "longtext");
/// assert_eq!(column_type(Dialect::Sqlite, "INTEGER"), "integer");
/// ```
pub fn column_type(dialect: Dialect, raw: &str) -> String {
    let t = spaced(&raw.to_ascii_lowercase());
    match dialect {
        Dialect::Sqlite => t,
        Dialect::Postgres => postgres_type(t),
        Dialect::MySql => mysql_type(t),
    }
}

/// Single spaces, none after a comma or before an opening parenthesis.
fn spaced(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace(", ", ",")
        .replace(" ,", ",")
        .replace(" (", "(")
}

fn postgres_type(t: String) -> String {
    let alias = match t.as_str() {
        "int2" => "smallint",
        "int" | "int4" => "integer",
        "int8" => "bigint",
        "float4" => "real",
        "float8" => "double precision",
        "bool" => "boolean",
        "timestamp with time zone" => "timestamptz",
        "timestamp without time zone" => "timestamp",
        "time with time zone" => "timetz",
        "time without time zone" => "time",
        "decimal" => "numeric",
        "character varying" => "varchar",
        "character" => "char",
        _ => "",
    };
    if !alias.is_empty() {
        return alias.to_owned();
    }
    // `timestamp(3) with time zone` → `timestamptz(3)`.
    for (long, short) in [("timestamp", "timestamp"), ("time", "time")] {
        if let Some(rest) = t.strip_prefix(long)
            && let Some(precision) = rest.strip_prefix('(')
            && let Some((precision, zone)) = precision.split_once(')')
        {
            let short = match zone.trim() {
                "with time zone" => format!("{short}tz"),
                "without time zone" | "" => short.to_owned(),
                _ => continue,
            };
            return format!("{short}({precision})");
        }
    }
    for (long, short) in [
        ("character varying(", "varchar("),
        ("character(", "char("),
        ("decimal(", "numeric("),
    ] {
        if let Some(rest) = t.strip_prefix(long) {
            return format!("{short}{rest}");
        }
    }
    t
}

fn mysql_type(t: String) -> String {
    // Character set and collation are not part of the type.
    let mut t = t;
    for marker in [" character set ", " collate "] {
        if let Some(at) = t.find(marker) {
            t.truncate(at);
        }
    }
    if t == "tinyint(1)" || t == "bool" || t == "boolean" {
        return "boolean".into();
    }
    if t == "json" {
        return "longtext".into();
    }
    if t == "integer" {
        return "int".into();
    }
    for int in ["tinyint", "smallint", "mediumint", "int", "bigint"] {
        if let Some(rest) = t.strip_prefix(int)
            && let Some(after) = rest.strip_prefix('(')
            && let Some(close) = after.find(')')
        {
            return format!("{int}{}", &after[close + 1..]);
        }
    }
    t
}

/// The canonical spelling of the default `raw` in `dialect`; None where it means no default.
///
/// ```
/// use coherent_core::Dialect;
/// use coherent_migrate::model::canonical::default;
/// assert_eq!(default(Dialect::Postgres, "'draft'::text").as_deref(), Some("'draft'"));
/// assert_eq!(default(Dialect::Postgres, "(0)").as_deref(), Some("0"));
/// assert_eq!(default(Dialect::Postgres, "'-1'::integer").as_deref(), Some("-1"));
/// assert_eq!(default(Dialect::Postgres, "'-1.5'::numeric(10,2)").as_deref(), Some("-1.5"));
/// assert_eq!(default(Dialect::Postgres, "'-1'::text").as_deref(), Some("'-1'"));
/// assert_eq!(default(Dialect::Postgres, "now()").as_deref(), Some("current_timestamp"));
/// assert_eq!(default(Dialect::Postgres, "'{}'::jsonb").as_deref(), Some("'{}'"));
/// assert_eq!(default(Dialect::MySql, "NULL"), None);
/// assert_eq!(default(Dialect::MySql, r"'it\'s'").as_deref(), Some("'it''s'"));
/// assert_eq!(default(Dialect::MySql, "'it''s'").as_deref(), Some("'it''s'"));
/// assert_eq!(default(Dialect::MySql, "current_timestamp()").as_deref(), Some("current_timestamp"));
/// assert_eq!(default(Dialect::MySql, "FALSE").as_deref(), Some("0"));
/// assert_eq!(default(Dialect::MySql, "0.0000000000").as_deref(), Some("0"));
/// assert_eq!(default(Dialect::Postgres, "1.50").as_deref(), Some("1.5"));
/// assert_eq!(default(Dialect::MySql, "'draft'").as_deref(), Some("'draft'"));
/// assert_eq!(default(Dialect::Sqlite, "CURRENT_TIMESTAMP").as_deref(), Some("current_timestamp"));
/// assert_eq!(default(Dialect::Sqlite, "'Draft'").as_deref(), Some("'Draft'"));
/// ```
pub fn default(dialect: Dialect, raw: &str) -> Option<String> {
    let mut d = raw.trim().to_owned();
    let mut numeric_cast = false;
    if dialect == Dialect::Postgres {
        (d, numeric_cast) = strip_casts(&d);
    }
    while d.starts_with('(') && d.ends_with(')') && balanced(&d[1..d.len() - 1]) {
        d = d[1..d.len() - 1].trim().to_owned();
    }
    if d.is_empty() || d.eq_ignore_ascii_case("null") {
        return None;
    }
    if d.starts_with('\'') {
        // PostgreSQL quotes a negative number to cast it: `'-1'::integer`.
        if numeric_cast && let Some(number) = quoted_number(&d) {
            return Some(number_text(number));
        }
        if dialect == Dialect::MySql {
            return Some(standard_quotes(&d));
        }
        return Some(d);
    }
    if is_number(&d) {
        return Some(number_text(&d));
    }
    let mut d = spaced(&d.to_ascii_lowercase());
    if dialect == Dialect::MySql {
        match d.as_str() {
            "true" => return Some("1".into()),
            "false" => return Some("0".into()),
            _ => {}
        }
    }
    for function in ["current_timestamp", "current_date", "current_time", "now"] {
        if d == format!("{function}()") {
            d = function.to_owned();
        }
    }
    if d == "now" {
        d = "current_timestamp".into();
    }
    Some(d)
}

/// A MySQL string literal in standard SQL quoting: MariaDB reports `'it\'s'` for the
/// default `'it''s'`. Backslash escapes are read (`\'`, `\\`, `\n`, ..), a doubled quote
/// stays one quote; the text is quoted again with quotes doubled.
fn standard_quotes(literal: &str) -> String {
    let inner = literal
        .strip_prefix('\'')
        .and_then(|l| l.strip_suffix('\''))
        .unwrap_or(literal);
    let mut text = String::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n') => text.push('\n'),
                Some('t') => text.push('\t'),
                Some('r') => text.push('\r'),
                Some('0') => text.push('\0'),
                Some(other) => text.push(other),
                None => text.push('\\'),
            },
            '\'' if chars.peek() == Some(&'\'') => {
                chars.next();
                text.push('\'');
            }
            c => text.push(c),
        }
    }
    format!("'{}'", text.replace('\'', "''"))
}

/// `'a'::text::varchar` → `'a'`: the PostgreSQL casts at the end of a default, outside
/// quotes; and whether the first of them is to a number type.
fn strip_casts(d: &str) -> (String, bool) {
    let mut out = d.to_owned();
    let mut numeric = false;
    loop {
        let Some(at) = last_cast(&out) else {
            return (out, numeric);
        };
        let target = out[at + 2..].trim().to_ascii_lowercase();
        let target = target.split('(').next().unwrap_or_default().trim();
        numeric = matches!(
            target,
            "smallint"
                | "integer"
                | "bigint"
                | "int2"
                | "int4"
                | "int8"
                | "numeric"
                | "decimal"
                | "real"
                | "double precision"
                | "float4"
                | "float8"
        );
        out.truncate(at);
        out = out.trim_end().to_owned();
    }
}

/// The number inside a quoted literal (`'-1.5'` → `-1.5`), if that is all it holds.
fn quoted_number(d: &str) -> Option<&str> {
    let inner = d.strip_prefix('\'')?.strip_suffix('\'')?;
    is_number(inner).then_some(inner)
}

/// Whether `d` is a decimal number literal (`-12`, `1.50`).
pub(crate) fn is_number(d: &str) -> bool {
    let digits = d.strip_prefix('-').unwrap_or(d);
    digits.bytes().any(|b| b.is_ascii_digit())
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && digits.bytes().filter(|&b| b == b'.').count() <= 1
}

/// A number literal without the zeros that end its fraction (`0.0000000000` → `0`, what
/// MariaDB reports for `DEFAULT 0` on a `DECIMAL(38, 10)`; `1.50` → `1.5`).
fn number_text(number: &str) -> String {
    if number.contains('.') {
        number
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_owned()
    } else {
        number.to_owned()
    }
}

/// The canonical ON DELETE rule `rule` in `dialect`: on MySQL/MariaDB, `RESTRICT` is
/// `NO ACTION`. InnoDB checks both at once (it has no deferred checks), and MariaDB's catalog
/// reports `RESTRICT` for a foreign key declared without a rule, so the two cannot be told
/// apart there; elsewhere every rule is itself.
///
/// ```
/// use coherent_core::{Dialect, OnDelete};
/// use coherent_migrate::model::canonical::on_delete;
/// assert_eq!(on_delete(Dialect::MySql, OnDelete::Restrict), OnDelete::NoAction);
/// assert_eq!(on_delete(Dialect::MySql, OnDelete::Cascade), OnDelete::Cascade);
/// assert_eq!(on_delete(Dialect::Postgres, OnDelete::Restrict), OnDelete::Restrict);
/// assert_eq!(on_delete(Dialect::Sqlite, OnDelete::Restrict), OnDelete::Restrict);
/// ```
pub fn on_delete(dialect: Dialect, rule: OnDelete) -> OnDelete {
    match (dialect, rule) {
        (Dialect::MySql, OnDelete::Restrict) => OnDelete::NoAction,
        (_, rule) => rule,
    }
}

/// Where the last `::` outside quotes and parentheses starts.
fn last_cast(d: &str) -> Option<usize> {
    let (mut quoted, mut depth, mut found) = (false, 0i32, None);
    let bytes = d.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'\'' => quoted = !quoted,
            b'(' if !quoted => depth += 1,
            b')' if !quoted => depth -= 1,
            b':' if !quoted && depth == 0 && bytes.get(i + 1) == Some(&b':') => found = Some(i),
            _ => {}
        }
    }
    found
}

/// Whether the parentheses of `d` (outside quotes) balance.
fn balanced(d: &str) -> bool {
    let (mut quoted, mut depth) = (false, 0i32);
    for b in d.bytes() {
        match b {
            b'\'' => quoted = !quoted,
            b'(' if !quoted => depth += 1,
            b')' if !quoted => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0
}
