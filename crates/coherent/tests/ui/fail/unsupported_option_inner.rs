use coherent::Entity;

#[derive(Clone, Debug)]
struct Address {
    street: String,
}

#[derive(Entity, Clone, Debug)]
struct User {
    #[primary_key]
    id: i64,
    home: Option<Address>,
    maybe_maybe: Option<Option<i32>>,
}

fn main() {}
