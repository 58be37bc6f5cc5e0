use coherent::Entity;

#[derive(Entity, Clone, Debug)]
enum User {
    Admin { id: i64 },
}

fn main() {}
