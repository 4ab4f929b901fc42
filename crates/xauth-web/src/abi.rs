//! The sign-in module's boundary with the JS entry, without wasm-bindgen: its functions
//! take strings and answer strings, which a dozen lines of the entry pass through memory
//! more cheaply than generated glue would (`js/xauth_web.js`, `call`).
//!
//! A call is two steps. `buf(len)` empties the arena (`arena`: nothing outlives a call)
//! and gives `len` bytes, into which the entry writes the arguments as fields: each a
//! little-endian `u32` length and that many bytes, or the length `u32::MAX` for an absent
//! one. Then the entry calls the function with the buffer's address and length (and any
//! numbers). A string answer is an address where a `u32` length and the UTF-8 bytes lie,
//! or 0 for none; it stays valid until the next `buf`; an answer of several strings is
//! laid out as the arguments are. A yes/no answer is 1 or 0.
//!
//! Malformed input (fields that overrun the buffer, text that is not UTF-8) is read as
//! absent fields: the functions then refuse it as they refuse any missing value.

#![allow(unsafe_code)]

use crate::prelude::*;

use crate::arena;
use crate::signin::{self, ClientFields};

/// Empties the arena and gives `len` bytes for the next call's arguments (0 when memory
/// cannot grow).
#[unsafe(no_mangle)]
pub extern "C" fn buf(len: usize) -> *mut u8 {
    arena::reset();
    arena::take(len)
}

/// `signin::check_client` of `[clientId, redirectUri, scopes, authorizeUrl]`: what is
/// wrong, or none.
#[unsafe(no_mangle)]
pub extern "C" fn check_client(input: *const u8, len: usize) -> *const u8 {
    let fields = Fields::of(input, len);
    answer_opt(signin::check_client(&client(fields)).map(str::to_owned))
}

/// `signin::start` of `[clientId, redirectUri, scopes, authorizeUrl, 64 random bytes]`.
#[unsafe(no_mangle)]
pub extern "C" fn start(input: *const u8, len: usize) -> *const u8 {
    let mut fields = Fields::of(input, len);
    let client = client(fields.clone());
    let random = fields.nth(4).flatten().unwrap_or_default();
    answer(signin::start(&client, random))
}

/// `signin::is_callback` of `[url]`.
#[unsafe(no_mangle)]
pub extern "C" fn is_callback(input: *const u8, len: usize) -> u32 {
    u32::from(
        Fields::of(input, len)
            .text()
            .is_some_and(signin::is_callback),
    )
}

/// `signin::take_callback` of `[url, state, verifier]`, the pending sign-in's `createdAt`
/// (NaN when absent) and the time now: fields `["ok", code]`, or the refusal's `[code,
/// message, reason, error, description]`.
#[unsafe(no_mangle)]
pub extern "C" fn take_callback(
    input: *const u8,
    len: usize,
    created_at: f64,
    now_ms: f64,
) -> *const u8 {
    let mut fields = Fields::of(input, len);
    let url = fields.text().unwrap_or_default();
    let state = fields.text();
    let verifier = fields.text();
    let created_at = Some(created_at).filter(|at| at.is_finite());
    let refusal = match signin::take_callback(url, state, verifier, created_at, now_ms) {
        Ok(code) => return answer_fields(&[Some("ok"), Some(&code)]),
        Err(refusal) => refusal,
    };
    answer_fields(&[
        Some(refusal.code),
        Some(&refusal.message),
        refusal.reason,
        refusal.error.as_deref(),
        refusal.description.as_deref(),
    ])
}

/// `signin::proxy_url` of `[endpoint, input]`.
#[unsafe(no_mangle)]
pub extern "C" fn proxy_url(input: *const u8, len: usize) -> *const u8 {
    let mut fields = Fields::of(input, len);
    let endpoint = fields.text().unwrap_or_default();
    answer_opt(
        fields
            .text()
            .and_then(|input| signin::proxy_url(endpoint, input)),
    )
}

