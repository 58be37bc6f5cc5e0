use coherent::prelude::*;

struct Service {
    em: EntityManager,
}

impl Service {
    #[transactional]
    async fn count(&self) -> usize {
        1
    }
}

fn main() {}
