use coherent::prelude::*;

#[derive(Entity, Clone, Debug)]
struct Doc {
    #[primary_key]
    id: i64,
    #[version]
    a: i32,
    #[version]
    b: i64,
}

fn main() {}
