//! Cursor tokens: opaque, tamper-evident, and bound to the query that made them.
//!
//! Policy:
//! - **What a token holds**: a format version, a fingerprint of the query (entity, sort keys
//!   and filter), and the boundary row's values of the sort keys. Nothing else: no SQL, no
//!   offset.
//! - **Tamper-evident**: the bytes are signed with HMAC-SHA-256 under the Orm's
//!   [`CursorKey`]; a token whose signature does not verify is
//!   [`Error::InvalidCursor`], before any SQL. The key ([`CursorKey`]) is random per Orm unless configured
//!   ([`crate::OrmBuilder::cursor_key`]): configure one shared key when several instances
//!   serve the same clients, or a token made by one is refused by the others.
//! - **Bound to its query**: a token made under another filter or order (or for another
//!   entity) is refused: its rows would not be the page after anything.
//! - **Opaque**: URL-safe base64 without padding. Clients must not build or read them.

use crate::context::cursor_key::CursorKey;
use base64::Engine;
use coherent_core::{Error, Result, Value};
use hmac::Mac;
use sha2::Digest;

const VERSION: u8 = 1;
/// Bytes of the query fingerprint kept in a token.
const FINGERPRINT: usize = 16;
/// Bytes of the signature kept in a token (128 bits).
const TAG: usize = 16;

/// The fingerprint of a query: what a token must have been made for.
pub(crate) fn fingerprint(parts: &[&str]) -> [u8; FINGERPRINT] {
    let mut h = sha2::Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    let digest = h.finalize();
    let mut out = [0u8; FINGERPRINT];
    out.copy_from_slice(&digest[..FINGERPRINT]);
    out
}

