//! Text and bytes read by a connection's thread are copied onto the caller's before they are
//! handed out.
//!
//! Policy: every connection runs on an OS thread of its own, so the strings it decodes are
//! allocated by that thread, and an application keeps them (in entities) long after and
//! frees them on another thread. glibc's allocator handles that producer–consumer pattern
//! badly at scale: a million such strings freed together on the caller's thread cost it
//! more than reading them did (measured: `find` of 1 000 000 rows 746 ns per row; with the
//! copy 290 ns, as flat as 274 ns at 10 000 rows; the scaling bench). So every `Text` and
//! `Bytes` cell of a result is copied once on the receiving side, where the caller allocates
//! and later frees it, and the thread's own allocation is freed at once, back to the
//! thread's arena while it is still reading (which reuses it for the next chunk).

use coherent_core::{BatchResult, Rows, Value};

/// Copies the heap cells of `rows` onto the current thread.
pub(crate) fn rows(rows: &mut Rows) {
    for cell in &mut rows.values {
        match cell {
            Value::Text(s) => *s = s.as_str().to_owned(),
            Value::Bytes(b) => *b = b.as_slice().to_vec(),
            _ => {}
        }
    }
}

/// Copies the heap cells of every result set of `result` onto the current thread.
pub(crate) fn batch(result: &mut BatchResult) {
    for outcome in &mut result.outcomes {
        if let Some(r) = outcome.rows.as_mut() {
            rows(r);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn copies_keep_every_value() {
        let mut r = Rows {
            columns: Arc::from(vec!["a".to_string(), "b".to_string(), "c".to_string()]),
            values: vec![
                Value::Text("héllo".into()),
                Value::Bytes(vec![0, 1, 2]),
                Value::I64(7),
                Value::Text(String::new()),
                Value::Null,
                Value::F64(1.5),
            ],
        };
        let before = r.values.clone();
        let moved = std::thread::spawn(move || {
            rows(&mut r);
            r
        })
        .join()
        .unwrap();
        assert_eq!(moved.values, before);
    }
}
