//! Sealing small values for the browser to carry: AES-256-GCM (authenticated encryption)
//! under a key derived with HKDF-SHA256 (RFC 5869) from a worker secret.
//!
//! A sealed value is `base64url(nonce || ciphertext || tag)`, no padding, with a fresh
//! 96-bit nonce from the platform CSPRNG per seal. The associated data (for the cookies,
//! the cookie's name) is authenticated but not stored, so a value sealed for one cookie
//! does not open as another. Each purpose derives its own key (HKDF `info`), so a key
//! never serves two purposes either.
//!
//! Pure Rust, no `worker` types: its unit tests run natively (`cargo test -p xauth-worker`).

use core::fmt;

use aes_gcm::aead::{Aead as _, KeyInit as _, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hkdf::Hkdf;
use sha2::Sha256;

const NONCE_BYTES: usize = 12;
const TAG_BYTES: usize = 16;

/// An AES-256-GCM key for one purpose. `Debug` never shows it.
pub struct SealKey(Aes256Gcm);

impl SealKey {
    /// The key for `info` (the purpose, e.g. `b"xauth oauth1 cookie v1"`), derived from
    /// `secret` with HKDF-SHA256 and no salt (RFC 5869 §3.1: fine for a high-entropy secret;
    /// `info` is what separates the keys).
    pub fn derive(secret: &[u8], info: &[u8]) -> SealKey {
        let mut key = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's 255 * 32 limit: `expand` cannot fail.
        let _ = Hkdf::<Sha256>::new(None, secret).expand(info, &mut key);
        let cipher = Aes256Gcm::new(&key.into());
        key.fill(0);
        SealKey(cipher)
    }

    /// Encrypts and authenticates `plaintext` together with `aad`.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<String, SealError> {
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce).map_err(|_| SealError)?;
        let ciphertext = self
            .0
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| SealError)?;
        let mut sealed = Vec::with_capacity(NONCE_BYTES + ciphertext.len());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(URL_SAFE_NO_PAD.encode(sealed))
    }

    /// The plaintext of a value [`SealKey::seal`] made with this key and this `aad`;
    /// `None` for anything else (malformed, tampered, another key or another `aad`).
    pub fn open(&self, aad: &[u8], sealed: &str) -> Option<Vec<u8>> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed.as_bytes()).ok()?;
        if bytes.len() < NONCE_BYTES + TAG_BYTES {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        self.0
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .ok()
    }
}

impl fmt::Debug for SealKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealKey([redacted])")
    }
}

/// The keys of one purpose during a key rotation: values are sealed under `current`, and
/// open under `current` or, while the rotation lasts, `previous`. A value that opened only
/// under `previous` is reported as such so the caller can seal it again under `current`.
#[derive(Debug)]
pub struct SealKeys {
    current: SealKey,
    previous: Option<SealKey>,
}

/// Which key opened a sealed value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenedWith {
    Current,
    /// The previous key: seal the value again before storing or answering it.
    Previous,
}

impl SealKeys {
    /// The keys for `info`, derived from the current secret and, during a rotation, the
    /// previous one.
    pub fn derive(current: &[u8], previous: Option<&[u8]>, info: &[u8]) -> SealKeys {
        SealKeys {
            current: SealKey::derive(current, info),
            previous: previous.map(|previous| SealKey::derive(previous, info)),
        }
    }

    /// Seals under the current key.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<String, SealError> {
        self.current.seal(aad, plaintext)
    }

    /// Opens under the current key, else the previous one; `None` when neither opens it.
    pub fn open(&self, aad: &[u8], sealed: &str) -> Option<(Vec<u8>, OpenedWith)> {
        if let Some(plaintext) = self.current.open(aad, sealed) {
            return Some((plaintext, OpenedWith::Current));
        }
        let plaintext = self.previous.as_ref()?.open(aad, sealed)?;
        Some((plaintext, OpenedWith::Previous))
    }
}

