//! The platform CSPRNG, through `getrandom` (Web Crypto on wasm32).

use core::fmt;

/// The operating system's (or browser's) random number generator failed.
///
/// Nothing secret can be generated without it; callers should fail the request.
#[derive(Clone, Copy, Debug)]
pub struct RandomnessError(getrandom::Error);

impl fmt::Display for RandomnessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the system random number generator failed: ")?;
        fmt::Display::fmt(&self.0, f)
    }
}

impl core::error::Error for RandomnessError {}

/// 32 bytes from the CSPRNG.
pub(crate) fn random_32() -> Result<[u8; 32], RandomnessError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(RandomnessError)?;
    Ok(bytes)
}
