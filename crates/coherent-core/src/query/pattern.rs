//! LIKE patterns: one escaping convention on every backend.
//!
//! Policy: a pattern in a [`Condition::Like`](crate::Condition) has two wildcards, `%` (any
//! run of characters) and `_` (one character), and `\` escapes the character after it
//! (`\%`, `\_`, `\\`). [`Column::like`](crate::Column::like) takes a pattern whose `%` and `_`
//! are wildcards and whose every other character is literal, `\` included (its `\` is
//! doubled); [`Column::starts_with`](crate::Column::starts_with) and friends escape all
//! three. The renderer turns the convention into what each dialect needs, so no backend's
//! default escape character (or lack of one) shows through.

/// `text` as a pattern matching exactly `text`: `%`, `_` and `\` escaped.
///
/// ```
/// use coherent_core::query::pattern::literal;
/// assert_eq!(literal(r"50%_off\"), r"50\%\_off\\");
/// ```
pub fn literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A user's LIKE pattern (`%` and `_` wildcards, everything else literal) in the escaped
/// convention: its `\` doubled.
///
/// ```
/// use coherent_core::query::pattern::wildcards;
/// assert_eq!(wildcards(r"a\b%"), r"a\\b%");
/// ```
pub fn wildcards(pattern: &str) -> String {
    pattern.replace('\\', "\\\\")
}

/// One piece of an escaped pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece {
    /// A character matched as itself.
    Literal(char),
    /// `%`.
    AnyRun,
    /// `_`.
    AnyOne,
}

/// The pieces of an escaped pattern (a trailing lone `\` is a literal `\`).
///
/// ```
/// use coherent_core::query::pattern::{pieces, Piece};
/// assert_eq!(pieces(r"a\%%"), vec![Piece::Literal('a'), Piece::Literal('%'), Piece::AnyRun]);
/// ```
pub fn pieces(pattern: &str) -> Vec<Piece> {
    let mut out = Vec::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        out.push(match c {
            '\\' => Piece::Literal(chars.next().unwrap_or('\\')),
            '%' => Piece::AnyRun,
            '_' => Piece::AnyOne,
            c => Piece::Literal(c),
        });
    }
    out
}
