//! Compile-time checks of `#[derive(Entity)]`, `#[derive(FromRow)]` and the typed query
//! API: each file under `tests/ui/fail` must fail with the message in its `.stderr`; each
//! file under `tests/ui/pass` must compile.
//!
//! Regenerate the expected output with `TRYBUILD=overwrite cargo test -p coherent --test
//! compile_fail` and read the diff.
#![allow(missing_docs)]

// rustc's diagnostics list the implementations of a trait, which depend on the enabled
// features; the snapshots are taken with `--all-features` (the README's test command).
#[cfg_attr(
    not(all(
        feature = "chrono",
        feature = "uuid",
        feature = "rust_decimal",
        feature = "json"
    )),
    ignore = "the snapshots are taken with --all-features"
)]
#[test]
fn derive_entity_ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
