use coherent::prelude::*;

#[derive(Entity, Clone, Debug)]
struct Author {
    #[primary_key]
    id: i64,
    #[one_to_many(mapped_by = "author", fetch = "lazy")]
    books: Collection<Book>,
}

// No `Ref<Author>` back: the failed derive emits no `Entity` impl for `Author`, and a
// reference to it would only add "`Author: Entity` is not satisfied" errors.
#[derive(Entity, Clone, Debug)]
struct Book {
    #[primary_key]
    id: i64,
    title: String,
}

fn main() {}
