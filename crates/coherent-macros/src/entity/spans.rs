//! Where the type bounds are reported. A bound `Ty: Trait` whose tokens carry the span of the
//! last token of `Ty` is reported by rustc over the whole of `Ty`, so an unsupported field type
//! is underlined at the field's type rather than at the derive.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::Type;
use syn::spanned::Spanned;

/// The span of the last token of `ty`. A bound `Ty: Trait` whose trait path carries this span
/// is reported by rustc over the whole of `Ty` (first token to last).
pub(crate) fn end_span(ty: &Type) -> Span {
    ty.to_token_stream()
        .into_iter()
        .last()
        .map_or_else(|| ty.span(), |tt| tt.span())
}

/// `tokens` with every span set to `span`, so a bound built from them is reported at `span`.
pub(crate) fn respan(tokens: &TokenStream, span: Span) -> TokenStream {
    tokens
        .clone()
        .into_iter()
        .map(|mut tt| {
            if let proc_macro2::TokenTree::Group(g) = &tt {
                let mut group = proc_macro2::Group::new(g.delimiter(), respan(&g.stream(), span));
                group.set_span(span);
                tt = proc_macro2::TokenTree::Group(group);
            } else {
                tt.set_span(span);
            }
            tt
        })
        .collect()
}
