use coherent::Entity;

// The declared unique constraint has the name of `email`'s own: one name, two indexes.
#[derive(Entity, Clone, Debug)]
#[entity(unique(columns = ["email"]))]
struct User {
    #[primary_key]
    id: i64,
    #[column(unique)]
    email: String,
}

fn main() {}
