use coherent::prelude::*;

#[create_request_context(em = name)]
async fn job(name: String) {
    let _ = name;
}

fn main() {}
