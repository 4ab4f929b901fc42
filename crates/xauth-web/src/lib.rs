//! xauth-web: the browser half of "Sign in with X", compiled to wasm with wasm-bindgen.
//!
//! This first cut exposes PKCE to JavaScript; the sign-in flow, the callback and the
//! token keeper build on it. The protocol itself lives in `xauth-core`.

#![forbid(unsafe_code)]

use wasm_bindgen::prelude::*;
use xauth_core::PkceCodeVerifier;

/// A fresh PKCE pair for one sign-in (RFC 7636 §4.1-4.2).
#[wasm_bindgen]
pub struct PkcePair {
    verifier: PkceCodeVerifier,
    challenge: String,
}

#[wasm_bindgen]
impl PkcePair {
    /// Makes a verifier from the browser's CSPRNG (`crypto.getRandomValues`).
    #[wasm_bindgen(constructor)]
    pub fn new() -> Result<PkcePair, JsError> {
        let verifier = PkceCodeVerifier::generate().map_err(|e| JsError::new(&e.to_string()))?;
        let challenge = verifier.challenge().as_str().to_owned();
        Ok(PkcePair {
            verifier,
            challenge,
        })
    }

    /// The verifier: kept by the app until the code exchange, never sent to X's authorize page.
    #[wasm_bindgen(getter)]
    pub fn verifier(&self) -> String {
        self.verifier.secret().to_owned()
    }

    /// The S256 challenge that goes into the authorize link.
    #[wasm_bindgen(getter)]
    pub fn challenge(&self) -> String {
        self.challenge.clone()
    }
}

/// The S256 challenge of a verifier; throws when the verifier is not 43-128 unreserved chars.
#[wasm_bindgen(js_name = pkceChallenge)]
pub fn pkce_challenge(verifier: &str) -> Result<String, JsError> {
    let verifier = PkceCodeVerifier::parse(verifier).map_err(|e| JsError::new(&e.to_string()))?;
    Ok(verifier.challenge().as_str().to_owned())
}
