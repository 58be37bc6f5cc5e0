//! `#[create_request_context]` and `#[ensure_request_context]`: run an `async fn`'s body in a
//! request context (seed 003's `@CreateRequestContext` / `@EnsureRequestContext`).
//!
//! Policy: the expansion wraps the body, unchanged, in an `async move` block whose output type
//! is pinned to the function's return type (so `?` and `return` keep their meaning), and runs
//! it through `coherent::RequestContext::create` (always a fresh fork) or `::ensure` (reuse
//! the current context if the Orm has one). The EntityManager comes from `em = <expr>` (an
//! `EntityManager`, an `Orm`, or a reference or `Arc` to one), by default `self.em`. It is
//! evaluated before the body takes ownership of the arguments. Errors: a non-async function,
//! an unknown option, no `self` and no `em`, and `#[ensure_request_context]` together with
//! `#[transactional]` (seed 003: they are mutually exclusive; `#[transactional]` makes its own
//! context).

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, FnArg, ItemFn, ReturnType, Type};

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

    if function.sig.asyncness.is_none() {
        return Err(syn::Error::new_spanned(
            function.sig.fn_token,
            format!("#[{name}] needs an `async fn`"),
        ));
    }
    if let Kind::Ensure = kind
        && let Some(tx) = function.attrs.iter().find(|a| {
            a.path()
                .segments
                .last()
                .is_some_and(|s| s.ident == "transactional")
        })
    {
        return Err(syn::Error::new_spanned(
            tx,
            "#[ensure_request_context] and #[transactional] are mutually exclusive: #[transactional] already runs in a context of its own; keep one of them",
        ));
    }
    let em = match em {
        Some(e) => e,
        None if function
            .sig
            .inputs
            .iter()
            .any(|a| matches!(a, FnArg::Receiver(_))) =>
        {
            syn::parse_quote!(self.em)
        }
        None => {
            return Err(syn::Error::new_spanned(
                &function.sig.ident,
                format!(
                    "#[{name}] on a function without `self` needs `em = <expression>` (an EntityManager or Orm)"
                ),
            ));
        }
    };

    let private = quote!(::coherent::__private);
    let block = &function.block;
    let wrapped = match &function.sig.output {
        ReturnType::Type(_, ty) if matches!(**ty, Type::ImplTrait(_)) => {
            quote!(async move #block)
        }
        ReturnType::Type(_, ty) => quote!(#private::typed::<#ty, _>(async move #block)),
        ReturnType::Default => quote!(#private::typed::<(), _>(async move #block)),
    };
    let run = match kind {
        Kind::Create => quote!(create),
        Kind::Ensure => quote!(ensure),
    };
    let source = quote_spanned!(em.span()=> #private::ContextSource::entity_manager(&(#em)));
    function.block = syn::parse_quote!({
        let __coherent_em = #source;
        let __coherent_body = #wrapped;
        #private::RequestContext::#run(&__coherent_em, __coherent_body).await
    });
    Ok(quote!(#function))
}
