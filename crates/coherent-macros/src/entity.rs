//! The expansion of `#[derive(Entity)]`.
//!
//! Policy: the expansion names coherent items only through `<crate>::__private::...` (with
//! `<crate>` = `::coherent` unless `#[entity(crate = "..")]` says otherwise) and std items
//! through `::core` / `::std`, declares nothing but the trait impl, the inherent column
//! constants and an anonymous `const _` holding the type assertions, so it is hygienic in any
//! scope (including a function body). Every field type is checked against `FieldType` (and the
//! key against `PrimaryKey`) by an assertion spanned at the field's type, so an unsupported type
//! is reported once, at the type, with the trait's `on_unimplemented` message.

use darling::FromAttributes;
use darling::util::Flag;
use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use std::collections::HashMap;
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, Ident, Type};

/// The most columns an entity may have (`ColumnSet::CAPACITY`).
const MAX_COLUMNS: usize = 128;

/// `#[entity(...)]` on the struct.
#[derive(Default, FromAttributes)]
#[darling(attributes(entity))]
struct EntityAttrs {
    /// The table name; default: the struct name in snake_case.
    table: Option<String>,
    /// The path of the `coherent` crate; default `::coherent`.
    #[darling(rename = "crate")]
    krate: Option<syn::Path>,
}

/// `#[column(...)]` on a field.
#[derive(Default, FromAttributes)]
#[darling(attributes(column))]
struct ColumnAttrs {
    /// The column name; default: the field name (without `r#`).
    name: Option<String>,
    /// A UNIQUE constraint.
    unique: Flag,
    /// A (non-unique) index.
    index: Flag,
    /// Redundant with `Option<T>`; rejected on other fields.
    nullable: Flag,
    /// A DDL default, as an SQL literal.
    default: Option<String>,
}

/// `#[primary_key]` on a field: takes no options.
#[derive(Default, FromAttributes)]
#[darling(attributes(primary_key))]
struct PrimaryKeyAttrs {}

/// One field, parsed.
struct Column<'a> {
    ident: &'a Ident,
    ty: &'a Type,
    /// The column name.
    name: String,
    /// The Rust field name, without `r#`.
    field: String,
    unique: bool,
    index: bool,
    default: Option<String>,
}

/// Collects errors so one compilation reports all of them.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(e) => e.combine(error),
            None => self.0 = Some(error),
        }
    }

    fn darling(&mut self, error: darling::Error) {
        // darling errors carry precise spans per option; `syn::Error` keeps them.
        for e in error.flatten() {
            let span = e.span();
            self.push(syn::Error::new(span, e.to_string()));
        }
    }

    fn spanned(&mut self, tokens: impl quote::ToTokens, message: impl std::fmt::Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }
}

/// Expands the derive; errors become `compile_error!` invocations.
pub(crate) fn expand(input: &DeriveInput) -> TokenStream {
    match try_expand(input) {
        Ok(tokens) => tokens,
        Err(e) => e.to_compile_error(),
    }
}

