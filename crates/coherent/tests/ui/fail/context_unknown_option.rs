use coherent::prelude::*;

struct Service {
    em: EntityManager,
}

impl Service {
    #[create_request_context(entity_manager = self.em)]
    async fn run(&self) {}
}

fn main() {}
