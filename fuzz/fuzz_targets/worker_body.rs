//! The worker's JSON request bodies: `parse_json_object` and the field rules of `JsonBody`
//! (`string`, `required_string`, `is_set`).
//!
//! Asserts them against the parsed JSON: the first alias present and not `null` decides,
//! a string field is at most 2048 characters, anything else is a 400 `invalid_request`,
//! and a required field is never empty.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use xauth_worker::fuzzing::{ApiError, parse_json_object};

const MAX_FIELD_CHARS: usize = 2048;

fuzz_target!(|data: &[u8]| {
    let parsed = serde_json::from_slice::<Value>(data).ok();
    let body = match parse_json_object(data) {
        Ok(body) => body,
        Err(error) => {
            assert!(
                !matches!(parsed, Some(Value::Object(_))),
                "an object was refused"
            );
            is_bad_request(&error);
            return;
        }
    };
    let Some(Value::Object(object)) = parsed else {
        panic!("accepted a body that is not a JSON object");
    };
    // The routes' own field names, and the body's first keys.
    let mut names: Vec<&str> = vec!["code", "redirectUri", "redirect_uri", "denied"];
    names.extend(object.keys().take(3).map(String::as_str));
    for aliases in [&names[..1], &names[1..3], &names[3..], &names[4..]] {
        let first = aliases
            .iter()
            .find_map(|name| object.get(*name).filter(|v| !v.is_null()));
        let expected: Result<Option<&str>, ()> = match first {
            None => Ok(None),
            Some(Value::String(s)) if s.chars().count() <= MAX_FIELD_CHARS => Ok(Some(s)),
            Some(_) => Err(()),
        };
        let got = body.string(aliases);
        match (&got, expected) {
            (Ok(value), Ok(expected)) => assert_eq!(*value, expected),
            (Err(error), Err(())) => is_bad_request(error),
            _ => panic!("string({aliases:?}) = {got:?}, expected {expected:?}"),
        }
        match body.required_string(aliases) {
            Ok(value) => assert_eq!(Some(value).filter(|v| !v.is_empty()), expected.unwrap()),
            Err(error) => {
                is_bad_request(&error);
                assert!(expected.is_err() || expected.unwrap().is_none_or(str::is_empty));
            }
        }
    }
    for name in &names {
        let expected = match object.get(*name) {
            None | Some(Value::Null | Value::Bool(false)) => Ok(false),
            Some(Value::Bool(true)) => Ok(true),
            Some(Value::String(s)) if s.chars().count() <= MAX_FIELD_CHARS => Ok(!s.is_empty()),
            Some(_) => Err(()),
        };
        match (body.is_set(name), expected) {
            (Ok(got), Ok(expected)) => assert_eq!(got, expected, "is_set({name:?})"),
            (Err(error), Err(())) => is_bad_request(&error),
            (got, expected) => panic!("is_set({name:?}) = {got:?}, expected {expected:?}"),
        }
    }
});

fn is_bad_request(error: &ApiError) {
    assert_eq!(
        (error.status, error.error.as_str()),
        (400, "invalid_request")
    );
}
