//! The expansion of `#[derive(Entity)]`.
//!
//! Policy: the expansion names coherent items only through `<crate>::__private::...` (with
//! `<crate>` = `::coherent` unless `#[entity(crate = "..")]` says otherwise) and std items
//! through `::core` / `::std`, and declares nothing but two `#[automatically_derived]` impls
//! (the `Entity` impl and an inherent impl holding one column constant per field,
//! `User::NAME`) and the entity's `Registration` for `OrmBuilder::all_entities`.
//! Its locals are `__`-prefixed, so it is hygienic in any scope (including a function body).
//!
//! The field types are checked by `where` bounds on the `Entity` impl, not by code in its
//! body: every field type must be a `FieldType` and the key's type a `PrimaryKey`, each bound
//! spanned at the field's type, so an unsupported type is reported at the type, with the
//! trait's `on_unimplemented` message (and once more, with the same message, at the struct's
//! name, where the entity registers itself for `all_entities`: the registration needs the
//! `Entity` impl the failed bound withholds; no stable way avoids the second report). Everything else is checked here, before any code is
//! generated: every problem is reported in one compilation, and an invalid input expands to
//! `compile_error!`s only.
//!
//! The steps, one module each:
//! - [`attrs`]: what `#[entity]`, `#[column]` and `#[primary_key]` accept;
//! - [`parse`]: the `DeriveInput` read into a [`model::Entity`], with every check;
//! - [`generate`]: the model turned into the two impls;
//!
//! helped by [`errors`] (the error accumulator), [`names`] (case conversions), [`types`] (type
//! inspection) and [`spans`] (where the bounds are reported).

mod attrs;
mod errors;
mod generate;
mod model;
mod names;
mod parse;
pub(crate) mod spans;
mod types;

use proc_macro2::TokenStream;
use syn::DeriveInput;

/// Expands the derive; errors become `compile_error!` invocations.
pub(crate) fn expand(input: &DeriveInput) -> TokenStream {
    match parse::parse(input) {
        Ok(entity) => generate::generate(&entity),
        Err(e) => e.to_compile_error(),
    }
}