fn client(mut fields: Fields<'_>) -> ClientFields<'_> {
    ClientFields {
        client_id: fields.text(),
        redirect_uri: fields.text(),
        scopes: fields.text(),
        authorize_url: fields.text(),
    }
}

/// The arguments of a call, field by field.
#[derive(Clone)]
pub(crate) struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Fields<'a> {
    fn of(input: *const u8, len: usize) -> Fields<'a> {
        let rest = if input.is_null() {
            &[][..]
        } else {
            // SAFETY: `input` and `len` are what `buf` gave the entry for this call: live
            // arena memory (nothing else is allocated there before the call reads it), which
            // nothing writes while the call runs.
            unsafe { core::slice::from_raw_parts(input, len) }
        };
        Fields::new(rest)
    }

    /// Fields read from `bytes`.
    pub(crate) fn new(bytes: &'a [u8]) -> Fields<'a> {
        Fields { rest: bytes }
    }

    /// The next field as text, `None` when absent or not UTF-8.
    pub(crate) fn text(&mut self) -> Option<&'a str> {
        self.next()
            .flatten()
            .and_then(|bytes| core::str::from_utf8(bytes).ok())
    }
}

impl<'a> Iterator for Fields<'a> {
    /// A field: its bytes, or `None` when absent (or the buffer is malformed).
    type Item = Option<&'a [u8]>;

    fn next(&mut self) -> Option<Self::Item> {
        let (head, rest) = self.rest.split_first_chunk::<4>()?;
        let len = u32::from_le_bytes(*head);
        if len == u32::MAX {
            self.rest = rest;
            return Some(None);
        }
        let Some((field, rest)) = rest.split_at_checked(len as usize) else {
            self.rest = &[];
            return Some(None);
        };
        self.rest = rest;
        Some(Some(field))
    }
}

/// A string answer: its length and bytes in the arena, until the next call.
fn answer(text: String) -> *const u8 {
    answer_bytes(text.as_bytes())
}

fn answer_bytes(bytes: &[u8]) -> *const u8 {
    let len = u32::try_from(bytes.len()).unwrap_or(0);
    let mut out = Vec::with_capacity(bytes.len().saturating_add(4));
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(bytes);
    out.leak().as_ptr()
}

/// An answer of several fields, laid out as the arguments are (absent ones `u32::MAX`).
fn answer_fields(fields: &[Option<&str>]) -> *const u8 {
    let mut out = Vec::new();
    for field in fields {
        match field {
            Some(text) => {
                out.extend_from_slice(&u32::try_from(text.len()).unwrap_or(0).to_le_bytes());
                out.extend_from_slice(text.as_bytes());
            }
            None => out.extend_from_slice(&u32::MAX.to_le_bytes()),
        }
    }
    answer_bytes(&out)
}

fn answer_opt(text: Option<String>) -> *const u8 {
    text.map_or(core::ptr::null(), answer)
}

#[cfg(test)]
mod tests {
    use super::Fields;
    use crate::prelude::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

    fn field(bytes: &[u8]) -> Vec<u8> {
        let mut out = (bytes.len() as u32).to_le_bytes().to_vec();
        out.extend_from_slice(bytes);
        out
    }

    #[wasm_bindgen_test]
    fn fields_are_length_prefixed_and_absent_ones_are_none() {
        let mut input = field(b"one");
        input.extend_from_slice(&u32::MAX.to_le_bytes());
        input.extend(field("é\n\0".as_bytes()));
        input.extend(field(&[0xff, 0xfe]));
        input.extend(field(b""));
        let mut fields = Fields::new(&input);
        assert_eq!(fields.text(), Some("one"));
        assert_eq!(fields.text(), None);
        assert_eq!(fields.text(), Some("é\n\0"));
        assert_eq!(fields.text(), None, "not UTF-8");
        assert_eq!(fields.text(), Some(""));
        assert_eq!(fields.next(), None, "no more fields");
    }

    #[wasm_bindgen_test]
    fn a_field_that_overruns_the_buffer_ends_it() {
        let mut input = 10u32.to_le_bytes().to_vec();
        input.extend_from_slice(b"short");
        let mut fields = Fields::new(&input);
        assert_eq!(fields.next(), Some(None));
        assert_eq!(fields.next(), None);
        assert_eq!(Fields::new(&[1, 0]).next(), None, "a cut length");
    }
}
