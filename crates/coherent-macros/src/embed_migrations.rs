//! `embed_migrations!("migrations")`: the migration directories of a crate, embedded in its
//! binary (used through `coherent_migrate::embed_migrations!`, which passes its own path
//! first: `embed_migrations!($crate, "migrations")`).
//!
//! Policy: the directory is listed when the macro expands, relative to the invoking crate's
//! `CARGO_MANIFEST_DIR`; each `<timestamp>_<label>` subdirectory becomes a
//! `coherent_migrate::migration::Embedded` whose `up.sql` and `down.sql` are
//! `include_str!`-ed (so editing one rebuilds the crate), sorted by name. The expansion is
//! `Migrations::embedded(&[..])`, a `Result` (the SQL is split when it runs). A missing or
//! unreadable directory, a subdirectory whose name is not `<14 digits>_<label>`, a
//! migration without `up.sql` and an `.sql` file other than `up.sql`/`down.sql` are compile
//! errors, spanned on the path. Plain files and hidden entries beside the migrations are
//! skipped, as `Migrations::from_dir` does.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::quote;
use std::path::{Path, PathBuf};
use syn::LitStr;

/// Expands `embed_migrations!([crate_path,] "dir")`; errors become `compile_error!`.
pub(crate) fn expand(input: TokenStream) -> TokenStream {
    match parse(input).and_then(|(krate, dir)| expand_dir(&krate, &dir)) {
        Ok(tokens) => tokens,
        Err(e) => e.to_compile_error(),
    }
}

/// The crate path (everything before the last comma; `::coherent_migrate` if none) and the
/// directory literal.
fn parse(input: TokenStream) -> syn::Result<(TokenStream, LitStr)> {
    let mut tokens: Vec<TokenTree> = input.into_iter().collect();
    if matches!(tokens.last(), Some(TokenTree::Punct(p)) if p.as_char() == ',') {
        tokens.pop();
    }
    let comma = tokens
        .iter()
        .rposition(|t| matches!(t, TokenTree::Punct(p) if p.as_char() == ','));
    let (krate, dir) = match comma {
        Some(at) => (
            tokens[..at].iter().cloned().collect(),
            tokens[at + 1..].iter().cloned().collect::<TokenStream>(),
        ),
        None => (
            quote!(::coherent_migrate),
            tokens.into_iter().collect::<TokenStream>(),
        ),
    };
    let dir: LitStr = syn::parse2(dir).map_err(|e| {
        syn::Error::new(
            e.span(),
            "embed_migrations! takes the migrations directory as a string literal, relative to the crate's Cargo.toml: embed_migrations!(\"migrations\")",
        )
    })?;
    Ok((krate, dir))
}

fn expand_dir(krate: &TokenStream, dir: &LitStr) -> syn::Result<TokenStream> {
    let error = |message: String| syn::Error::new(dir.span(), message);
    let root = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .ok_or_else(|| error("embed_migrations!: CARGO_MANIFEST_DIR is not set".into()))?;
    let shown = dir.value();
    let path = root.join(&shown);
    let entries = std::fs::read_dir(&path).map_err(|e| {
        error(format!(
            "embed_migrations!: cannot read the migrations directory {shown:?} (relative to the crate's Cargo.toml): {e}"
        ))
    })?;
    let mut migrations = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| error(format!("embed_migrations!: {shown:?}: {e}")))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if name.starts_with('.') || !is_dir {
            continue;
        }
        check_name(&name)
            .map_err(|reason| error(format!("embed_migrations!: {shown}/{name}: {reason}")))?;
        migrations.push(migration(krate, &shown, &name, &entry.path(), dir.span())?);
    }
    migrations.sort_by(|a, b| a.0.cmp(&b.0));
    let items = migrations.into_iter().map(|(_, tokens)| tokens);
    Ok(quote! {
        #krate::migration::Migrations::embedded(&[#(#items),*])
    })
}

/// One `Embedded { .. }`, with its name for sorting.
fn migration(
    krate: &TokenStream,
    shown: &str,
    name: &str,
    path: &Path,
    span: Span,
) -> syn::Result<(String, TokenStream)> {
    let error = |message: String| syn::Error::new(span, message);
    for entry in std::fs::read_dir(path)
        .map_err(|e| error(format!("embed_migrations!: {shown}/{name}: {e}")))?
        .flatten()
    {
        let file = entry.file_name().to_string_lossy().into_owned();
        if file.ends_with(".sql") && file != "up.sql" && file != "down.sql" {
            return Err(error(format!(
                "embed_migrations!: {shown}/{name}/{file}: unexpected file (a migration has up.sql and optionally down.sql)"
            )));
        }
    }
    let file = |file: &str| -> syn::Result<Option<TokenStream>> {
        let full = path.join(file);
        if !full.is_file() {
            return Ok(None);
        }
        let full = full.to_str().ok_or_else(|| {
            error(format!(
                "embed_migrations!: {shown}/{name}/{file}: the path is not UTF-8"
            ))
        })?;
        let shown = format!("{shown}/{name}/{file}");
        Ok(Some(quote!((#shown, ::core::include_str!(#full)))))
    };
    let up = file("up.sql")?
        .ok_or_else(|| error(format!("embed_migrations!: {shown}/{name} has no up.sql")))?;
    let down = match file("down.sql")? {
        Some(down) => quote!(::core::option::Option::Some(#down)),
        None => quote!(::core::option::Option::None),
    };
    let tokens = quote! {
        #krate::migration::Embedded { name: #name, up: #up, down: #down }
    };
    Ok((name.to_owned(), tokens))
}

/// `<14 digits>_<label>` (the rule of `coherent_migrate::migration::name`).
fn check_name(name: &str) -> Result<(), String> {
    let bytes = name.as_bytes();
    let stamped = bytes.len() > 15
        && bytes[..14].iter().all(u8::is_ascii_digit)
        && bytes[14] == b'_'
        && bytes[15..]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-');
    if stamped {
        Ok(())
    } else {
        Err("not a migration name: expected <YYYYMMDDHHMMSS>_<label> (ASCII letters, digits, `_` and `-`), such as 20261207120000_add_users".into())
    }
}
