// `embed_migrations!` lists its directory at compile time: a missing one is a compile error
// naming it, not a runtime surprise.
fn main() {
    let _migrations = coherent::migrate::embed_migrations!("no_such_migrations");
}
