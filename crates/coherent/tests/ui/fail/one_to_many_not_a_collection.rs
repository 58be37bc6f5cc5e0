use coherent::prelude::*;

#[derive(Entity, Clone, Debug)]
struct Author {
    #[primary_key]
    id: i64,
    #[one_to_many(mapped_by = "author")]
    books: Vec<Book>,
}

#[derive(Entity, Clone, Debug)]
struct Book {
    #[primary_key]
    id: i64,
    #[many_to_one]
    author: Ref<Author>,
}

fn main() {}
