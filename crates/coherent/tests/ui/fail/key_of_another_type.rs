use coherent::prelude::*;

#[derive(Entity, Clone, Debug)]
struct Counter {
    #[primary_key]
    id: i32,
    label: String,
}

// An i32 key is looked up by an integer (or a reference to one), never by text.
async fn find(em: &EntityManager) {
    let _ = em.find_one::<Counter>("seven").await;
}

fn main() {}
