use coherent::Entity;

#[derive(Entity, Clone, Debug)]
#[entity(table = "users")]
pub struct User {
    #[primary_key]
    pub id: i64,
    pub name: String,
    #[column(unique)]
    pub email: String,
    pub age: Option<i32>,
    #[column(name = "nick_name", nullable, default = "'anon'", index)]
    pub nick: Option<String>,
}

fn main() {}
