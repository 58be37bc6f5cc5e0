use coherent::prelude::*;

#[derive(Entity, Clone, Debug)]
struct Doc {
    #[primary_key]
    id: i64,
    #[version]
    version: String,
}

fn main() {}
