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
//! - `#[version]` on at most one field of type `i16`, `i32`, `i64` or `chrono::DateTime<Utc>`:
//!   the optimistic-lock version. `#[concurrency_check]` on fields whose loaded value every
//!   update must still find (the primary key always takes part).
//!   `nullable` is only accepted on `Option<T>` fields (where it is implied anyway).
//! - `#[many_to_one]` on a `Ref<T>` or `Option<Ref<T>>` field: a foreign-key column
//!   `<field>_id` (or `#[column(name = "..")]`).
//! - `#[one_to_many(mapped_by = "field", orphan_removal, cascade_remove)]` on a
//!   `Collection<T>` field: not a column; the items' `#[many_to_one]` field `field`
//!   references this entity. Decoded rows start with the collection unloaded.
//! - `#[many_to_many(join_table = "..", owner_column = "..", target_column = "..")]` on a
//!   `Collection<T>` field: the owning side of a many-to-many through a join table (defaults
//!   `<table>_<field>`, `<entity>_id`, `<field, singular>_id`);
//!   `#[many_to_many(mapped_by = "field")]`: its inverse side on the items.
//! - `#[one_to_one]` on a `Ref<T>` or `Option<Ref<T>>` field: the owning side of a
//!   one-to-one, a unique foreign-key column; `#[one_to_one(mapped_by = "field",
//!   orphan_removal)]` on an `Inverse<T>` field: its inverse side.
//!
//! The expansion implements `Entity` and adds one typed column handle per column field
//! (`User::NAME: Column<User, String>`).
//!
//! `#[derive(FromRow)]` decodes a select's row into a struct with named fields, one cell per
//! field in order (`#[from_row(crate = "..")]` as for entities).
//!
//! `embed_migrations!("migrations")` embeds a crate's migration directories; use it as
//! `coherent::migrate::embed_migrations!` (or `coherent_migrate::embed_migrations!`).
//!
//! `#[create_request_context]` and `#[ensure_request_context]` (options: `em = <expr>`,
//! default `self.em`) run an `async fn` in a request context; `#[transactional]` (options:
//! `propagation`, `isolation`, `read_only`, `em`) in a transaction scope.

mod async_fn;
mod embed_migrations;
mod entity;
mod from_row;
mod request_context;
mod transactional;

use proc_macro::TokenStream;

/// Derives `coherent::Entity` for a struct with named fields and adds one typed column handle
/// per field (`User::NAME`). See the crate documentation for the attributes.
#[proc_macro_derive(
    Entity,
    attributes(
        entity,
        primary_key,
        column,
        version,
        concurrency_check,
        many_to_one,
        one_to_many,
        many_to_many,
        one_to_one
    )
)]
pub fn derive_entity(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    entity::expand(&input).into()
}

/// Derives `coherent::FromRow` for a struct with named fields: a select's row decodes into
/// it one cell per field, in field order (`em.select(..).rows_as::<Stats>()`). Every field
/// type must be a column type (`FieldType`); a projection of another width is refused before
/// any SQL. `#[from_row(crate = "path::to::coherent")]` names the `coherent` crate (default
/// `::coherent`).
///
/// ```ignore
/// #[derive(FromRow)]
/// struct AuthorStats {
///     author: Ref<Author>,
///     books: i64,
///     last_published: Option<DateTime<Utc>>,
/// }
/// let stats: Vec<AuthorStats> = em
///     .select((Book::AUTHOR, count_all::<Book>(), Book::PUBLISHED.max()))
///     .group_by(Book::AUTHOR)
///     .rows_as::<AuthorStats>()
///     .all()
///     .await?;
/// ```
#[proc_macro_derive(FromRow, attributes(from_row))]
pub fn derive_from_row(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    from_row::expand(&input).into()
}

/// Runs an `async fn` in a new request context: a fresh fork of the Orm of `em` (default
/// `self.em`; an `EntityManager` or an `Orm`) is bound to the task while the body runs, so the
/// global EntityManager resolves to it. For entry points that are not HTTP requests (a
/// module's start-up, a job that must not reuse a caller's context).
///
/// ```ignore
/// #[create_request_context]
/// async fn rebuild_cache(&self) -> coherent::Result<()> { /* self.em is this run's fork */ }
/// #[create_request_context(em = orm)]
/// async fn nightly(orm: &Orm) -> coherent::Result<()> { /* ... */ }
/// ```
#[proc_macro_attribute]
pub fn create_request_context(args: TokenStream, item: TokenStream) -> TokenStream {
    request_context::expand(request_context::Kind::Create, args.into(), item.into()).into()
}

/// Runs an `async fn` in the current request context of `em`'s Orm, or in a new one if there
/// is none: for event handlers and jobs that call services which manage their own
/// transactions. Cannot be combined with `#[transactional]`.
#[proc_macro_attribute]
pub fn ensure_request_context(args: TokenStream, item: TokenStream) -> TokenStream {
    request_context::expand(request_context::Kind::Ensure, args.into(), item.into()).into()
}

/// Runs an `async fn` in a transaction scope: `EntityManager::transactional_with` on `em`
/// (default `self.em`), with the transaction bound as the context for the body. Options:
/// `propagation = Required` (default) `| Nested | RequiresNew | Supports | Mandatory | Never |
/// NotSupported`, `isolation = ReadCommitted | ...`, `read_only`, `em = <expr>`. The function
/// returns `Result<T, E>` with `E: From<coherent::Error>`. Cannot be combined with
/// `#[ensure_request_context]`.
///
/// ```ignore
/// #[transactional(propagation = RequiresNew, isolation = Serializable, read_only)]
/// async fn report(&self) -> coherent::Result<Report> { /* self.em is the transaction */ }
/// ```
#[proc_macro_attribute]
pub fn transactional(args: TokenStream, item: TokenStream) -> TokenStream {
    transactional::expand(args.into(), item.into()).into()
}

/// Embeds the migration directories of `dir` (relative to the crate's `Cargo.toml`) as a
/// `Result<coherent_migrate::Migrations>`. Use it through `coherent_migrate::embed_migrations!`
/// (or `coherent::migrate::embed_migrations!`), which passes its own path first.
///
/// ```ignore
/// let migrations = coherent::migrate::embed_migrations!("migrations")?;
/// ```
#[proc_macro]
pub fn embed_migrations(input: TokenStream) -> TokenStream {
    embed_migrations::expand(input.into()).into()
}
