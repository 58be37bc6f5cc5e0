use coherent::prelude::*;

#[derive(Entity, Clone, Debug)]
pub struct Author {
    #[primary_key]
    pub id: i64,
    pub name: String,
}

#[derive(Entity, Clone, Debug)]
pub struct Book {
    #[primary_key]
    pub id: i64,
    pub title: String,
    pub author_id: i64,
}

fn main() {
    // `author_id` is a plain column, not a `Ref<Author>`: no relation path goes through it.
    let _ = Book::AUTHOR_ID.is(Author::NAME.eq("Ann"));
}
