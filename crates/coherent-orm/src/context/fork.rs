//! [`ForkOptions`]: how `EntityManager::fork_with` makes a new EntityManager.

/// Options of [`crate::EntityManager::fork_with`].
///
/// ```
/// use coherent_orm::ForkOptions;
/// let keep = ForkOptions { clear: false, ..Default::default() };
/// assert!(!keep.clear && ForkOptions::default().clear);
/// assert!(!ForkOptions::default().use_context);
/// ```
#[derive(Debug, Clone)]
pub struct ForkOptions {
    /// Start with an empty identity map (the default). With `false` the fork starts with the
    /// parent's managed instances (the same instances, shared) and its pending work.
    pub clear: bool,
    /// Whether the fork resolves to the current request context, as the global
    /// EntityManager does (default false: a fork is its own unit of work, wherever it is
    /// used).
    pub use_context: bool,
    /// The fork's flush mode (default: the parent's).
    pub flush_mode: Option<crate::FlushMode>,
    /// Disable (or enable) transactions on the fork (default: the parent's setting; see
    /// [`crate::OrmConfig::disable_transactions`]).
    pub disable_transactions: Option<bool>,
}

impl Default for ForkOptions {
    fn default() -> Self {
        ForkOptions {
            clear: true,
            use_context: false,
            flush_mode: None,
            disable_transactions: None,
        }
    }
}

crate::setters::setters!(ForkOptions {
    /// Sets whether the fork starts with an empty identity map.
    ///
    /// ```
    /// use coherent_orm::{FlushMode, ForkOptions};
    /// let o = ForkOptions::default().clear(false).flush_mode(FlushMode::Commit);
    /// assert!(!o.clear && o.flush_mode == Some(FlushMode::Commit));
    /// ```
    clear: bool => clear,
    /// Sets whether the fork resolves to the current request context.
    use_context: bool => use_context,
    /// Sets the fork's flush mode.
    flush_mode: crate::FlushMode => Some(flush_mode),
    /// Disables (or enables) transactions on the fork.
    disable_transactions: bool => Some(disable_transactions),
});
