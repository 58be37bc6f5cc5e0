//! [`CursorKey`]: the Orm's secret for signing cursor tokens (see `query::cursor`).

use coherent_core::{Error, Result};
use hmac::KeyInit;

/// HMAC-SHA-256.
pub(crate) type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The secret cursor tokens are signed with. Its `Debug` does not show it.
///
/// ```
/// use coherent_orm::CursorKey;
/// let key = CursorKey::new(*b"a secret of the deployment, 32 b").unwrap();
/// assert!(CursorKey::new(b"short").is_err());
/// assert_eq!(format!("{key:?}"), "CursorKey(..)");
/// ```
#[derive(Clone)]
pub struct CursorKey(std::sync::Arc<[u8]>);

impl CursorKey {
    /// A key from secret bytes: at least 16 (32 random bytes are right); a shorter secret is
    /// [`Error::Config`], since tokens signed with it could be forged.
    pub fn new(secret: impl AsRef<[u8]>) -> Result<CursorKey> {
        let secret = secret.as_ref();
        if secret.len() < 16 {
            return Err(Error::Config(format!(
                "a cursor key needs at least 16 secret bytes, got {}",
                secret.len()
            )));
        }
        Ok(CursorKey(secret.into()))
    }

    /// A random key.
    pub fn random() -> Result<CursorKey> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| Error::Config(format!("no randomness for the cursor key: {e}")))?;
        CursorKey::new(bytes)
    }

    /// A MAC keyed by this key.
    pub(crate) fn mac(&self) -> HmacSha256 {
        HmacSha256::new_from_slice(&self.0).expect("HMAC takes keys of any length")
    }
}

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorKey(..)")
    }
}
