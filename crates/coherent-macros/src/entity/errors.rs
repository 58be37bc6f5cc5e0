//! The error accumulator: every check pushes into one [`Errors`], so one compilation reports
//! all the problems of a derive, each at its own span, in the order they were found.

/// Collects errors so one compilation reports all of them.
#[derive(Default)]
pub(super) struct Errors(Option<syn::Error>);

impl Errors {
    pub(super) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(e) => e.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(super) fn darling(&mut self, error: darling::Error) {
        // darling errors carry precise spans per option; `syn::Error` keeps them.
        for e in error.flatten() {
            let span = e.span();
            self.push(syn::Error::new(span, e.to_string()));
        }
    }

    pub(super) fn spanned(
        &mut self,
        tokens: impl quote::ToTokens,
        message: impl std::fmt::Display,
    ) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    /// The errors pushed so far, combined; `None` if there were none.
    pub(super) fn into_error(self) -> Option<syn::Error> {
        self.0
    }
}
