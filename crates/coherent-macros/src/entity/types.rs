//! Syntactic inspection of field types. A derive sees tokens, not resolved types, so this
//! recognises only the spellings of `Option<T>`; whether a type is a supported column type is
//! left to the compiler (the `FieldType` bounds in [`generate`](super::generate)).

use syn::Type;

/// `T` if `ty` is `Option<T>` (also `std::option::Option<T>`, `core::option::Option<T>`).
pub(super) fn option_inner(ty: &Type) -> Option<&Type> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
