use coherent::Entity;

#[derive(Entity, Clone, Debug)]
struct User {
    #[primary_key]
    id: bool,
}

fn main() {}
