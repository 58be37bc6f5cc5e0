use coherent::prelude::*;

#[derive(Entity, Clone, Debug)]
struct Book {
    #[primary_key]
    id: i64,
    #[many_to_one]
    author: i64,
}

fn main() {}
