use coherent::Entity;

#[derive(Entity, Clone, Debug)]
struct User {
    id: i64,
    name: String,
}

fn main() {}
