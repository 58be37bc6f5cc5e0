use coherent::prelude::*;

#[derive(Entity, Clone, Debug)]
struct User {
    #[primary_key]
    id: i64,
    name: String,
}

#[derive(Entity, Clone, Debug)]
struct Post {
    #[primary_key]
    id: i64,
    title: String,
}

// Filters combine with `&`, `|` and `!` only within one entity: a condition on a post's
// column cannot be mixed into a query of users.
async fn find(em: &EntityManager) {
    let _ = em.find(User::NAME.eq("Ann") & Post::TITLE.like("R%")).await;
    let _ = em.find::<User>(!Post::TITLE.eq("x")).await;
}

fn main() {}
