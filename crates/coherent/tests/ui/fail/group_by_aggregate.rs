use coherent::prelude::*;

#[derive(Entity, Clone, Debug)]
pub struct Book {
    #[primary_key]
    pub id: i64,
    pub title: String,
    pub pages: i32,
}

async fn run(em: EntityManager) -> coherent::Result<()> {
    // An aggregate is not a grouping key.
    let _: Vec<(String, i64)> = em
        .select((Book::TITLE, count_all::<Book>()))
        .group_by(count_all::<Book>())
        .all()
        .await?;
    // Text cannot be summed.
    let _ = Book::TITLE.sum();
    Ok(())
}

fn main() {
    let _ = run;
}
