//! Reading a `DeriveInput` into a [`model::Entity`](super::model::Entity), with every check
//! that can fail the derive before code is generated: the shape (a non-generic struct with
//! named fields, at most [`MAX_COLUMNS`]), the options, exactly one `#[primary_key]` that is
//! not an `Option`, and unique column names and column handles. All problems are collected
//! and reported together; the field types themselves are checked later, by the compiler.

use super::attrs::{
    ColumnAttrs, ConcurrencyCheckAttrs, EntityAttrs, IndexAttrs, ManyToManyAttrs, ManyToOneAttrs,
    OneToManyAttrs, OneToOneAttrs, PrimaryKeyAttrs, VersionAttrs,
};
use super::errors::Errors;
use super::model::{Column, Entity, Relation};
use super::names::{screaming_snake_case, singular, snake_case};
use super::types::option_inner;
use darling::FromAttributes;
use quote::quote;
use std::collections::HashMap;
use syn::ext::IdentExt;
use syn::{Data, DeriveInput, Fields, FieldsNamed, Ident};

/// The most columns an entity may have (`ColumnSet::CAPACITY`).
const MAX_COLUMNS: usize = 128;

/// The entity `input` declares, or every error found in it.
pub(super) fn parse(input: &DeriveInput) -> syn::Result<Entity<'_>> {
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

    let Some(named) = named_fields(input, &entity_name, &mut errors) else {
        return Err(errors.into_error().expect("an error was pushed"));
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
    let mut relations = Vec::new();
    let mut primary_key: Option<usize> = None;
    let mut names_seen: HashMap<String, &Ident> = HashMap::new();
    let mut consts_seen: HashMap<String, &Ident> = HashMap::new();
    let mut versions: Vec<(&syn::Attribute, String)> = Vec::new();

    for field in &named.named {
        let ident = field.ident.as_ref().expect("named field");
        let field_name = ident.unraw().to_string();
        let table_name = attrs
            .table
            .clone()
            .unwrap_or_else(|| snake_case(&entity_name));
        let owner = (table_name.as_str(), entity_name.as_str());
        if let Some(relation) = relation_field(field, &field_name, owner, &mut errors) {
            relations.push(relation);
            continue;
        }
        let index = columns.len();

        let opts = ColumnAttrs::from_attributes(&field.attrs).unwrap_or_else(|e| {
            errors.darling(e);
            ColumnAttrs::default()
        });
        if let Err(e) = PrimaryKeyAttrs::from_attributes(&field.attrs) {
            errors.darling(e);
        }
        if let Err(e) = VersionAttrs::from_attributes(&field.attrs) {
            errors.darling(e);
        }
        if let Err(e) = ConcurrencyCheckAttrs::from_attributes(&field.attrs) {
            errors.darling(e);
        }
        let many_to_one_opts = ManyToOneAttrs::from_attributes(&field.attrs).unwrap_or_else(|e| {
            errors.darling(e);
            ManyToOneAttrs::default()
        });
        let marker = |name: &str| field.attrs.iter().find(|a| a.path().is_ident(name));
        let version_attr = marker("version");
        let check_attr = marker("concurrency_check");
        if let Some(attr) = version_attr {
            versions.push((attr, field_name.clone()));
            if marker("primary_key").is_some() {
                errors.spanned(attr, "a primary key cannot be the version");
            }
            if let Some(check) = check_attr {
                errors.spanned(
                    check,
                    "the version is always checked; #[concurrency_check] is for other fields",
                );
            }
        }
        if let (Some(attr), Some(_)) = (check_attr, marker("primary_key")) {
            errors.spanned(
                attr,
                "primary keys always take part in the concurrency check; remove #[concurrency_check]",
            );
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

        // `#[one_to_one]` without mapped_by is the owning side: a unique reference column.
        let one_to_one = marker("one_to_one").is_some();
        let many_to_one = marker("many_to_one").is_some() || one_to_one;
        if let (true, Some(pk)) = (many_to_one, marker("primary_key")) {
            errors.spanned(pk, "a many-to-one reference cannot be the primary key");
        }
        // The owning side's options were checked by `relation_field`.
        let on_delete_lit = many_to_one_opts.on_delete.or_else(|| {
            one_to_one
                .then(|| OneToOneAttrs::from_attributes(&field.attrs).ok())
                .flatten()
                .and_then(|o| o.on_delete)
        });
        let on_delete = on_delete_rule(on_delete_lit.as_ref(), &field.ty, &mut errors);
        if let Some(old) = &opts.renamed_from
            && old.is_empty()
        {
            errors.spanned(ident, "#[column(renamed_from = \"..\")] cannot be empty");
        }
        // A reference's column is `<field>_id` unless named.
        let name = opts.name.unwrap_or_else(|| {
            if many_to_one {
                format!("{field_name}_id")
            } else {
                field_name.clone()
            }
        });
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
            unique: opts.unique.is_present() || one_to_one,
            index: opts.index.is_present(),
            default: opts.default,
            version: version_attr.is_some(),
            concurrency_check: check_attr.is_some(),
            many_to_one,
            on_delete,
            renamed_from: opts.renamed_from,
        });
    }

    if versions.len() > 1 {
        let names: Vec<String> = versions.iter().map(|(_, n)| format!("'{n}'")).collect();
        errors.spanned(
            versions[1].0,
            format!(
                "Entity {entity_name} has multiple version properties defined: {}. Only one version property is allowed per entity.",
                names.join(", ")
            ),
        );
    }

    let table = attrs
        .table
        .clone()
        .unwrap_or_else(|| snake_case(&struct_ident.unraw().to_string()));
    if attrs.renamed_from.as_deref() == Some("") {
        errors.spanned(
            struct_ident,
            "#[entity(renamed_from = \"..\")] cannot be empty",
        );
    }
    let declared = attrs
        .index
        .iter()
        .map(|i| (i, false))
        .chain(attrs.unique.iter().map(|i| (i, true)));
    let mut indexes: Vec<(String, Vec<String>, bool)> = Vec::new();
    for (declared, unique) in declared {
        if let Some(index) = entity_index(declared, unique, &table, &columns, &mut errors) {
            if indexes.iter().any(|(name, ..)| *name == index.0) {
                errors.spanned(
                    struct_ident,
                    format!(
                        "entity `{entity_name}` declares the index `{}` twice",
                        index.0
                    ),
                );
            }
            // The name a column's own index has (`#[column(unique | index)]`, a reference).
            let clash = columns.iter().enumerate().find(|&(i, c)| {
                Some(i) != primary_key
                    && (c.unique || c.index || c.many_to_one)
                    && index.0
                        == format!("{}_{table}_{}", if c.unique { "uq" } else { "idx" }, c.name)
            });
            if let Some((_, c)) = clash {
                errors.spanned(
                    struct_ident,
                    format!(
                        "entity `{entity_name}` declares the index `{}`, the name of the index of column `{}` already: drop one, or name it with `name = \"..\"`",
                        index.0, c.name
                    ),
                );
            }
            indexes.push(index);
        }
    }
    if primary_key.is_none() {
        errors.spanned(
            struct_ident,
            format!(
                "entity `{entity_name}` has no primary key: mark one field with #[primary_key]"
            ),
        );
    }
    if let Some(e) = errors.into_error() {
        return Err(e);
    }
    let pk = primary_key.expect("checked above");

    let krate = attrs
        .krate
        .map_or_else(|| quote!(::coherent), |path| quote!(#path));
    let private = quote!(#krate::__private);
    Ok(Entity {
        ident: struct_ident,
        entity_name,
        table,
        columns,
        relations,
        pk,
        private,
        renamed_from: attrs.renamed_from,
        indexes,
    })
}

/// The longest identifier PostgreSQL keeps (it cuts longer ones short, so the catalog would
/// name the index differently from the entity).
const MAX_IDENTIFIER: usize = 63;

/// An `index(..)` / `unique(..)` of `#[entity(..)]` resolved to column names: (name,
/// columns, unique). Each listed name is a field or a column of the entity.
fn entity_index(
    declared: &IndexAttrs,
    unique: bool,
    table: &str,
    columns: &[Column<'_>],
    errors: &mut Errors,
) -> Option<(String, Vec<String>, bool)> {
    let kind = if unique { "unique" } else { "index" };
    let Some(first) = declared.columns.first() else {
        errors.push(syn::Error::new(
            proc_macro2::Span::call_site(),
            format!("#[entity({kind}(columns = [..]))] needs at least one column"),
        ));
        return None;
    };
    let mut names: Vec<String> = Vec::with_capacity(declared.columns.len());
    for lit in &declared.columns {
        let wanted = lit.value();
        match columns.iter().find(|c| c.field == wanted || c.name == wanted) {
            Some(c) if names.contains(&c.name) => {
                errors.spanned(lit, format!("column `{}` is listed twice", c.name));
            }
            Some(c) => names.push(c.name.clone()),
            None => errors.spanned(
                lit,
                format!("no column field named `{wanted}`: {kind} columns name fields (or their columns) of this entity; collections are not columns"),
            ),
        }
    }
    if names.len() != declared.columns.len() {
        return None;
    }
    let prefix = if unique { "uq" } else { "idx" };
    let name = declared
        .name
        .clone()
        .unwrap_or_else(|| format!("{prefix}_{table}_{}", names.join("_")));
    if name.is_empty() || name.len() > MAX_IDENTIFIER {
        errors.spanned(
            first,
            format!("the {kind} name `{name}` must be 1 to {MAX_IDENTIFIER} characters; name it with `name = \"..\"`"),
        );
        return None;
    }
    Some((name, names, unique))
}

/// The `OnDelete` variant `lit` names (`NoAction` without one); `set null` needs a nullable
/// reference.
fn on_delete_rule(lit: Option<&syn::LitStr>, ty: &syn::Type, errors: &mut Errors) -> &'static str {
    let Some(lit) = lit else {
        return "NoAction";
    };
    let rule = match lit
        .value()
        .trim()
        .to_ascii_lowercase()
        .replace('_', " ")
        .as_str()
    {
        "no action" => "NoAction",
        "restrict" => "Restrict",
        "cascade" => "Cascade",
        "set null" => "SetNull",
        other => {
            errors.spanned(
                lit,
                format!("unknown on_delete rule `{other}`: expected \"cascade\", \"set null\", \"restrict\" or \"no action\""),
            );
            return "NoAction";
        }
    };
    if rule == "SetNull" && option_inner(ty).is_none() {
        errors.spanned(
            lit,
            "on_delete = \"set null\" needs a nullable reference: declare the field as `Option<Ref<T>>`",
        );
    }
    rule
}

/// The relation field `field` declares with `#[one_to_many(..)]`, if it does (errors for a
/// missing `mapped_by` or column attributes on it are pushed).
fn relation_field<'a>(
    field: &'a syn::Field,
    field_name: &str,
    (owner_table, owner_name): (&str, &str),
    errors: &mut Errors,
) -> Option<Relation<'a>> {
    if let Some(attr) = field
        .attrs
        .iter()
        .find(|a| a.path().is_ident("many_to_many"))
    {
        let opts = ManyToManyAttrs::from_attributes(&field.attrs).unwrap_or_else(|e| {
            errors.darling(e);
            ManyToManyAttrs::default()
        });
        let join = match opts.mapped_by {
            Some(_)
                if opts.join_table.is_some()
                    || opts.owner_column.is_some()
                    || opts.target_column.is_some() =>
            {
                errors.spanned(
                    attr,
                    format!("#[many_to_many] field `{field_name}`: the inverse side (mapped_by) takes no join table options; declare them on the owning side"),
                );
                None
            }
            Some(_) => None,
            None => Some((
                opts.join_table
                    .unwrap_or_else(|| format!("{owner_table}_{field_name}")),
                opts.owner_column
                    .unwrap_or_else(|| format!("{}_id", snake_case(owner_name))),
                opts.target_column
                    .unwrap_or_else(|| format!("{}_id", singular(field_name))),
            )),
        };
        reject_column_attrs(field, field_name, "#[many_to_many]", errors);
        return Some(Relation {
            ident: field.ident.as_ref().expect("named field"),
            ty: &field.ty,
            field: field_name.to_owned(),
            mapped_by: opts.mapped_by.unwrap_or_default(),
            orphan_removal: false,
            cascade_remove: false,
            one_to_one: false,
            many_to_many: Some(join),
        });
    }
    if let Some(attr) = field.attrs.iter().find(|a| a.path().is_ident("one_to_one")) {
        let opts = match OneToOneAttrs::from_attributes(&field.attrs) {
            Ok(opts) => opts,
            Err(e) => {
                errors.darling(e);
                return None;
            }
        };
        // Without mapped_by it is the owning side: a column (see the caller).
        let Some(mapped_by) = opts.mapped_by else {
            if opts.orphan_removal.is_present() || opts.cascade_remove.is_present() {
                errors.spanned(
                    attr,
                    format!("#[one_to_one] field `{field_name}` owns the reference: orphan_removal and cascade_remove belong on the inverse side (mapped_by)"),
                );
            }
            return None;
        };
        if let Some(lit) = &opts.on_delete {
            errors.spanned(
                lit,
                format!("#[one_to_one] field `{field_name}` is the inverse side: on_delete belongs on the owning side's reference"),
            );
        }
        reject_column_attrs(field, field_name, "#[one_to_one(mapped_by)]", errors);
        return Some(Relation {
            ident: field.ident.as_ref().expect("named field"),
            ty: &field.ty,
            field: field_name.to_owned(),
            mapped_by,
            orphan_removal: opts.orphan_removal.is_present(),
            cascade_remove: opts.cascade_remove.is_present(),
            one_to_one: true,
            many_to_many: None,
        });
    }
    let attr = field
        .attrs
        .iter()
        .find(|a| a.path().is_ident("one_to_many"))?;
    let (opts, malformed) = match OneToManyAttrs::from_attributes(&field.attrs) {
        Ok(opts) => (opts, false),
        Err(e) => {
            errors.darling(e);
            (OneToManyAttrs::default(), true)
        }
    };
    reject_column_attrs(field, field_name, "#[one_to_many]", errors);
    let mapped_by = opts.mapped_by.unwrap_or_else(|| {
        // A malformed attribute was reported already; its options are unknown.
        if malformed {
            return String::new();
        }
        errors.spanned(
            attr,
            format!("#[one_to_many] field `{field_name}` needs mapped_by = \"<the items' #[many_to_one] field>\""),
        );
        String::new()
    });
    Some(Relation {
        ident: field.ident.as_ref().expect("named field"),
        ty: &field.ty,
        field: field_name.to_owned(),
        mapped_by,
        orphan_removal: opts.orphan_removal.is_present(),
        cascade_remove: opts.cascade_remove.is_present(),
        one_to_one: false,
        many_to_many: None,
    })
}

/// Pushes an error for each column attribute on a relation field.
fn reject_column_attrs(field: &syn::Field, field_name: &str, kind: &str, errors: &mut Errors) {
    let column_attrs = [
        "column",
        "primary_key",
        "version",
        "concurrency_check",
        "many_to_one",
    ];
    for other in field
        .attrs
        .iter()
        .filter(|a| column_attrs.iter().any(|name| a.path().is_ident(name)))
    {
        errors.spanned(
            other,
            format!("`{field_name}` is a {kind} collection, not a column; remove this attribute"),
        );
    }
}

/// The named fields of `input`, or `None` (with an error pushed) if it is not a struct with
/// named fields.
fn named_fields<'a>(
    input: &'a DeriveInput,
    entity_name: &str,
    errors: &mut Errors,
) -> Option<&'a FieldsNamed> {
    match &input.data {
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
                    &input.ident,
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
    }
}
