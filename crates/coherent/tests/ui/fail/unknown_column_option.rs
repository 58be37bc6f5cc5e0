use coherent::Entity;

#[derive(Entity, Clone, Debug)]
struct User {
    #[primary_key]
    id: i64,
    #[column(uniq)]
    email: String,
}

fn main() {}
