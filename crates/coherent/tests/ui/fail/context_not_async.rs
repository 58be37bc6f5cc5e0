use coherent::prelude::*;

struct Service {
    em: EntityManager,
}

impl Service {
    #[create_request_context]
    fn not_async(&self) -> usize {
        1
    }
}

fn main() {}
