use coherent::prelude::*;

struct Service {
    em: EntityManager,
}

impl Service {
    #[transactional]
    fn save(&self) -> Result<()> {
        Ok(())
    }
}

fn main() {}