/// A signed token for the boundary `values` of the query `fingerprint`.
pub(crate) fn encode(key: &CursorKey, fingerprint: &[u8; FINGERPRINT], values: &[Value]) -> String {
    let mut bytes = vec![VERSION];
    bytes.extend_from_slice(fingerprint);
    for v in values {
        write_value(v, &mut bytes);
    }
    let mut mac = key.mac();
    mac.update(&bytes);
    bytes.extend_from_slice(&mac.finalize().into_bytes()[..TAG]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The boundary values of a token made for the query `fingerprint` with `keys` sort keys.
pub(crate) fn decode(
    key: &CursorKey,
    fingerprint: &[u8; FINGERPRINT],
    keys: usize,
    token: &str,
) -> Result<Vec<Value>> {
    let invalid = |reason: &str| Error::InvalidCursor {
        reason: reason.to_owned(),
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| invalid("not a cursor token (malformed)"))?;
    if bytes.len() < 1 + FINGERPRINT + TAG {
        return Err(invalid("not a cursor token (too short)"));
    }
    let (body, tag) = bytes.split_at(bytes.len() - TAG);
    let mut mac = key.mac();
    mac.update(body);
    mac.verify_truncated_left(tag)
        .map_err(|_| invalid("the token was altered, or signed with another key"))?;
    if body[0] != VERSION {
        return Err(invalid("a token of another format version"));
    }
    if body[1..1 + FINGERPRINT] != fingerprint[..] {
        return Err(invalid(
            "the token belongs to another query (another entity, filter or order)",
        ));
    }
    let mut rest = &body[1 + FINGERPRINT..];
    let mut values = Vec::with_capacity(keys);
    while !rest.is_empty() {
        values.push(read_value(&mut rest).ok_or_else(|| invalid("malformed values"))?);
    }
    if values.len() != keys {
        return Err(invalid("malformed values"));
    }
    Ok(values)
}

fn write_bytes(tag: u8, payload: &[u8], out: &mut Vec<u8>) {
    out.push(tag);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(payload);
}

fn write_value(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Null => write_bytes(0, &[], out),
        Value::Bool(b) => write_bytes(1, &[u8::from(*b)], out),
        Value::I16(n) => write_bytes(2, &n.to_le_bytes(), out),
        Value::I32(n) => write_bytes(3, &n.to_le_bytes(), out),
        Value::I64(n) => write_bytes(4, &n.to_le_bytes(), out),
        Value::F32(n) => write_bytes(5, &n.to_le_bytes(), out),
        Value::F64(n) => write_bytes(6, &n.to_le_bytes(), out),
        Value::Text(s) => write_bytes(7, s.as_bytes(), out),
        Value::Bytes(b) => write_bytes(8, b, out),
        #[cfg(feature = "uuid")]
        Value::Uuid(u) => write_bytes(9, u.as_bytes(), out),
        #[cfg(feature = "chrono")]
        Value::DateTimeUtc(t) => write_bytes(10, t.to_rfc3339().as_bytes(), out),
        #[cfg(feature = "chrono")]
        Value::DateTime(t) => write_bytes(11, t.to_string().as_bytes(), out),
        #[cfg(feature = "chrono")]
        Value::Date(d) => write_bytes(12, d.to_string().as_bytes(), out),
        #[cfg(feature = "rust_decimal")]
        Value::Decimal(d) => write_bytes(13, d.to_string().as_bytes(), out),
        #[cfg(feature = "json")]
        Value::Json(j) => write_bytes(14, j.to_string().as_bytes(), out),
    }
}

fn read_value(input: &mut &[u8]) -> Option<Value> {
    let (&tag, rest) = input.split_first()?;
    let len = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    let payload = rest.get(4..4 + len)?;
    *input = &rest[4 + len..];
    let text = || std::str::from_utf8(payload).ok();
    Some(match tag {
        0 => Value::Null,
        1 => Value::Bool(*payload.first()? != 0),
        2 => Value::I16(i16::from_le_bytes(payload.try_into().ok()?)),
        3 => Value::I32(i32::from_le_bytes(payload.try_into().ok()?)),
        4 => Value::I64(i64::from_le_bytes(payload.try_into().ok()?)),
        5 => Value::F32(f32::from_le_bytes(payload.try_into().ok()?)),
        6 => Value::F64(f64::from_le_bytes(payload.try_into().ok()?)),
        7 => Value::Text(text()?.to_owned()),
        8 => Value::Bytes(payload.to_vec()),
        #[cfg(feature = "uuid")]
        9 => Value::Uuid(uuid::Uuid::from_slice(payload).ok()?),
        #[cfg(feature = "chrono")]
        10 => Value::DateTimeUtc(
            chrono::DateTime::parse_from_rfc3339(text()?)
                .ok()?
                .with_timezone(&chrono::Utc),
        ),
        #[cfg(feature = "chrono")]
        11 => Value::DateTime(text()?.parse().ok()?),
        #[cfg(feature = "chrono")]
        12 => Value::Date(text()?.parse().ok()?),
        #[cfg(feature = "rust_decimal")]
        13 => Value::Decimal(text()?.parse().ok()?),
        #[cfg(feature = "json")]
        14 => Value::Json(serde_json::from_str(text()?).ok()?),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_refuse_tampering_and_other_queries() {
        let key = CursorKey::new([7u8; 32]).unwrap();
        let query = fingerprint(&["Book", "title asc", "All"]);
        let values = vec![Value::Text("Dune".into()), Value::Null, Value::I64(42)];
        let token = encode(&key, &query, &values);
        assert_eq!(decode(&key, &query, 3, &token).unwrap(), values);

        let mut bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&token)
            .unwrap();
        let last_value_byte = bytes.len() - TAG - 1;
        bytes[last_value_byte] ^= 1;
        let altered = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes);
        let err = decode(&key, &query, 3, &altered).unwrap_err();
        assert!(matches!(&err, Error::InvalidCursor { reason } if reason.contains("altered")));

        let other_key = CursorKey::new([8u8; 32]).unwrap();
        assert!(decode(&other_key, &query, 3, &token).is_err());
        let other_query = fingerprint(&["Book", "title desc", "All"]);
        let err = decode(&key, &other_query, 3, &token).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidCursor { reason } if reason.contains("another query"))
        );
        assert!(decode(&key, &query, 3, "not base64!").is_err());
        assert!(decode(&key, &query, 3, "").is_err());
    }
}
