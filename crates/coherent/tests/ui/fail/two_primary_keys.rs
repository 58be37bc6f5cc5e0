use coherent::Entity;

#[derive(Entity, Clone, Debug)]
struct User {
    #[primary_key]
    id: i64,
    #[primary_key]
    email: String,
}

fn main() {}
