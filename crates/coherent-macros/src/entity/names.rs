//! Names derived from Rust identifiers: the default table name (`snake_case` of the struct)
//! and the column handle constants (`SCREAMING_SNAKE_CASE` of the field).

/// `UserProfile` -> `user_profile`, `HTTPRequest` -> `http_request`, `nick_name` unchanged.
pub(super) fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                let prev = chars[i - 1];
                let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
                if prev != '_'
                    && (prev.is_lowercase()
                        || prev.is_ascii_digit()
                        || (prev.is_uppercase() && next_lower))
                {
                    out.push('_');
                }
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A plural field name's singular, for default join columns: `tags` -> `tag`, `categories`
/// -> `category`, `data` unchanged.
pub(super) fn singular(name: &str) -> String {
    if let Some(stem) = name.strip_suffix("ies") {
        format!("{stem}y")
    } else if let Some(stem) = name.strip_suffix('s').filter(|s| !s.ends_with('s')) {
        stem.to_owned()
    } else {
        name.to_owned()
    }
}

/// `nick_name` -> `NICK_NAME`, `createdAt` -> `CREATED_AT`.
pub(super) fn screaming_snake_case(name: &str) -> String {
    snake_case(name).to_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_conversions() {
        assert_eq!(snake_case("User"), "user");
        assert_eq!(snake_case("UserProfile"), "user_profile");
        assert_eq!(snake_case("HTTPRequest"), "http_request");
        assert_eq!(snake_case("UserV2"), "user_v2");
        assert_eq!(snake_case("already_snake"), "already_snake");
        assert_eq!(screaming_snake_case("nick"), "NICK");
        assert_eq!(screaming_snake_case("created_at"), "CREATED_AT");
        assert_eq!(screaming_snake_case("createdAt"), "CREATED_AT");
        assert_eq!(screaming_snake_case("type"), "TYPE");
        assert_eq!(singular("tags"), "tag");
        assert_eq!(singular("categories"), "category");
        assert_eq!(singular("address"), "address");
    }
}
