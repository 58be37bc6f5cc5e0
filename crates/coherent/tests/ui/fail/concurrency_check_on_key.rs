use coherent::prelude::*;

#[derive(Entity, Clone, Debug)]
struct Account {
    #[primary_key]
    #[concurrency_check]
    id: i64,
    #[version(start = 1)]
    version: i32,
}

fn main() {}
