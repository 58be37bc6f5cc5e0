use coherent::prelude::*;

struct Service {
    em: EntityManager,
}

impl Service {
    #[transactional]
    #[ensure_request_context]
    async fn both(&self) -> Result<()> {
        Ok(())
    }
}

fn main() {}