fn try_expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let struct_ident = &input.ident;
    let entity_name = struct_ident.unraw().to_string();

    let attrs = EntityAttrs::from_attributes(&input.attrs).unwrap_or_else(|e| {
        errors.darling(e);
        EntityAttrs::default()
    });

    if attrs.table.as_deref() == Some("") {
        errors.spanned(struct_ident, "#[entity(table = \"..\")] cannot be empty");
    }

    if !input.generics.params.is_empty() || input.generics.where_clause.is_some() {
        errors.spanned(
            &input.generics,
            format!(
                "#[derive(Entity)] does not support generic structs: entity `{entity_name}` must not have type, lifetime or const parameters"
            ),
        );
    }

    let named = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(named) => Some(named),
            Fields::Unnamed(fields) => {
                errors.spanned(
                    fields,
                    format!(
                        "#[derive(Entity)] needs a struct with named fields; `{entity_name}` is a tuple struct"
                    ),
                );
                None
            }
            Fields::Unit => {
                errors.spanned(
                    struct_ident,
                    format!(
                        "#[derive(Entity)] needs a struct with named fields; `{entity_name}` is a unit struct"
                    ),
                );
                None
            }
        },
        Data::Enum(data) => {
            errors.spanned(
                data.enum_token,
                format!(
                    "#[derive(Entity)] needs a struct with named fields; `{entity_name}` is an enum"
                ),
            );
            None
        }
        Data::Union(data) => {
            errors.spanned(
                data.union_token,
                format!(
                    "#[derive(Entity)] needs a struct with named fields; `{entity_name}` is a union"
                ),
            );
            None
        }
    };
    let Some(named) = named else {
        return Err(errors.0.expect("an error was pushed"));
    };

    if named.named.len() > MAX_COLUMNS {
        errors.spanned(
            struct_ident,
            format!(
                "entity `{entity_name}` has {} fields; an entity has at most {MAX_COLUMNS} columns",
                named.named.len()
            ),
        );
    }

    let mut columns = Vec::with_capacity(named.named.len());
    let mut primary_key: Option<usize> = None;
    let mut names_seen: HashMap<String, &Ident> = HashMap::new();
    let mut consts_seen: HashMap<String, &Ident> = HashMap::new();

    for (index, field) in named.named.iter().enumerate() {
        let ident = field.ident.as_ref().expect("named field");
        let field_name = ident.unraw().to_string();

        let opts = ColumnAttrs::from_attributes(&field.attrs).unwrap_or_else(|e| {
            errors.darling(e);
            ColumnAttrs::default()
        });
        if let Err(e) = PrimaryKeyAttrs::from_attributes(&field.attrs) {
            errors.darling(e);
        }

        let pk_attr = field
            .attrs
            .iter()
            .find(|a| a.path().is_ident("primary_key"));
        if let Some(pk_attr) = pk_attr {
            if primary_key.is_some() {
                errors.spanned(
                    pk_attr,
                    format!(
                        "entity `{entity_name}` has more than one #[primary_key]; composite keys are not supported yet"
                    ),
                );
            } else {
                primary_key = Some(index);
            }
            if option_inner(&field.ty).is_some() {
                errors.spanned(&field.ty, "a primary key cannot be Option");
            }
        }

        if opts.nullable.is_present() && option_inner(&field.ty).is_none() {
            errors.push(syn::Error::new(
                opts.nullable.span(),
                format!(
                    "#[column(nullable)] needs an Option<T> field: declare `{field_name}` as `Option<T>` to make its column nullable"
                ),
            ));
        }

        let name = opts.name.unwrap_or_else(|| field_name.clone());
        if name.is_empty() {
            errors.spanned(ident, "a column name cannot be empty");
        }
        if let Some(other) = names_seen.insert(name.clone(), ident) {
            errors.spanned(
                ident,
                format!(
                    "fields `{}` and `{field_name}` of entity `{entity_name}` both map to column `{name}`",
                    other.unraw()
                ),
            );
        }
        let const_name = screaming_snake_case(&field_name);
        if let Some(other) = consts_seen.insert(const_name.clone(), ident) {
            errors.spanned(
                ident,
                format!(
                    "fields `{}` and `{field_name}` of entity `{entity_name}` both get the column handle `{entity_name}::{const_name}`; rename one of them",
                    other.unraw()
                ),
            );
        }

        columns.push(Column {
            ident,
            ty: &field.ty,
            name,
            field: field_name,
            unique: opts.unique.is_present(),
            index: opts.index.is_present(),
            default: opts.default,
        });
    }

    if primary_key.is_none() {
        errors.spanned(
            struct_ident,
            format!(
                "entity `{entity_name}` has no primary key: mark one field with #[primary_key]"
            ),
        );
    }
    if let Some(e) = errors.0 {
        return Err(e);
    }
    let pk = primary_key.expect("checked above");

    let krate = attrs
        .krate
        .map_or_else(|| quote!(::coherent), |path| quote!(#path));
    let private = quote!(#krate::__private);
    let table = attrs
        .table
        .unwrap_or_else(|| snake_case(&struct_ident.unraw().to_string()));

    Ok(generate(&Generated {
        input,
        entity_name: &entity_name,
        table: &table,
        columns: &columns,
        pk,
        private: &private,
    }))
}

struct Generated<'a> {
    input: &'a DeriveInput,
    entity_name: &'a str,
    table: &'a str,
    columns: &'a [Column<'a>],
    pk: usize,
    private: &'a TokenStream,
}

