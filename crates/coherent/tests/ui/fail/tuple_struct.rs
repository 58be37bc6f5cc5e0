use coherent::Entity;

#[derive(Entity, Clone, Debug)]
struct User(i64, String);

fn main() {}
