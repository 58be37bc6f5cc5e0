use coherent::Entity;

#[derive(Entity, Clone, Debug)]
struct User {
    #[primary_key]
    id: Option<i64>,
}

fn main() {}