/// The CSPRNG failed (or the plaintext was absurdly large): nothing can be sealed.
#[derive(Debug)]
pub struct SealError;

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"xauth-demo-consumer-secret";

    fn key() -> SealKey {
        SealKey::derive(SECRET, b"purpose a")
    }

    #[test]
    fn round_trip_with_fresh_nonces() {
        let key = key();
        let one = key.seal(b"cookie", b"hello").unwrap();
        let two = key.seal(b"cookie", b"hello").unwrap();
        assert_ne!(one, two, "a fresh nonce per seal");
        assert!(!one.contains("hello"));
        assert_eq!(key.open(b"cookie", &one).as_deref(), Some(&b"hello"[..]));
        assert_eq!(key.open(b"cookie", &two).as_deref(), Some(&b"hello"[..]));
        // nonce + tag + 5 bytes, base64url without padding.
        assert_eq!(one.len(), ((12 + 16 + 5usize) * 4).div_ceil(3));
        assert!(
            one.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "cookie-safe: {one}"
        );
    }

    #[test]
    fn refuses_another_key_purpose_or_aad() {
        let sealed = key().seal(b"cookie", b"hello").unwrap();
        assert_eq!(key().open(b"other cookie", &sealed), None);
        assert_eq!(
            SealKey::derive(SECRET, b"purpose b").open(b"cookie", &sealed),
            None
        );
        assert_eq!(
            SealKey::derive(b"another secret", b"purpose a").open(b"cookie", &sealed),
            None
        );
    }

    #[test]
    fn refuses_tampering_and_garbage() {
        let key = key();
        let sealed = key.seal(b"cookie", b"hello").unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        for i in 0..bytes.len() {
            bytes[i] ^= 0x01;
            let tampered = URL_SAFE_NO_PAD.encode(&bytes);
            assert_eq!(key.open(b"cookie", &tampered), None, "byte {i} flipped");
            bytes[i] ^= 0x01;
        }
        let truncated = URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() - 1]);
        assert_eq!(key.open(b"cookie", &truncated), None);
        for garbage in ["", "x", "!!!!", &"A".repeat(40), &format!("{sealed}=")] {
            assert_eq!(key.open(b"cookie", garbage), None, "{garbage}");
        }
    }

    #[test]
    fn rotation_opens_under_the_previous_key_and_says_so() {
        let old = SealKeys::derive(b"old secret", None, b"purpose a");
        let rotated = SealKeys::derive(b"new secret", Some(b"old secret"), b"purpose a");
        let after = SealKeys::derive(b"new secret", None, b"purpose a");
        let sealed_old = old.seal(b"aad", b"grant").unwrap();
        assert_eq!(
            rotated.open(b"aad", &sealed_old),
            Some((b"grant".to_vec(), OpenedWith::Previous))
        );
        assert_eq!(after.open(b"aad", &sealed_old), None, "the old key is gone");
        let sealed_new = rotated.seal(b"aad", b"grant").unwrap();
        assert_eq!(
            after.open(b"aad", &sealed_new),
            Some((b"grant".to_vec(), OpenedWith::Current))
        );
        assert_eq!(old.open(b"aad", &sealed_new), None);
        assert_eq!(rotated.open(b"other aad", &sealed_old), None);
    }

    #[test]
    fn derivation_is_hkdf_sha256() {
        // RFC 5869 Appendix A.3 (no salt, no info): the first 32 bytes of the OKM, used as
        // the key, must encrypt like a key built from those bytes directly.
        let ikm = [0x0b_u8; 22];
        let okm = [
            0x8d, 0xa4, 0xe7, 0x75, 0xa5, 0x63, 0xc1, 0x8f, 0x71, 0x5f, 0x80, 0x2a, 0x06, 0x3c,
            0x5a, 0x31, 0xb8, 0xa1, 0x1f, 0x5c, 0x5e, 0xe1, 0x87, 0x9e, 0xc3, 0x45, 0x4e, 0x5f,
            0x3c, 0x73, 0x8d, 0x2d,
        ];
        let derived = SealKey::derive(&ikm, b"");
        let direct = SealKey(Aes256Gcm::new(&okm.into()));
        let sealed = derived.seal(b"aad", b"same key").unwrap();
        assert_eq!(
            direct.open(b"aad", &sealed).as_deref(),
            Some(&b"same key"[..])
        );
        assert_eq!(format!("{derived:?}"), "SealKey([redacted])");
    }
}
