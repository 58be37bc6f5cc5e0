//! The expansion of `#[derive(FromRow)]`: one `FromRow` impl decoding a select's row into a
//! struct with named fields, one cell per field in field order.
//!
//! Policy: as the `Entity` derive, the expansion names coherent items only through
//! `<crate>::__private` (`#[from_row(crate = "..")]`, default `::coherent`), each field's
//! type is checked by a `FieldType` bound spanned at the type (an unsupported type is
//! reported there, with the trait's message), and a shape that is not a struct with named
//! fields (a tuple struct, a unit struct, an enum, a union) is a `compile_error!` at the
//! shape, naming the tuple alternative. Generic structs are supported: the bounds go on the
//! impl.

use crate::entity::spans::{end_span, respan};
use darling::FromAttributes;
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::{Data, DeriveInput, Fields};

/// `#[from_row(...)]` on the struct.
#[derive(Default, FromAttributes)]
#[darling(attributes(from_row))]
struct FromRowAttrs {
    /// The path of the `coherent` crate; default `::coherent`.
    #[darling(rename = "crate")]
    krate: Option<syn::Path>,
}

/// Expands the derive; errors become `compile_error!` invocations.
pub(crate) fn expand(input: &DeriveInput) -> TokenStream {
    match generate(input) {
        Ok(tokens) => tokens,
        Err(e) => e.to_compile_error(),
    }
}

fn generate(input: &DeriveInput) -> syn::Result<TokenStream> {
    let ident = &input.ident;
    let name = ident.to_string();
    let attrs = FromRowAttrs::from_attributes(&input.attrs)?;
    let krate = attrs
        .krate
        .map_or_else(|| quote!(::coherent), |path| quote!(#path));
    let private = quote!(#krate::__private);
    let shape = |span: &dyn quote::ToTokens, what: &str| {
        syn::Error::new_spanned(
            span,
            format!(
                "#[derive(FromRow)] needs a struct with named fields (one per select item, in \
                 order); `{name}` is {what}: decode into a tuple instead, which is a `FromRow` \
                 already"
            ),
        )
    };
    let named = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(named) => named,
            Fields::Unnamed(fields) => return Err(shape(fields, "a tuple struct")),
            Fields::Unit => return Err(shape(ident, "a unit struct")),
        },
        Data::Enum(data) => return Err(shape(&data.enum_token, "an enum")),
        Data::Union(data) => return Err(shape(&data.union_token, "a union")),
    };
    let fields: Vec<_> = named
        .named
        .iter()
        .map(|f| (f.ident.as_ref().expect("named"), &f.ty))
        .collect();
    let width = fields.len();
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let existing = where_clause.into_iter().flat_map(|w| w.predicates.iter());
    // As in the Entity derive: the bound carries the span of the type's last token, so an
    // unsupported type is reported at the field's type.
    let bounds = fields.iter().map(|(_, ty)| {
        let end = end_span(ty);
        let private = respan(&private, end);
        quote_spanned!(end=> #ty: #private::FieldType,)
    });
    let reads = fields.iter().map(|(field, _)| {
        let field_name = field.to_string();
        let field_name = field_name.strip_prefix("r#").unwrap_or(&field_name);
        quote!(#field: __row.read_as(#name, #field_name)?)
    });
    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics #private::FromRow for #ident #ty_generics
        where
            #(#existing,)*
            #(#bounds)*
        {
            const WIDTH: usize = #width;
            fn from_row(
                __row: &mut #private::RowReader<'_>,
            ) -> #private::Result<Self> {
                ::core::result::Result::Ok(Self { #(#reads,)* })
            }
        }
    })
}
