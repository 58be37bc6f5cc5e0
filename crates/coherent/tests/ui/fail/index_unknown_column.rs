use coherent::Entity;

#[derive(Entity, Clone, Debug)]
#[entity(index(columns = ["name", "nmae"]), unique(columns = ["name", "name"]), unique(columns = []))]
struct User {
    #[primary_key]
    id: i64,
    name: String,
}

fn main() {}
