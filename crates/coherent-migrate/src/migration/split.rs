//! Splitting an SQL file into its statements, at the semicolons that end them.
//!
//! Policy:
//! - A `;` ends a statement unless it is inside a string (`'..'`, with `''` for a quote; in a
//!   PostgreSQL escape string `E'..'` a backslash escapes the next character too), a quoted
//!   identifier (`".."`, `` `..` ``), a comment (`-- ..` to the end of the line, `/* .. */`),
//!   a PostgreSQL dollar quote (`$$ .. $$`, `$body$ .. $body$`), or the `BEGIN .. END` body of
//!   a `CREATE TRIGGER`, `PROCEDURE`, `FUNCTION` or `EVENT` (SQLite triggers, MariaDB
//!   routines, PostgreSQL's `BEGIN ATOMIC`; `CASE .. END` nests inside it, `END IF`, `END
//!   LOOP`, `END WHILE` and `END REPEAT` close nothing counted).
//! - Statements are trimmed; comments before a statement are left out, comments inside it
//!   kept. A file of only comments and whitespace has no statement.
//! - An unterminated string, identifier, comment, dollar quote or body is an error naming
//!   the line it starts on: the file is malformed, and nothing of it runs.
//! - Not recognised: MySQL's backslash escapes in ordinary strings (`'it\'s'`: write
//!   `'it''s'`), MySQL's `#` comments, nested `/* /* */ */` comments, and `DELIMITER` (a
//!   client command, not SQL: write routines as one statement, their body in `BEGIN .. END`).

use std::fmt;

/// Why a file could not be split: something opened and never closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitError {
    /// The line (1-based) the unterminated thing starts on.
    pub line: usize,
    /// What is unterminated.
    pub what: &'static str,
}

impl fmt::Display for SplitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} starting on line {} is not closed",
            self.what, self.line
        )
    }
}

impl std::error::Error for SplitError {}

/// Splits `sql` into its statements (see the module docs).
///
/// ```
/// use coherent_migrate::migration::split::split;
/// let sql = "-- users\nCREATE TABLE users (id INT, note TEXT DEFAULT 'a;b');\nINSERT INTO users VALUES (1, 'it''s');\n";
/// assert_eq!(
///     split(sql).unwrap(),
///     ["CREATE TABLE users (id INT, note TEXT DEFAULT 'a;b')", "INSERT INTO users VALUES (1, 'it''s')"]
/// );
/// assert_eq!(split("SELECT 'x;").unwrap_err().to_string(), "a string starting on line 1 is not closed");
/// ```
pub fn split(sql: &str) -> Result<Vec<String>, SplitError> {
    let b = sql.as_bytes();
    let mut statements = Vec::new();
    // Where the current statement's first token starts.
    let mut start: Option<usize> = None;
    let mut body = Body::default();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == b'-' && next == Some(b'-') {
            i = b[i..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(b.len(), |n| i + n);
            continue;
        }
        if c == b'/' && next == Some(b'*') {
            i = find(b, i + 2, b"*/").ok_or_else(|| unterminated(b, i, "a comment"))? + 2;
            continue;
        }
        if c == b';' && body.depth == 0 {
            if let Some(s) = start.take() {
                statements.push(sql[s..i].trim_end().to_owned());
            }
            body = Body::default();
            i += 1;
            continue;
        }
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let first = *start.get_or_insert(i);
        i = match c {
            b'\'' => {
                // E'..' (and e'..'): a PostgreSQL escape string.
                let escapes = i > first
                    && matches!(b[i - 1], b'E' | b'e')
                    && (i - 1 == first || !is_ident(b[i - 2]));
                quoted(b, i, b'\'', escapes).ok_or_else(|| unterminated(b, i, "a string"))?
            }
            b'"' | b'`' => {
                quoted(b, i, c, false).ok_or_else(|| unterminated(b, i, "a quoted identifier"))?
            }
            b'$' if i == first || !is_ident(b[i - 1]) => match dollar_tag(b, i) {
                Some(tag) => {
                    let close = find(b, i + tag, &b[i..i + tag])
                        .ok_or_else(|| unterminated(b, i, "a dollar-quoted string"))?;
                    close + tag
                }
                None => i + 1,
            },
            c if is_ident(c) => {
                let end = word_end(b, i);
                if !c.is_ascii_digit() {
                    body.word(&sql[i..end], next_word(sql, end));
                }
                end
            }
            _ => i + 1,
        };
    }
    if let Some(s) = start {
        if body.depth > 0 {
            return Err(unterminated(b, s, "a BEGIN .. END body"));
        }
        statements.push(sql[s..].trim_end().to_owned());
    }
    Ok(statements)
}

