use coherent::Entity;

#[derive(Clone, Debug)]
struct Address {
    street: String,
}

#[derive(Entity, Clone, Debug)]
struct User {
    #[primary_key]
    id: i64,
    address: Address,
    count: u64,
}

fn main() {}
