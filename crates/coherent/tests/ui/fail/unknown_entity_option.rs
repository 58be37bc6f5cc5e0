use coherent::Entity;

#[derive(Entity, Clone, Debug)]
#[entity(tabel = "users")]
struct User {
    #[primary_key]
    id: i64,
}

fn main() {}
