//! What SQLite's stored `CREATE TABLE` text says that its pragmas do not: whether the key is
//! `AUTOINCREMENT`, and the names of foreign key constraints.
//!
//! Policy: the text is tokenized (quoted identifiers in `"`, `` ` `` or `[]`, string
//! literals, comments), never searched as a string, so a name or default that contains a
//! keyword does not count. A foreign key is named by the `CONSTRAINT name` before a table
//! constraint's `FOREIGN KEY (..)` or before a column constraint's `REFERENCES`; it is
//! matched to the pragma's foreign keys by its columns.

/// What the `CREATE TABLE` of one table declares.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct TableDdl {
    /// The primary key is `AUTOINCREMENT`.
    pub(super) autoincrement: bool,
    /// Named foreign keys: (name, columns).
    pub(super) foreign_key_names: Vec<(String, Vec<String>)>,
}

/// A token: a word or identifier (unquoted), or one punctuation character.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A bare word or a quoted identifier, unquoted.
    Word { text: String, quoted: bool },
    /// A string literal.
    Literal,
    /// `(`, `)`, `,` or any other character.
    Punct(char),
}

impl Token {
    fn keyword(&self, keyword: &str) -> bool {
        matches!(self, Token::Word { text, quoted: false } if text.eq_ignore_ascii_case(keyword))
    }

    fn name(&self) -> Option<&str> {
        match self {
            Token::Word { text, .. } => Some(text),
            _ => None,
        }
    }
}

/// Reads the `CREATE TABLE` statement `sql` (see the tests below for examples).
pub(super) fn parse(sql: &str) -> TableDdl {
    let tokens = tokenize(sql);
    let mut ddl = TableDdl {
        autoincrement: tokens.iter().any(|t| t.keyword("autoincrement")),
        ..TableDdl::default()
    };
    let Some(open) = tokens.iter().position(|t| *t == Token::Punct('(')) else {
        return ddl;
    };
    for item in definitions(&tokens[open + 1..]) {
        let constraint_name = |i: usize| {
            item.get(i)
                .filter(|t| t.keyword("constraint"))
                .and_then(|_| item.get(i + 1))
                .and_then(Token::name)
                .map(str::to_owned)
        };
        if item.first().is_some_and(|t| t.keyword("constraint")) {
            // CONSTRAINT name FOREIGN KEY (a, b) REFERENCES ..
            if let (Some(name), true, true) = (
                constraint_name(0),
                item.get(2).is_some_and(|t| t.keyword("foreign")),
                item.get(3).is_some_and(|t| t.keyword("key")),
            ) {
                ddl.foreign_key_names
                    .push((name, names_in_parentheses(&item[4..])));
            }
            continue;
        }
        let Some(column) = item.first().and_then(Token::name) else {
            continue;
        };
        let table_constraint = ["primary", "unique", "check", "foreign"]
            .iter()
            .any(|k| item[0].keyword(k));
        if table_constraint {
            continue;
        }
        // column type .. CONSTRAINT name REFERENCES ..
        for i in 1..item.len() {
            if let (Some(name), true) = (
                constraint_name(i),
                item.get(i + 2).is_some_and(|t| t.keyword("references")),
            ) {
                ddl.foreign_key_names.push((name, vec![column.to_owned()]));
            }
        }
    }
    ddl
}

/// The comma-separated definitions of a table body (the tokens after its opening
/// parenthesis), up to the closing one.
fn definitions(body: &[Token]) -> Vec<&[Token]> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0usize, 0);
    for (i, t) in body.iter().enumerate() {
        match t {
            Token::Punct('(') => depth += 1,
            Token::Punct(')') if depth == 0 => {
                out.push(&body[start..i]);
                return out;
            }
            Token::Punct(')') => depth -= 1,
            Token::Punct(',') if depth == 0 => {
                out.push(&body[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&body[start..]);
    out
}

/// The names inside the first parenthesized list of `tokens`.
fn names_in_parentheses(tokens: &[Token]) -> Vec<String> {
    let Some(open) = tokens.iter().position(|t| *t == Token::Punct('(')) else {
        return Vec::new();
    };
    tokens[open + 1..]
        .iter()
        .take_while(|t| **t != Token::Punct(')'))
        .filter_map(Token::name)
        .map(str::to_owned)
        .collect()
}

/// The tokens of `sql`; comments and whitespace dropped.
fn tokenize(sql: &str) -> Vec<Token> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    // The text up to the closing `close` (doubled: an escaped one), and where it ends.
    let quoted = |from: usize, close: char| -> (String, usize) {
        let mut text = String::new();
        let mut j = from;
        while j < chars.len() {
            if chars[j] == close {
                if close != ']' && chars.get(j + 1) == Some(&close) {
                    text.push(close);
                    j += 2;
                    continue;
                }
                return (text, j + 1);
            }
            text.push(chars[j]);
            j += 1;
        }
        (text, j)
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '-' if chars.get(i + 1) == Some(&'-') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                i += 2;
                while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                    i += 1;
                }
                i += 2;
            }
            '\'' => {
                i = quoted(i + 1, '\'').1;
                out.push(Token::Literal);
            }
            '"' | '`' | '[' => {
                let close = if c == '[' { ']' } else { c };
                let (text, end) = quoted(i + 1, close);
                out.push(Token::Word { text, quoted: true });
                i = end;
            }
            c if c.is_alphanumeric() || c == '_' || c == '$' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
                {
                    i += 1;
                }
                out.push(Token::Word {
                    text: chars[start..i].iter().collect(),
                    quoted: false,
                });
            }
            c => {
                out.push(Token::Punct(c));
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(ddl: &TableDdl) -> Vec<(&str, Vec<&str>)> {
        ddl.foreign_key_names
            .iter()
            .map(|(n, c)| (n.as_str(), c.iter().map(String::as_str).collect()))
            .collect()
    }

    #[test]
    fn coherent_ddl_has_autoincrement_and_no_names() {
        let ddl = parse(
            r#"CREATE TABLE "books" ( "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "author_id" INTEGER NOT NULL, FOREIGN KEY ("author_id") REFERENCES "authors" ("id") ON DELETE CASCADE )"#,
        );
        assert!(ddl.autoincrement);
        assert!(ddl.foreign_key_names.is_empty());
    }

    #[test]
    fn named_table_and_column_constraints() {
        let ddl = parse(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, a INT CONSTRAINT [fk a] REFERENCES u(id) ON DELETE SET NULL, \
             b INT, c INT, CONSTRAINT \"fk_\"\"bc\" FOREIGN KEY (b, `c`) REFERENCES v (x, y), CONSTRAINT pk_check CHECK (b > 0))",
        );
        assert!(!ddl.autoincrement);
        assert_eq!(
            names(&ddl),
            [("fk a", vec!["a"]), ("fk_\"bc", vec!["b", "c"])]
        );
    }

    #[test]
    fn keywords_in_names_literals_and_comments_do_not_count() {
        let ddl = parse(
            "CREATE TABLE t ( -- AUTOINCREMENT here is a comment\n \"autoincrement\" TEXT DEFAULT 'AUTOINCREMENT', /* CONSTRAINT x REFERENCES */ d INT)",
        );
        assert!(!ddl.autoincrement);
        assert!(ddl.foreign_key_names.is_empty());
    }
}
