use coherent::Entity;

#[derive(Entity, Clone, Debug)]
struct User {
    #[primary_key(auto)]
    id: i64,
}

fn main() {}
