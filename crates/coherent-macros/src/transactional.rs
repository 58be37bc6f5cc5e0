//! `#[transactional]`: run an `async fn`'s body in a transaction scope (seed 003's
//! `@Transactional`).
//!
//! Policy: the body (wrapped as [`crate::async_fn`] does) runs through
//! `EntityManager::transactional_with` on the EntityManager of `em = <expr>` (default
//! `self.em`), with the transaction context bound, so `self.em` and every service's global
//! EntityManager inside the body resolve to the transaction. Options:
//! `propagation = Required | Nested | RequiresNew | Supports | Mandatory | Never | NotSupported`
//! (default `Required`, as MikroORM's decorator; without `em` and `self` the function runs
//! against the current transaction or request context, a typed error if there is none),
//! `isolation = ReadUncommitted | ReadCommitted |
//! Snapshot | RepeatableRead | Serializable`, `read_only`, `em = <expr>`. The function must
//! return `Result<T, E>` with `E: From<coherent::Error>` (a transaction can fail). Errors: a
//! non-async function, an unknown option or value, and `#[ensure_request_context]` on the same
//! function.

use crate::async_fn;
use proc_macro2::TokenStream;
use quote::quote;
use syn::{Expr, Ident, ItemFn};

const PROPAGATIONS: [&str; 7] = [
    "Required",
    "Nested",
    "RequiresNew",
    "Supports",
    "Mandatory",
    "Never",
    "NotSupported",
];
const ISOLATIONS: [&str; 5] = [
    "ReadUncommitted",
    "ReadCommitted",
    "Snapshot",
    "RepeatableRead",
    "Serializable",
];

/// Expands `#[transactional]`; errors become `compile_error!` invocations.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    match try_expand(args, item) {
        Ok(tokens) => tokens,
        Err(e) => e.to_compile_error(),
    }
}

fn one_of(value: &Ident, allowed: &[&str], what: &str) -> syn::Result<()> {
    if allowed.iter().any(|a| value == a) {
        Ok(())
    } else {
        Err(syn::Error::new_spanned(
            value,
            format!(
                "unknown {what} `{value}`; expected one of {}",
                allowed.join(", ")
            ),
        ))
    }
}

fn try_expand(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    const NAME: &str = "transactional";
    let mut em: Option<Expr> = None;
    let mut propagation: Option<Ident> = None;
    let mut isolation: Option<Ident> = None;
    let mut read_only = false;
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("em") {
            em = Some(meta.value()?.parse()?);
        } else if meta.path.is_ident("propagation") {
            let value: Ident = meta.value()?.parse()?;
            one_of(&value, &PROPAGATIONS, "propagation")?;
            propagation = Some(value);
        } else if meta.path.is_ident("isolation") {
            let value: Ident = meta.value()?.parse()?;
            one_of(&value, &ISOLATIONS, "isolation level")?;
            isolation = Some(value);
        } else if meta.path.is_ident("read_only") {
            read_only = true;
        } else {
            return Err(meta.error(
                "unknown #[transactional] option; expected `propagation = ..`, `isolation = ..`, `read_only` or `em = ..`",
            ));
        }
        Ok(())
    });
    syn::parse::Parser::parse2(parser, args)?;
    let mut function: ItemFn = syn::parse2(item)?;
    async_fn::require_async(&function, NAME)?;
    async_fn::refuse_together(&function, NAME, "ensure_request_context")?;
    let private = async_fn::private();
    let has_self = function
        .sig
        .inputs
        .iter()
        .any(|a| matches!(a, syn::FnArg::Receiver(_)));
    // No `em` and no `self`: the current context (a typed error at run time if there is none).
    let bind = if em.is_none() && !has_self {
        quote!(let __coherent_em = #private::RequestContext::current_any()?;)
    } else {
        let em = async_fn::entity_manager(&function, em, NAME)?;
        async_fn::bind_entity_manager(&em)
    };
    let wrapped = async_fn::wrapped_body(&function);
    let propagation =
        propagation.unwrap_or_else(|| Ident::new("Required", proc_macro2::Span::call_site()));
    let isolation = match isolation {
        Some(level) => quote!(::core::option::Option::Some(#private::IsolationLevel::#level)),
        None => quote!(::core::option::Option::None),
    };
    function.block = syn::parse_quote!({
        #bind
        let __coherent_options = #private::TxOptions {
            propagation: #private::Propagation::#propagation,
            isolation: #isolation,
            read_only: #read_only,
            ..::core::default::Default::default()
        };
        let __coherent_body = #wrapped;
        #private::transactional(&__coherent_em, __coherent_options, __coherent_body).await
    });
    Ok(quote!(#function))
}
