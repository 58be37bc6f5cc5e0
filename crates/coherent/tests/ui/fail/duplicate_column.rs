use coherent::Entity;

#[derive(Entity, Clone, Debug)]
struct User {
    #[primary_key]
    id: i64,
    nick: String,
    #[column(name = "nick")]
    nickname: String,
}

fn main() {}
