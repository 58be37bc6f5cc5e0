//! `setters!`: a chainable setter per field of an options struct, so that every options
//! struct has one builder style (`FindOptions::default().limit(10).offset(20)`) beside its
//! struct literal (`FindOptions { limit: Some(10), ..Default::default() }`).

/// `setters!(Type { field: ArgType => stored_value, .. })` writes, per field, a method
/// `field(self, field: ArgType) -> Self` that stores `stored_value` (an expression of the
/// argument, e.g. `Some(limit)`), with the given doc comments.
macro_rules! setters {
    ($ty:ty { $( $(#[$doc:meta])* $field:ident : $arg:ty => $value:expr ),* $(,)? }) => {
        impl $ty {
            $(
                $(#[$doc])*
                #[must_use]
                pub fn $field(mut self, $field: $arg) -> Self {
                    self.$field = $value;
                    self
                }
            )*
        }
    };
}

pub(crate) use setters;