/// Tracks the `BEGIN .. END` body of a routine or trigger, so its inner `;` do not split it.
#[derive(Debug, Default)]
struct Body {
    words: usize,
    create: bool,
    routine: bool,
    depth: usize,
    /// The word after an `END` that belongs to it (`END IF`, `END CASE`).
    skip_next: bool,
}

impl Body {
    fn word(&mut self, word: &str, next: Option<&str>) {
        let is = |w: &str| word.eq_ignore_ascii_case(w);
        self.words += 1;
        if self.words == 1 {
            self.create = is("CREATE");
            return;
        }
        if std::mem::take(&mut self.skip_next) {
            return;
        }
        if !self.routine {
            self.routine = self.create
                && ["TRIGGER", "PROCEDURE", "FUNCTION", "EVENT"]
                    .iter()
                    .any(|w| is(w));
            return;
        }
        if is("BEGIN") || (self.depth > 0 && is("CASE")) {
            self.depth += 1;
        } else if self.depth > 0 && is("END") {
            let next_is = |w: &str| next.is_some_and(|n| n.eq_ignore_ascii_case(w));
            if ["IF", "LOOP", "WHILE", "REPEAT"].iter().any(|w| next_is(w)) {
                self.skip_next = true;
            } else {
                self.skip_next = next_is("CASE");
                self.depth -= 1;
            }
        }
    }
}

/// Whether `c` can be part of an identifier or keyword (non-ASCII letters included).
fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

fn word_end(b: &[u8], i: usize) -> usize {
    b[i..]
        .iter()
        .position(|&c| !is_ident(c))
        .map_or(b.len(), |n| i + n)
}

/// The word after `end`, past whitespace.
fn next_word(sql: &str, end: usize) -> Option<&str> {
    let b = sql.as_bytes();
    let start = b[end..]
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .map(|n| end + n)?;
    let stop = word_end(b, start);
    (stop > start).then(|| &sql[start..stop])
}

/// The end (one past the closing quote) of the quoted text opening at `i`; a doubled quote is
/// a quote, and with `escapes` a backslash escapes the next character.
fn quoted(b: &[u8], i: usize, quote: u8, escapes: bool) -> Option<usize> {
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' if escapes => j += 2,
            c if c == quote && b.get(j + 1) == Some(&quote) => j += 2,
            c if c == quote => return Some(j + 1),
            _ => j += 1,
        }
    }
    None
}

/// The length of the dollar-quote tag opening at `i` (`$$`, `$tag$`), if one opens there
/// (`$1` is a placeholder, not a tag).
fn dollar_tag(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    if b.get(j)
        .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_' || *c >= 0x80)
    {
        while b
            .get(j)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c >= 0x80)
        {
            j += 1;
        }
    }
    (b.get(j) == Some(&b'$')).then_some(j + 1 - i)
}

fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    b.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|n| from + n)
}

