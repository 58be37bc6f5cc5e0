//! `#[create_request_context]` and `#[ensure_request_context]`: run an `async fn`'s body in a
//! request context (seed 003's `@CreateRequestContext` / `@EnsureRequestContext`).
//!
//! Policy: the body (wrapped as [`crate::async_fn`] does) runs through
//! `coherent::RequestContext::create` (always a fresh fork) or `::ensure` (reuse the current
//! context if the Orm has one). The EntityManager comes from `em = <expr>` (an
//! `EntityManager`, an `Orm`, or a reference or `Arc` to one), by default `self.em`. Errors: a
//! non-async function,
//! an unknown option, no `self` and no `em`, and `#[ensure_request_context]` together with
//! `#[transactional]` (seed 003: they are mutually exclusive; `#[transactional]` makes its own
//! context).

use crate::async_fn;
use proc_macro2::TokenStream;
use quote::quote;
use syn::{Expr, ItemFn};

/// Which attribute.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    Create,
    Ensure,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Create => "create_request_context",
            Kind::Ensure => "ensure_request_context",
        }
    }
}

/// Expands one of the attributes; errors become `compile_error!` invocations.
pub(crate) fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    match try_expand(kind, args, item) {
        Ok(tokens) => tokens,
        Err(e) => e.to_compile_error(),
    }
}

fn try_expand(kind: Kind, args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let name = kind.name();
    let mut em: Option<Expr> = None;
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("em") {
            em = Some(meta.value()?.parse()?);
            Ok(())
        } else {
            Err(meta.error(format!(
                "unknown #[{name}] option; the only option is `em = <expression>`"
            )))
        }
    });
    syn::parse::Parser::parse2(parser, args)?;
    let mut function: ItemFn = syn::parse2(item)?;
    async_fn::require_async(&function, name)?;
    if let Kind::Ensure = kind {
        async_fn::refuse_together(&function, name, "transactional")?;
    }
    let em = async_fn::entity_manager(&function, em, name)?;
    let private = async_fn::private();
    let bind = async_fn::bind_entity_manager(&em);
    let wrapped = async_fn::wrapped_body(&function);
    let run = match kind {
        Kind::Create => quote!(create),
        Kind::Ensure => quote!(ensure),
    };
    function.block = syn::parse_quote!({
        #bind
        let __coherent_body = #wrapped;
        #private::RequestContext::#run(&__coherent_em, __coherent_body).await
    });
    Ok(quote!(#function))
}
