use coherent::prelude::*;

#[ensure_request_context]
async fn job(orm: &Orm) {
    let _ = orm;
}

fn main() {}