fn generate(g: &Generated<'_>) -> TokenStream {
    let Generated {
        input,
        entity_name,
        table,
        columns,
        pk,
        private,
    } = *g;
    let ident = &input.ident;
    let pk_col = &columns[pk];
    let pk_ident = pk_col.ident;
    let pk_ty = pk_col.ty;
    let pk_ty_key = quote!(<#pk_ty as #private::PrimaryKey>);
    let count = columns.len();

    // Bounds on the impl rather than uses in its body: a field type that is not a
    // `FieldType` (or a key that is not a `PrimaryKey`) is reported once, at the type, with
    // the trait's `on_unimplemented` message, and the body type-checks under the bound.
    let bounds = columns.iter().map(|c| {
        let ty = c.ty;
        let end = end_span(ty);
        let private = respan(private, end);
        quote_spanned!(end=> #ty: #private::FieldType,)
    });
    let key_bound = {
        let end = end_span(pk_ty);
        let private = respan(private, end);
        quote_spanned!(end=> #pk_ty: #private::PrimaryKey,)
    };

    let column_metas = columns.iter().enumerate().map(|(i, c)| {
        let ty = c.ty;
        let field_type = quote!(<#ty as #private::FieldType>);
        let Column {
            name,
            field,
            unique,
            index,
            ..
        } = c;
        let primary_key = i == pk;
        let generated = if primary_key {
            quote!(#pk_ty_key::GENERATED)
        } else {
            quote!(false)
        };
        let default = match &c.default {
            Some(d) => quote!(::core::option::Option::Some(#d)),
            None => quote!(::core::option::Option::None),
        };
        quote! {
            #private::ColumnMeta {
                field: #field,
                name: #name,
                column_type: #field_type::COLUMN_TYPE,
                nullable: #field_type::NULLABLE,
                primary_key: #primary_key,
                generated: #generated,
                unique: #unique,
                index: #index,
                default: #default,
            }
        }
    });

    let push_values = columns.iter().enumerate().map(|(i, c)| {
        let (f, ty) = (c.ident, c.ty);
        let to_value = quote!(<#ty as #private::FieldType>::to_value);
        quote! {
            if __columns.contains(#i) {
                __out.push(#to_value(&self.#f));
            }
        }
    });

    let reads = columns.iter().map(|c| {
        let (f, ty, name) = (c.ident, c.ty, &c.name);
        let read = quote!(#private::RowReader::read::<#ty>);
        quote!(#f: #read(__row, #name)?,)
    });

    let changed = columns.iter().enumerate().map(|(i, c)| {
        let (f, ty) = (c.ident, c.ty);
        let same = quote!(<#ty as #private::FieldType>::same);
        quote! {
            if !#same(&self.#f, &__snapshot.#f) {
                __set.insert(#i);
            }
        }
    });

    let fresh_bindings: Vec<Ident> = (0..count)
        .map(|i| format_ident!("__coherent_fresh_{}", i))
        .collect();
    let destructure = columns.iter().zip(&fresh_bindings).map(|(c, b)| {
        let f = c.ident;
        quote!(#f: #b)
    });
    let merges = columns.iter().zip(&fresh_bindings).map(|(c, b)| {
        let (f, ty) = (c.ident, c.ty);
        let same = quote!(<#ty as #private::FieldType>::same);
        quote! {
            if #same(&self.#f, &__snapshot.#f) {
                self.#f = #b;
            }
        }
    });

    let copies = columns.iter().map(|c| {
        let f = c.ident;
        quote! {
            ::core::clone::Clone::clone_from(&mut __target.#f, &self.#f);
        }
    });

    let set_arms = columns.iter().enumerate().map(|(i, c)| {
        let (f, ty) = (c.ident, c.ty);
        let from_value = quote!(<#ty as #private::FieldType>::from_value);
        let column = format!("{entity_name}.{}", c.name);
        quote! {
            #i => {
                self.#f = #from_value(__value).map_err(|__message| #private::Error::Decode {
                    column: ::std::string::String::from(#column),
                    message: __message,
                })?;
            }
        }
    });
    let out_of_range = format!(
        "entity {entity_name} has no column {{}} (it has {count} columns, 0 to {})",
        count - 1
    );

    let handles = columns.iter().enumerate().map(|(i, c)| {
        let ty = c.ty;
        let name = &c.name;
        let const_ident = Ident::new(&screaming_snake_case(&c.field), c.ident.span());
        let doc = if c.name == c.field {
            format!(" Column `{name}` of `{table}`.")
        } else {
            format!(" Column `{name}` of `{table}` (field `{}`).", c.field)
        };
        quote! {
            #[doc = #doc]
            pub const #const_ident: #private::Column<#ident, #ty> = #private::Column::new(#name, #i);
        }
    });

    quote! {
        #[automatically_derived]
        impl #private::Entity for #ident
        where
            #(#bounds)*
            #key_bound
        {
            type Key = #pk_ty;

            const META: &'static #private::EntityMeta = &#private::EntityMeta {
                name: #entity_name,
                table: #table,
                columns: &[#(#column_metas),*],
                primary_key: #pk,
            };

            #[inline]
            fn key(&self) -> Self::Key {
                ::core::clone::Clone::clone(&self.#pk_ident)
            }

            #[inline]
            fn set_key(&mut self, __key: Self::Key) {
                self.#pk_ident = __key;
            }

            fn push_values(
                &self,
                __columns: #private::ColumnSet,
                __out: &mut ::std::vec::Vec<#private::Value>,
            ) {
                #(#push_values)*
            }

            fn from_row(__row: &mut #private::RowReader<'_>) -> #private::Result<Self> {
                ::core::result::Result::Ok(Self {
                    #(#reads)*
                })
            }

            fn changed(&self, __snapshot: &Self) -> #private::ColumnSet {
                let mut __set = #private::ColumnSet::EMPTY;
                #(#changed)*
                __set
            }

            fn merge_unchanged(&mut self, __snapshot: &Self, __fresh: Self) {
                let Self { #(#destructure),* } = __fresh;
                #(#merges)*
            }

            fn copy_into(&self, __target: &mut Self) {
                #(#copies)*
            }

            fn set_column(
                &mut self,
                __index: ::core::primitive::usize,
                __value: #private::Value,
            ) -> #private::Result<()> {
                match __index {
                    #(#set_arms)*
                    _ => {
                        return ::core::result::Result::Err(#private::Error::InvalidArgument(
                            ::std::format!(#out_of_range, __index),
                        ));
                    }
                }
                ::core::result::Result::Ok(())
            }
        }

        #[automatically_derived]
        impl #ident {
            #(#handles)*
        }
    }
}

/// The span of the last token of `ty`. A bound `Ty: Trait` whose trait path carries this span
/// is reported by rustc over the whole of `Ty` (first token to last).
fn end_span(ty: &Type) -> Span {
    ty.to_token_stream()
        .into_iter()
        .last()
        .map_or_else(|| ty.span(), |tt| tt.span())
}

/// `tokens` with every span set to `span`, so a bound built from them is reported at `span`.
fn respan(tokens: &TokenStream, span: Span) -> TokenStream {
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

/// `T` if `ty` is `Option<T>` (also `std::option::Option<T>`, `core::option::Option<T>`).
fn option_inner(ty: &Type) -> Option<&Type> {
    match ty {
        Type::Group(g) => option_inner(&g.elem),
        Type::Paren(p) => option_inner(&p.elem),
        Type::Path(p) if p.qself.is_none() => {
            let segments = &p.path.segments;
            let last = segments.last()?;
            let prefix_ok = match segments.len() {
                1 => true,
                3 => {
                    let root = segments[0].ident.to_string();
                    (root == "std" || root == "core") && segments[1].ident == "option"
                }
                _ => false,
            };
            if !prefix_ok || last.ident != "Option" {
                return None;
            }
            match &last.arguments {
                syn::PathArguments::AngleBracketed(args) if args.args.len() == 1 => {
                    match args.args.first()? {
                        syn::GenericArgument::Type(inner) => Some(inner),
                        _ => None,
                    }
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// `UserProfile` -> `user_profile`, `HTTPRequest` -> `http_request`, `nick_name` unchanged.
fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                let prev = chars[i - 1];
                let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
                if prev != '_'
                    && (prev.is_lowercase()
                        || prev.is_ascii_digit()
                        || (prev.is_uppercase() && next_lower))
                {
                    out.push('_');
                }
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `nick_name` -> `NICK_NAME`, `createdAt` -> `CREATED_AT`.
fn screaming_snake_case(name: &str) -> String {
    snake_case(name).to_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_conversions() {
        assert_eq!(snake_case("User"), "user");
        assert_eq!(snake_case("UserProfile"), "user_profile");
        assert_eq!(snake_case("HTTPRequest"), "http_request");
        assert_eq!(snake_case("UserV2"), "user_v2");
        assert_eq!(snake_case("already_snake"), "already_snake");
        assert_eq!(screaming_snake_case("nick"), "NICK");
        assert_eq!(screaming_snake_case("created_at"), "CREATED_AT");
        assert_eq!(screaming_snake_case("createdAt"), "CREATED_AT");
        assert_eq!(screaming_snake_case("type"), "TYPE");
    }

    #[test]
    fn detects_option() {
        let t: Type = syn::parse_quote!(Option<String>);
        assert!(option_inner(&t).is_some());
        let t: Type = syn::parse_quote!(::std::option::Option<i32>);
        assert!(option_inner(&t).is_some());
        let t: Type = syn::parse_quote!(Vec<u8>);
        assert!(option_inner(&t).is_none());
    }
}
