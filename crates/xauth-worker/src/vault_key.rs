//! `XAUTH_VAULT_KEY`: the worker's own secret in worker custody (32 random bytes, base64),
//! the root of every key that protects what the worker keeps for users. Each purpose
//! derives its own AES-256-GCM key from it with HKDF-SHA256 and its own `info`, so a key
//! never serves two purposes and a value sealed for one never opens as another.
//!
//! `XAUTH_VAULT_KEY_PREVIOUS` is accepted for reading during a rotation: what was sealed
//! under it still opens, and is sealed again under the new key when next written.
//!
//! A purpose's keys are derived once (HKDF and the AES key schedule cost ~10 µs) and kept
//! with the vault keys, which live as long as the isolate's configuration.
//!
//! Pure Rust, no `worker` types: unit-tested natively.

use core::cell::RefCell;
use core::fmt;
use std::rc::Rc;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

use crate::sealed::SealKeys;

/// The grants kept in each user's Durable Object.
pub const GRANT_INFO: &[u8] = b"xauth vault grant v1";
/// The session cookie of worker custody.
pub const SESSION_COOKIE_INFO: &[u8] = b"xauth session cookie v1";

/// The length of a vault key, in bytes.
pub const VAULT_KEY_BYTES: usize = 32;

/// One vault key. `Debug` never shows it; the bytes are zeroed when it is dropped.
pub struct VaultKey([u8; VAULT_KEY_BYTES]);

impl VaultKey {
    /// 32 bytes in base64 (standard or URL-safe alphabet, padded or not); `None` for
    /// anything else, so a key of the wrong length is a configuration error, not a weak key.
    pub fn parse(text: &str) -> Option<VaultKey> {
        let text = text.trim().as_bytes();
        let bytes = [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(text).ok())?;
        let key: [u8; VAULT_KEY_BYTES] = bytes.as_slice().try_into().ok()?;
        Some(VaultKey(key))
    }
}

impl Drop for VaultKey {
    fn drop(&mut self) {
        self.0.fill(0);
    }
}

impl fmt::Debug for VaultKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VaultKey([redacted])")
    }
}

/// The current vault key and, during a rotation, the previous one.
#[derive(Debug)]
pub struct VaultKeys {
    current: VaultKey,
    previous: Option<VaultKey>,
    /// The keys derived so far, by purpose.
    derived: RefCell<Vec<(&'static [u8], Rc<SealKeys>)>>,
}

impl VaultKeys {
    pub fn new(current: VaultKey, previous: Option<VaultKey>) -> VaultKeys {
        VaultKeys {
            current,
            previous,
            derived: RefCell::new(Vec::new()),
        }
    }

    /// The sealing keys for one purpose (`info`), derived on first use.
    pub fn keys_for(&self, info: &'static [u8]) -> Rc<SealKeys> {
        if let Some((_, keys)) = self.derived.borrow().iter().find(|(i, _)| *i == info) {
            return Rc::clone(keys);
        }
        let keys = Rc::new(SealKeys::derive(
            &self.current.0,
            self.previous.as_ref().map(|previous| previous.0.as_slice()),
            info,
        ));
        self.derived.borrow_mut().push((info, Rc::clone(&keys)));
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sealed::OpenedWith;

    #[test]
    fn parses_32_bytes_of_base64_in_any_common_form() {
        let bytes: Vec<u8> = (0..32).map(|i| i * 7 + 3).collect();
        for encoded in [
            STANDARD.encode(&bytes),
            STANDARD_NO_PAD.encode(&bytes),
            URL_SAFE.encode(&bytes),
            URL_SAFE_NO_PAD.encode(&bytes),
            format!("  {}\n", STANDARD.encode(&bytes)),
        ] {
            let key = VaultKey::parse(&encoded).unwrap_or_else(|| panic!("{encoded:?}"));
            assert_eq!(key.0.as_slice(), bytes.as_slice());
        }
    }

    #[test]
    fn refuses_other_lengths_and_garbage() {
        for refused in [
            String::new(),
            "not base64!".to_owned(),
            STANDARD.encode([1u8; 31]),
            STANDARD.encode([1u8; 33]),
            STANDARD.encode([1u8; 16]),
            "a".repeat(43),
        ] {
            assert!(VaultKey::parse(&refused).is_none(), "{refused:?}");
        }
    }

    #[test]
    fn purposes_and_keys_are_separate() {
        let key = || VaultKey::parse(&STANDARD.encode([9u8; 32])).unwrap();
        let other = || VaultKey::parse(&STANDARD.encode([8u8; 32])).unwrap();
        let keys = VaultKeys::new(key(), None);
        let grant = keys.keys_for(GRANT_INFO).seal(b"12", b"tokens").unwrap();
        assert!(
            keys.keys_for(SESSION_COOKIE_INFO)
                .open(b"12", &grant)
                .is_none()
        );
        assert!(
            VaultKeys::new(other(), None)
                .keys_for(GRANT_INFO)
                .open(b"12", &grant)
                .is_none()
        );
        let rotated = VaultKeys::new(other(), Some(key()));
        assert_eq!(
            rotated.keys_for(GRANT_INFO).open(b"12", &grant),
            Some((b"tokens".to_vec(), OpenedWith::Previous))
        );
        assert_eq!(format!("{:?}", key()), "VaultKey([redacted])");
    }
}
