use coherent::FromRow;

// A select's row decodes into named fields, one per item in order; a tuple struct has no
// names to report a bad cell by, and a plain tuple `(String, i64)` is a `FromRow` already.
#[derive(FromRow)]
struct PerAuthor(String, i64);

#[derive(FromRow)]
enum Either {
    Count(i64),
}

fn main() {}
