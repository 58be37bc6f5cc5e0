//! Raw SQL with one placeholder style: `?` on every backend.
//!
//! Policy: in raw SQL (a [`Filter::raw`](crate::Filter::raw) fragment, a `find_by_sql`
//! statement) each `?` outside quotes is a parameter, in order, and `??` is a literal `?`
//! (PostgreSQL's JSON operators). Text inside `'..'`, `".."`, `` `..` `` and `[..]` is left
//! alone (a `\` there escapes the next character, as MySQL reads it): a `?` there is not a
//! placeholder, so `ARRAY[?]` has none (write `ARRAY(SELECT ?)` or compare with `= ANY(?)`).
//! The renderer turns the placeholders into the dialect's (`$1`, `$2`.. on PostgreSQL).

/// A piece of raw SQL: text, or a parameter placeholder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawPiece<'a> {
    /// SQL text, with `??` already turned into `?`.
    Text(&'a str),
    /// A `?` placeholder.
    Param,
}

/// Splits raw SQL into text and placeholders.
///
/// ```
/// use coherent_core::query::raw::{split, RawPiece};
/// let pieces = split("a = ? AND b ?? 'k?' AND c = ?");
/// assert_eq!(pieces, vec![
///     RawPiece::Text("a = "), RawPiece::Param, RawPiece::Text(" AND b "), RawPiece::Text("?"),
///     RawPiece::Text(" 'k?' AND c = "), RawPiece::Param,
/// ]);
/// ```
pub fn split(sql: &str) -> Vec<RawPiece<'_>> {
    let mut out = Vec::new();
    let bytes = sql.as_bytes();
    let mut start = 0;
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(_) if b == b'\\' => i += 1, // the escaped character stays in the quote
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if matches!(b, b'\'' | b'"' | b'`') => quote = Some(b),
            // sea-query, which renders the fragment, reads `[..]` as quoted too.
            None if b == b'[' => quote = Some(b']'),
            None if b == b'?' => {
                if start < i {
                    out.push(RawPiece::Text(&sql[start..i]));
                }
                if bytes.get(i + 1) == Some(&b'?') {
                    out.push(RawPiece::Text("?"));
                    i += 1;
                } else {
                    out.push(RawPiece::Param);
                }
                start = i + 1;
            }
            None => {}
        }
        i += 1;
    }
    if start < bytes.len() {
        out.push(RawPiece::Text(&sql[start..]));
    }
    out
}

/// The number of `?` placeholders in raw SQL.
///
/// ```
/// assert_eq!(coherent_core::query::raw::count_placeholders("x = ? OR y ?? 'z?' OR w = ?"), 2);
/// ```
pub fn count_placeholders(sql: &str) -> usize {
    split(sql)
        .iter()
        .filter(|p| matches!(p, RawPiece::Param))
        .count()
}
