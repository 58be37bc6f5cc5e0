use coherent::FromRow;

#[derive(FromRow)]
struct Stats {
    name: String,
    // A cell decodes into a column type, not into a collection.
    counts: Vec<i64>,
}

fn main() {}
