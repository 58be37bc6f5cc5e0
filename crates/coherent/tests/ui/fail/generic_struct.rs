use coherent::Entity;

#[derive(Entity, Clone, Debug)]
struct User<T> {
    #[primary_key]
    id: i64,
    extra: T,
}

fn main() {}