fn unterminated(b: &[u8], at: usize, what: &'static str) -> SplitError {
    SplitError {
        line: 1 + b[..at].iter().filter(|&&c| c == b'\n').count(),
        what,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(sql: &str) -> Vec<String> {
        split(sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    #[test]
    fn semicolons_end_statements() {
        assert_eq!(ok("SELECT 1; SELECT 2"), ["SELECT 1", "SELECT 2"]);
        assert_eq!(ok("SELECT 1;\n\nSELECT 2;\n"), ["SELECT 1", "SELECT 2"]);
        assert_eq!(ok(";;  ; SELECT 1;;"), ["SELECT 1"]);
        assert!(ok("").is_empty());
        assert!(ok("  \n\t").is_empty());
    }

    #[test]
    fn comments_are_skipped_before_and_kept_inside() {
        assert_eq!(
            ok("-- a; b\n/* c; */ SELECT /* d; */ 1 -- e;\n; -- trailing"),
            ["SELECT /* d; */ 1 -- e;"]
        );
        assert!(ok("-- only\n/* comments; */\n").is_empty());
        assert_eq!(ok("SELECT 1 - -1; SELECT 2"), ["SELECT 1 - -1", "SELECT 2"]);
        assert_eq!(ok("SELECT 4 / 2; SELECT 2"), ["SELECT 4 / 2", "SELECT 2"]);
    }

    #[test]
    fn quotes_hide_semicolons() {
        assert_eq!(
            ok("INSERT INTO t VALUES ('a;b', 'it''s;', \"x;\"\"y\", `z;``w`); SELECT 1"),
            [
                "INSERT INTO t VALUES ('a;b', 'it''s;', \"x;\"\"y\", `z;``w`)",
                "SELECT 1"
            ]
        );
        // A backslash is an ordinary character in a standard string...
        assert_eq!(ok(r"SELECT 'C:\'; SELECT 2"), [r"SELECT 'C:\'", "SELECT 2"]);
        // ...and an escape in a PostgreSQL escape string.
        assert_eq!(
            ok(r"SELECT E'a\';b'; SELECT 2"),
            [r"SELECT E'a\';b'", "SELECT 2"]
        );
        assert_eq!(ok(r"SELECT e'\\'; SELECT 2"), [r"SELECT e'\\'", "SELECT 2"]);
        // A word ending in E is no escape prefix.
        assert_eq!(
            ok(r"SELECT TYPE'\'; SELECT 2"),
            [r"SELECT TYPE'\'", "SELECT 2"]
        );
    }

    #[test]
    fn dollar_quotes_hide_semicolons() {
        let f = "CREATE FUNCTION f() RETURNS trigger AS $$\nBEGIN\n  NEW.x := 1;\n  RETURN NEW;\nEND;\n$$ LANGUAGE plpgsql";
        assert_eq!(ok(&format!("{f};\nSELECT 1;")), [f, "SELECT 1"]);
        let tagged = "SELECT $body$ a; $$ b; $body$";
        assert_eq!(ok(&format!("{tagged}; SELECT 2")), [tagged, "SELECT 2"]);
        // Placeholders and `$` inside identifiers open nothing.
        assert_eq!(
            ok("SELECT $1, a$b$ FROM t; SELECT 2"),
            ["SELECT $1, a$b$ FROM t", "SELECT 2"]
        );
    }

    #[test]
    fn routine_bodies_stay_whole() {
        let trigger = "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  UPDATE b SET n = n + 1;\n  SELECT CASE WHEN 1 THEN 2 END;\nEND";
        assert_eq!(ok(&format!("{trigger};\nSELECT 1;")), [trigger, "SELECT 1"]);
        let procedure = "CREATE PROCEDURE p() BEGIN\n  IF 1 THEN SELECT 1; END IF;\n  CASE WHEN 1 THEN SELECT 2; END CASE;\n  l: LOOP LEAVE l; END LOOP;\nEND";
        assert_eq!(
            ok(&format!("{procedure}; SELECT 1")),
            [procedure, "SELECT 1"]
        );
        let atomic = "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END";
        assert_eq!(ok(&format!("{atomic}; SELECT 1")), [atomic, "SELECT 1"]);
        // BEGIN and END count only in a CREATE of a routine.
        assert_eq!(ok("BEGIN; SELECT 1; END;"), ["BEGIN", "SELECT 1", "END"]);
        assert_eq!(
            ok("CREATE TABLE e (id INT); SELECT CASE WHEN 1 THEN 2 END; SELECT 3"),
            [
                "CREATE TABLE e (id INT)",
                "SELECT CASE WHEN 1 THEN 2 END",
                "SELECT 3"
            ]
        );
    }

    #[test]
    fn unterminated_things_name_their_line() {
        let cases = [
            ("SELECT 1;\nSELECT 'abc;\nSELECT 2;", 2, "a string"),
            ("SELECT \"abc;", 1, "a quoted identifier"),
            ("SELECT `abc;", 1, "a quoted identifier"),
            ("SELECT 1;\n\n/* abc;\nSELECT 2;", 3, "a comment"),
            ("SELECT $$ abc;", 1, "a dollar-quoted string"),
            ("SELECT $a$ abc; $b$", 1, "a dollar-quoted string"),
            (r"SELECT E'abc\';", 1, "a string"),
            (
                "SELECT 1;\nCREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT 1;",
                2,
                "a BEGIN .. END body",
            ),
        ];
        for (sql, line, what) in cases {
            assert_eq!(split(sql), Err(SplitError { line, what }), "{sql}");
        }
    }

    #[test]
    fn non_ascii_text_is_kept_whole() {
        assert_eq!(
            ok("INSERT INTO t VALUES ('naïve;ü'); SELECT ä FROM ö"),
            ["INSERT INTO t VALUES ('naïve;ü')", "SELECT ä FROM ö"]
        );
    }
}
