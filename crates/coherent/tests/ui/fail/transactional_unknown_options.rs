use coherent::prelude::*;

struct Service {
    em: EntityManager,
}

impl Service {
    #[transactional(propagation = Sometimes)]
    async fn a(&self) -> Result<()> {
        Ok(())
    }

    #[transactional(isolation = Chaos)]
    async fn b(&self) -> Result<()> {
        Ok(())
    }

    #[transactional(timeout = 5)]
    async fn c(&self) -> Result<()> {
        Ok(())
    }
}

fn main() {}
