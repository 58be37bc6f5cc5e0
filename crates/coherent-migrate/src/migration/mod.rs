//! Migration files and Rust migrations. (Being written.)
