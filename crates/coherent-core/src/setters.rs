//! `setters!`: a chainable setter per field of an options struct, so that every options
//! struct of Coherent has one builder style (`ConnectOptions::default().max_connections(20)`)
//! beside its struct literal (`ConnectOptions { min_connections: 2, ..Default::default() }`).

/// `setters!(Type { field: ArgType => stored_value, .. })` writes, per field, a method
/// `field(self, field: ArgType) -> Self` that stores `stored_value` (an expression of the
/// argument, e.g. `Some(limit)`), with the given doc comments. Not public API: the options
/// structs of Coherent's crates use it.
///
/// ```
/// #[derive(Default)]
/// pub struct Paging {
///     /// At most this many.
///     pub limit: Option<u64>,
/// }
/// coherent_core::setters!(Paging {
///     /// Sets the most rows.
///     limit: u64 => Some(limit),
/// });
/// assert_eq!(Paging::default().limit(10).limit, Some(10));
/// ```
#[doc(hidden)]
#[macro_export]
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
