//! What the function attributes (`#[transactional]`, `#[create_request_context]`,
//! `#[ensure_request_context]`) share: checking the `async fn`, finding the EntityManager
//! (`em = <expr>`, default `self.em`), wrapping the body, and spotting a conflicting attribute.
//!
//! Policy: the body is kept unchanged inside an `async move` block whose output type is pinned
//! to the function's return type (so `?` and `return` keep their meaning), and the
//! EntityManager expression is evaluated before the body takes ownership of the arguments.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, FnArg, ItemFn, ReturnType, Type};

/// The paths the expansions name.
pub(crate) fn private() -> TokenStream {
    quote!(::coherent::__private)
}

/// Errors unless `function` is an `async fn`.
pub(crate) fn require_async(function: &ItemFn, attribute: &str) -> syn::Result<()> {
    if function.sig.asyncness.is_none() {
        return Err(syn::Error::new_spanned(
            function.sig.fn_token,
            format!("#[{attribute}] needs an `async fn`"),
        ));
    }
    Ok(())
}

/// Errors if `function` also carries `#[other]` (the two are mutually exclusive).
pub(crate) fn refuse_together(function: &ItemFn, attribute: &str, other: &str) -> syn::Result<()> {
    if let Some(found) = function
        .attrs
        .iter()
        .find(|a| a.path().segments.last().is_some_and(|s| s.ident == other))
    {
        return Err(syn::Error::new_spanned(
            found,
            format!(
                "#[{attribute}] and #[{other}] are mutually exclusive: #[transactional] already runs in a context of its own; keep one of them"
            ),
        ));
    }
    Ok(())
}

/// The EntityManager expression: `em` if given, else `self.em` for a method.
pub(crate) fn entity_manager(
    function: &ItemFn,
    em: Option<Expr>,
    attribute: &str,
) -> syn::Result<Expr> {
    match em {
        Some(e) => Ok(e),
        None if function
            .sig
            .inputs
            .iter()
            .any(|a| matches!(a, FnArg::Receiver(_))) =>
        {
            Ok(syn::parse_quote!(self.em))
        }
        None => Err(syn::Error::new_spanned(
            &function.sig.ident,
            format!(
                "#[{attribute}] on a function without `self` needs `em = <expression>` (an EntityManager or Orm)"
            ),
        )),
    }
}

/// `let __coherent_em = <the EntityManager of em>;`
pub(crate) fn bind_entity_manager(em: &Expr) -> TokenStream {
    let private = private();
    quote_spanned!(em.span()=> let __coherent_em = #private::ContextSource::entity_manager(&(#em));)
}

/// The function's body as a future whose output is the function's return type.
pub(crate) fn wrapped_body(function: &ItemFn) -> TokenStream {
    let private = private();
    let block = &function.block;
    match &function.sig.output {
        ReturnType::Type(_, ty) if matches!(**ty, Type::ImplTrait(_)) => quote!(async move #block),
        ReturnType::Type(_, ty) => quote!(#private::typed::<#ty, _>(async move #block)),
        ReturnType::Default => quote!(#private::typed::<(), _>(async move #block)),
    }
}
