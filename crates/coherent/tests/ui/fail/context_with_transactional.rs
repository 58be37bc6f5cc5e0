use coherent::prelude::*;

struct Service {
    em: EntityManager,
}

impl Service {
    #[ensure_request_context]
    #[transactional]
    async fn both(&self) {}
}

fn main() {}
