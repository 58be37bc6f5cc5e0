//! The code `#[derive(Entity)]` expands to, from a valid [`Entity`]: the `Entity` impl (its
//! metadata, key access, row reading and writing, change detection) with one `FieldType` bound
//! per field type and a `PrimaryKey` bound on the key type, and an inherent impl with one typed
//! column handle per field. Coherent items are named through `<crate>::__private` only.

use super::model::{Column, Entity};
use super::names::screaming_snake_case;
use super::spans::{end_span, respan};
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;
use syn::spanned::Spanned;

/// The two impls for `entity`.
pub(super) fn generate(entity: &Entity<'_>) -> TokenStream {
    let Entity {
        ident,
        entity_name,
        table,
        columns,
        relations,
        pk,
        private,
        renamed_from,
        indexes,
    } = entity;
    let pk = *pk;
    let pk_col = &columns[pk];
    let pk_ident = pk_col.ident;
    let pk_ty = pk_col.ty;
    let pk_ty_key = quote!(<#pk_ty as #private::PrimaryKey>);
    let count = columns.len();

    // Bounds on the impl rather than uses in its body: a field type that is not a
    // `FieldType` (or a key that is not a `PrimaryKey`) is reported once, at the type, with
    // the trait's `on_unimplemented` message, and the body type-checks under the bound.
    // References are left out: two entities that reference each other would make their
    // impls' bounds depend on each other (a cycle the compiler cannot prove); their
    // `#[many_to_one]` check below names a wrong type instead.
    let bounds = columns.iter().filter(|c| !c.many_to_one).map(|c| {
        let ty = c.ty;
        let end = end_span(ty);
        let private = respan(private, end);
        quote_spanned!(end=> #ty: #private::FieldType,)
    });
    // `#[many_to_one]` needs a reference type: checked at compile time, at the field's type.
    let reference_checks = columns.iter().filter(|c| c.many_to_one).map(|c| {
        let ty = c.ty;
        let end = end_span(ty);
        let private = respan(private, end);
        let message = format!(
            "#[many_to_one] field `{}` must be a Ref<T> or Option<Ref<T>>",
            c.field
        );
        quote_spanned!(end=> const _: () = ::core::assert!(
            <#ty as #private::FieldType>::REFERENCES.is_some(),
            #message
        );)
    });
    let version_bounds = columns.iter().filter(|c| c.version).map(|c| {
        let ty = c.ty;
        let end = end_span(ty);
        let private = respan(private, end);
        quote_spanned!(end=> #ty: #private::VersionType,)
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
            version,
            concurrency_check,
            ..
        } = c;
        let primary_key = i == pk;
        let generated = if primary_key {
            quote!(#pk_ty_key::GENERATED)
        } else {
            quote!(false)
        };
        let default = optional_str(c.default.as_deref());
        let renamed_from = optional_str(c.renamed_from.as_deref());
        let on_delete = syn::Ident::new(c.on_delete, proc_macro2::Span::call_site());
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
                version: #version,
                concurrency_check: #concurrency_check,
                references: #field_type::REFERENCES,
                on_delete: #private::OnDelete::#on_delete,
                renamed_from: #renamed_from,
            }
        }
    });

    let table_renamed_from = optional_str(renamed_from.as_deref());
    let index_metas = indexes.iter().map(|(name, columns, unique)| {
        quote! {
            #private::IndexMeta { name: #name, columns: &[#(#columns),*], unique: #unique }
        }
    });

    let relation_metas = relations.iter().map(|r| {
        let ty = r.ty;
        let (field, mapped_by, orphan_removal) = (&r.field, &r.mapped_by, r.orphan_removal);
        let cascade_remove = r.cascade_remove;
        let (kind, join) = match &r.many_to_many {
            None if r.one_to_one => (quote!(OneToOne), quote!(::core::option::Option::None)),
            None => (quote!(OneToMany), quote!(::core::option::Option::None)),
            Some(None) => (quote!(ManyToMany), quote!(::core::option::Option::None)),
            Some(Some((table, owner_column, target_column))) => (
                quote!(ManyToMany),
                quote!(::core::option::Option::Some(#private::JoinTable {
                    table: #table,
                    owner_column: #owner_column,
                    target_column: #target_column,
                })),
            ),
        };
        quote! {
            #private::RelationMeta {
                field: #field,
                kind: #private::RelationKind::#kind,
                target: <#ty as #private::RelationField>::TARGET,
                mapped_by: #mapped_by,
                orphan_removal: #orphan_removal,
                cascade_remove: #cascade_remove,
                join: #join,
            }
        }
    });
    let relation_inits = relations.iter().map(|r| {
        let (f, ty) = (r.ident, r.ty);
        let end = end_span(ty);
        let private = respan(private, end);
        let relation = format!("{entity_name}.{}", r.field);
        quote_spanned!(end=> #f: <#ty as #private::RelationField>::unloaded(#relation),)
    });
    let relation_copies = relations.iter().map(|r| {
        let f = r.ident;
        quote! {
            ::core::clone::Clone::clone_from(&mut __target.#f, &self.#f);
        }
    });
    let relation_arms: Vec<TokenStream> = relations
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let f = r.ident;
            let ty = r.ty;
            quote!(#i => ::core::option::Option::Some(<#ty as #private::RelationField>::collection(&self.#f)),)
        })
        .collect();
    let relation_mut_arms = relations.iter().enumerate().map(|(i, r)| {
        let (f, ty) = (r.ident, r.ty);
        quote!(#i => ::core::option::Option::Some(<#ty as #private::RelationField>::collection_mut(&mut self.#f)),)
    });
    let reference_arms: Vec<TokenStream> = columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.many_to_one)
        .map(|(i, c)| {
            let f = c.ident;
            quote!(#i => ::core::option::Option::Some(&self.#f),)
        })
        .collect();
    let reference_mut_arms = columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.many_to_one)
        .map(|(i, c)| {
            let f = c.ident;
            quote!(#i => ::core::option::Option::Some(&mut self.#f),)
        });
    let adopt_relations = relations.iter().map(|r| {
        let f = r.ident;
        quote!(::core::mem::swap(&mut self.#f, &mut __old.#f);)
    });
    let adopt_references = columns.iter().filter(|c| c.many_to_one).map(|c| {
        let (f, ty) = (c.ident, c.ty);
        let same = quote!(<#ty as #private::FieldType>::same);
        quote! {
            if #same(&self.#f, &__old.#f) {
                ::core::mem::swap(&mut self.#f, &mut __old.#f);
            }
        }
    });
    // Through the traits the fields are checked against already, so a wrong field type is
    // reported once, by its own check.
    let slots = columns
        .iter()
        .filter(|c| c.many_to_one)
        .map(|c| {
            let (f, ty) = (c.ident, c.ty);
            quote! {
                if let ::core::option::Option::Some(__slot) =
                    <#ty as #private::FieldType>::relation_slot(&mut self.#f)
                {
                    __visit(__slot);
                }
            }
        })
        .chain(relations.iter().map(|r| {
            let (f, ty) = (r.ident, r.ty);
            quote!(__visit(<#ty as #private::RelationField>::slot(&mut self.#f));)
        }));
    let adopt = (!relations.is_empty() || !reference_arms.is_empty()).then(|| {
        quote! {
            fn adopt_relations(&mut self, __old: &mut Self) {
                #(#adopt_relations)*
                #(#adopt_references)*
            }

            fn relation_slots(
                &mut self,
                __visit: &mut dyn ::core::ops::FnMut(&mut dyn #private::RelationSlot),
            ) {
                #(#slots)*
            }
        }
    });
    // Only entities with relations or references override the defaults.
    let relation_access = (!relations.is_empty()).then(|| {
        quote! {
            fn relation(&self, __index: ::core::primitive::usize) -> ::core::option::Option<&dyn ::core::any::Any> {
                match __index {
                    #(#relation_arms)*
                    _ => ::core::option::Option::None,
                }
            }

            fn relation_mut(&mut self, __index: ::core::primitive::usize) -> ::core::option::Option<&mut dyn ::core::any::Any> {
                match __index {
                    #(#relation_mut_arms)*
                    _ => ::core::option::Option::None,
                }
            }
        }
    });
    let reference_access = (!reference_arms.is_empty()).then(|| {
        quote! {
            fn reference(&self, __column: ::core::primitive::usize) -> ::core::option::Option<&dyn ::core::any::Any> {
                match __column {
                    #(#reference_arms)*
                    _ => ::core::option::Option::None,
                }
            }

            fn reference_mut(&mut self, __column: ::core::primitive::usize) -> ::core::option::Option<&mut dyn ::core::any::Any> {
                match __column {
                    #(#reference_mut_arms)*
                    _ => ::core::option::Option::None,
                }
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
    // The key is the same in all three; the optimistic guards keep what was read.
    let merges = columns
        .iter()
        .zip(&fresh_bindings)
        .enumerate()
        .filter(|(i, (c, _))| *i != pk && !c.version && !c.concurrency_check)
        .map(|(_, (c, b))| {
            let (f, ty) = (c.ident, c.ty);
            let same = quote!(<#ty as #private::FieldType>::same);
            quote! {
                if #same(&self.#f, &__snapshot.#f) {
                    ::core::clone::Clone::clone_from(&mut __snapshot.#f, &#b);
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

    let relation_handles = relations.iter().map(|r| {
        let ty = r.ty;
        let field = &r.field;
        let const_ident = Ident::new(&screaming_snake_case(&r.field), r.ident.span());
        let doc = format!(
            " Relation `{field}` of `{entity_name}`, for filters on its items (`any`, `none`, `all`)."
        );
        // The item type as written (`Collection<Book>` → `Book`), so a field that is not a
        // collection is reported once, by the derive's own check; a type without generic
        // arguments (an alias) asks the trait.
        let item = match item_type(ty) {
            Some(item) => quote!(#item),
            None => quote_spanned!(ty.span()=> <#ty as #private::RelationField>::Item),
        };
        quote! {
            #[doc = #doc]
            pub const #const_ident: #private::Related<#ident, #item> = #private::Related::new(#field);
        }
    });

    quote! {
        #(#reference_checks)*

        #[automatically_derived]
        impl #private::Entity for #ident
        where
            #(#bounds)*
            #(#version_bounds)*
            #key_bound
        {
            type Key = #pk_ty;

            const META: &'static #private::EntityMeta = &#private::EntityMeta {
                name: #entity_name,
                table: #table,
                columns: &[#(#column_metas),*],
                primary_key: #pk,
                relations: &[#(#relation_metas),*],
                indexes: &[#(#index_metas),*],
                renamed_from: #table_renamed_from,
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
                    #(#relation_inits)*
                })
            }

            fn changed(&self, __snapshot: &Self) -> #private::ColumnSet {
                let mut __set = #private::ColumnSet::EMPTY;
                #(#changed)*
                __set
            }

            fn merge_unchanged(&mut self, __snapshot: &mut Self, __fresh: Self) {
                let Self { #(#destructure),* , .. } = __fresh;
                #(#merges)*
            }

            fn copy_into(&self, __target: &mut Self) {
                #(#copies)*
                #(#relation_copies)*
            }

            #relation_access
            #reference_access
            #adopt

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
            #(#relation_handles)*
        }

        // For `OrmBuilder::all_entities`.
        #private::inventory::submit! {
            #private::Registration::of::<#ident>()
        }
    }
}

/// `Some("..")` or `None`, as an `Option<&'static str>` expression.
fn optional_str(value: Option<&str>) -> TokenStream {
    match value {
        Some(v) => quote!(::core::option::Option::Some(#v)),
        None => quote!(::core::option::Option::None),
    }
}

/// The one generic type argument of a path type's last segment (`Collection<Book>` → `Book`).
fn item_type(ty: &syn::Type) -> Option<&syn::Type> {
    let syn::Type::Path(path) = ty else {
        return None;
    };
    let syn::PathArguments::AngleBracketed(args) = &path.path.segments.last()?.arguments else {
        return None;
    };
    let mut types = args.args.iter().filter_map(|a| match a {
        syn::GenericArgument::Type(t) => Some(t),
        _ => None,
    });
    let first = types.next()?;
    types.next().is_none().then_some(first)
}
