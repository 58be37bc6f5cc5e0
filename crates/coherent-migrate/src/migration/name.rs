//! Migration names: `<timestamp>_<label>`, a UTC `YYYYMMDDHHMMSS` timestamp, an underscore
//! and a label of ASCII letters, digits, `_` and `-` (`20261207120000_add_users`).
//!
//! Policy: the name is the migration's identity (its row in the history table) and its
//! place in the order (migrations sort by name, so by timestamp first). A name that does not
//! have this shape is refused when the migration is read, before anything runs.

/// The length of the timestamp that starts every migration name.
pub const TIMESTAMP_LEN: usize = 14;

/// Checks that `name` is a migration name; the error says what is wrong with it.
///
/// ```
/// use coherent_migrate::migration::name::check;
/// assert!(check("20261207120000_add_users").is_ok());
/// assert!(check("add_users").is_err());
/// assert!(check("20261207120000_").is_err());
/// ```
pub fn check(name: &str) -> Result<(), String> {
    let expected = "expected <YYYYMMDDHHMMSS>_<label>, such as 20261207120000_add_users";
    let (stamp, label) = match name.split_at_checked(TIMESTAMP_LEN) {
        Some((stamp, rest)) => (stamp, rest.strip_prefix('_')),
        None => (name, None),
    };
    if !stamp.bytes().all(|b| b.is_ascii_digit()) || stamp.len() != TIMESTAMP_LEN {
        return Err(format!(
            "the name {name:?} does not start with a 14-digit timestamp ({expected})"
        ));
    }
    let Some(label) = label else {
        return Err(format!(
            "the name {name:?} has no `_` after its timestamp ({expected})"
        ));
    };
    check_label(label).map_err(|reason| format!("the name {name:?}: {reason}"))
}

/// Checks the label part of a name (what `migration generate` is given): not empty, only
/// ASCII letters, digits, `_` and `-`.
///
/// ```
/// use coherent_migrate::migration::name::check_label;
/// assert!(check_label("add_users").is_ok());
/// assert!(check_label("add users").is_err());
/// assert!(check_label("").is_err());
/// ```
pub fn check_label(label: &str) -> Result<(), String> {
    if label.is_empty() {
        return Err("the label is empty".into());
    }
    match label
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        Some(c) => Err(format!(
            "the label {label:?} contains {c:?} (only ASCII letters, digits, `_` and `-`)"
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_names() {
        for name in [
            "20261207120000_add_users",
            "00000000000000_x",
            "20261207120000_Add-Users_2",
        ] {
            assert_eq!(check(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn malformed_names_say_why() {
        let cases = [
            ("", "14-digit timestamp"),
            ("2026120712000_add", "14-digit timestamp"),
            ("2026120712000x_add", "14-digit timestamp"),
            ("20261207120000add", "no `_`"),
            ("20261207120000", "no `_`"),
            ("20261207120000_", "label is empty"),
            ("20261207120000_add users", "contains ' '"),
            ("20261207120000_ä", "contains 'ä'"),
            ("é0261207120000_a", "14-digit timestamp"),
        ];
        for (name, reason) in cases {
            let err = check(name).expect_err(name);
            assert!(err.contains(reason), "{name}: {err}");
        }
    }
}
