use coherent::{Entity, Ref};

#[derive(Entity, Clone, Debug)]
struct Author {
    #[primary_key]
    id: i64,
}

#[derive(Entity, Clone, Debug)]
struct Book {
    #[primary_key]
    id: i64,
    // `set null` needs a nullable reference.
    #[many_to_one(on_delete = "set null")]
    author: Ref<Author>,
    #[many_to_one(on_delete = "explode")]
    editor: Option<Ref<Author>>,
}

fn main() {}
