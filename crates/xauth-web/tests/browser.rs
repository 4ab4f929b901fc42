//! Runs in headless Chromium (`cargo test --target wasm32-unknown-unknown -p xauth-web`).

#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::*;
use xauth_web::{PkcePair, pkce_challenge};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn rfc7636_appendix_b_vector_in_the_browser() {
    assert_eq!(
        pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").unwrap(),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
}

#[wasm_bindgen_test]
fn pairs_come_from_the_browsers_csprng_and_differ() {
    let first = PkcePair::new().unwrap();
    let second = PkcePair::new().unwrap();
    assert_eq!(first.verifier().len(), 43);
    assert!(
        first
            .verifier()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
    );
    assert_ne!(first.verifier(), second.verifier());
    assert_eq!(
        pkce_challenge(&first.verifier()).unwrap(),
        first.challenge()
    );
}

#[wasm_bindgen_test]
fn a_short_verifier_is_refused() {
    assert!(pkce_challenge("too-short").is_err());
}
