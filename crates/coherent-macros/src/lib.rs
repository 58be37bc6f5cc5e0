//! # coherent-macros
//!
//! `#[derive(Entity)]` for Coherent. Use it through the `coherent` crate
//! (`use coherent::Entity;`), whose `__private` module holds every path the expansion names.
//!
//! ```ignore
//! #[derive(Entity, Clone, Debug)]
//! #[entity(table = "users")]
//! pub struct User {
//!     #[primary_key]
//!     pub id: i64,
//!     pub name: String,
//!     #[column(unique)]
//!     pub email: String,
//!     pub age: Option<i32>,
//!     #[column(name = "nick_name", default = "'anon'", index)]
//!     pub nick: Option<String>,
//! }
//! ```
//!
//! Options:
//! - `#[entity(table = "..", crate = "path::to::coherent")]` on the struct: the table name
//!   (default: the struct name in snake_case) and the path of the `coherent` crate (default
//!   `::coherent`).
//! - `#[primary_key]` on exactly one field.
//! - `#[column(name = "..", unique, index, nullable, default = "SQL literal")]` on a field.
//!   `nullable` is only accepted on `Option<T>` fields (where it is implied anyway).
//!
//! The expansion implements `Entity` and adds one typed column handle per field
//! (`User::NAME: Column<User, String>`).

mod entity;

use proc_macro::TokenStream;

/// Derives `coherent::Entity` for a struct with named fields and adds one typed column handle
/// per field (`User::NAME`). See the crate documentation for the attributes.
#[proc_macro_derive(Entity, attributes(entity, primary_key, column))]
pub fn derive_entity(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    entity::expand(&input).into()
}
