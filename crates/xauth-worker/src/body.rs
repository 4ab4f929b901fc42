//! Reading a JSON request body with bounds: size, media type, shape and field lengths, and
//! reading any body (the caller's, X's answers) whole but never past a limit.
//!
//! A body is read with workerd's `readAtLeast` on a BYOB reader: one read of at most
//! `limit + 1` bytes into a buffer of its own, sized by the declared length when there is
//! one. The usual body (declared, in bounds) costs one promise and one copy; a chunked one
//! a few reads of growing buffers, and one longer than the limit is refused as soon as
//! `limit + 1` bytes have come, without waiting for the rest.

use futures_util::StreamExt;
use serde_json::{Map, Value};
use wasm_bindgen::prelude::*;
use worker::ByteStream;
use worker::js_sys::{Object, Promise, Reflect, Uint8Array};
use worker::wasm_bindgen_futures::JsFuture;
use worker::worker_sys::web_sys::ReadableStream;

use crate::error::ApiError;
use crate::incoming::Incoming;

/// Bodies are small JSON objects; anything larger is refused before it is parsed.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// X's codes and tokens are ~100 characters; this bound only stops abuse.
const MAX_FIELD_CHARS: usize = 2048;

/// A request body that was a JSON object within the limits.
pub struct JsonBody(Map<String, Value>);

/// Reads the body as a JSON object, refusing other media types (415), big bodies (413)
/// and anything that is not a JSON object (400).
pub async fn read_json_body(req: &Incoming) -> Result<JsonBody, ApiError> {
    let content_type = req.header("content-type")?.unwrap_or_default();
    if !is_json_media_type(&content_type) {
        return Err(ApiError::unsupported_media_type());
    }
    let declared = declared_length(req)?;
    if declared.is_some_and(|length| length > MAX_BODY_BYTES as u64) {
        return Err(ApiError::payload_too_large(MAX_BODY_BYTES));
    }
    // Refused once it grows past the limit, so a chunked body with no declared length
    // cannot make the worker buffer more than that.
    let bytes = read_request_at_most(req, declared, MAX_BODY_BYTES)
        .await?
        .ok_or_else(|| ApiError::payload_too_large(MAX_BODY_BYTES))?;
    parse_json_object(&bytes)
}

/// A body's bytes as a JSON object, or a 400.
pub fn parse_json_object(bytes: &[u8]) -> Result<JsonBody, ApiError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(fields)) => Ok(JsonBody(fields)),
        Ok(_) => Err(ApiError::bad_request("The body must be a JSON object.")),
        Err(_) => Err(ApiError::bad_request("The body is not valid JSON.")),
    }
}

/// The request's `Content-Length`, if it has a readable one.
pub fn declared_length(req: &Incoming) -> Result<Option<u64>, ApiError> {
    Ok(req
        .header("content-length")?
        .and_then(|length| length.trim().parse::<u64>().ok()))
}

/// The request's body whole (empty when it has none), or `None` when it is longer than
/// `limit`; `declared` (its `Content-Length`) only sizes the first read.
pub async fn read_request_at_most(
    req: &Incoming,
    declared: Option<u64>,
    limit: usize,
) -> worker::Result<Option<Vec<u8>>> {
    match req.body() {
        Some(stream) => read_at_most(stream, declared, limit).await,
        None => Ok(Some(Vec::new())), // no body at all
    }
}

/// The first read's buffer when no length is declared: a token answer or a page of X's
/// API fits, and a larger body grows the buffer (doubling) up to the limit.
const FIRST_READ_BYTES: usize = 16 * 1024;

/// Reads `stream` to its end, or `None` as soon as it is longer than `limit` (the rest is
/// never read). `declared` is a hint for the first buffer only: a body longer than it (a
/// decompressed answer, a lying header) is read on, within `limit`.
pub async fn read_at_most(
    stream: ReadableStream,
    declared: Option<u64>,
    limit: usize,
) -> worker::Result<Option<Vec<u8>>> {
    let Ok(reader) = byob_reader(&stream) else {
        // Not a byte stream (none comes from the network): chunk by chunk.
        return collect_at_most(ByteStream::from(stream), limit).await;
    };
    let ceiling = limit.saturating_add(1);
    let mut target = match declared {
        Some(length) => usize::try_from(length).map_or(ceiling, |n| n.saturating_add(1)),
        None => FIRST_READ_BYTES,
    }
    .clamp(1, ceiling);
    let mut bytes: Vec<u8> = Vec::new();
    loop {
        // `target > bytes.len()` always holds here, so `room >= 1`.
        let room = target - bytes.len();
        let read: ReadResult = JsFuture::from(reader.read_at_least(room as u32, &new_view(room)))
            .await?
            .unchecked_into();
        let chunk = read.value();
        let got = chunk.as_ref().map_or(0, |chunk| chunk.length() as usize);
        if let Some(chunk) = chunk.filter(|_| got > 0) {
            let start = bytes.len();
            bytes.resize(start + got, 0);
            chunk.copy_to(&mut bytes[start..]);
        }
        if bytes.len() > limit {
            return Ok(None);
        }
        // `readAtLeast` answers fewer bytes than asked only at the end of the stream.
        if read.done() || got < room {
            return Ok(Some(bytes));
        }
        target = target.saturating_mul(2).clamp(bytes.len() + 1, ceiling);
    }
}

fn new_view(length: usize) -> Uint8Array {
    Uint8Array::new_with_length(length as u32)
}

/// `stream.getReader({mode: "byob"})`, or an error for a stream that is not a byte stream.
fn byob_reader(stream: &ReadableStream) -> Result<ByobReader, JsValue> {
    thread_local! {
        static BYOB: JsValue = {
            let options = Object::new();
            let _ = Reflect::set(&options, &"mode".into(), &"byob".into());
            options.into()
        };
    }
    BYOB.with(|options| stream.unchecked_ref::<ByteSource>().get_reader(options))
}

#[wasm_bindgen]
extern "C" {
    /// A `ReadableStream`, for the reader options web-sys does not have.
    type ByteSource;

    #[wasm_bindgen(catch, method, js_name = getReader)]
    fn get_reader(this: &ByteSource, options: &JsValue) -> Result<ByobReader, JsValue>;

    /// A `ReadableStreamBYOBReader` as workerd has it (with its `readAtLeast`).
    type ByobReader;

    /// Resolves once `min` bytes have come into `view`, or fewer at the end of the stream.
    #[wasm_bindgen(method, js_name = readAtLeast)]
    fn read_at_least(this: &ByobReader, min: u32, view: &Uint8Array) -> Promise;

    /// `{value, done}` of a read.
    type ReadResult;

    #[wasm_bindgen(method, getter)]
    fn value(this: &ReadResult) -> Option<Uint8Array>;

    #[wasm_bindgen(method, getter)]
    fn done(this: &ReadResult) -> bool;
}

/// Collects a byte stream chunk by chunk, or `None` as soon as it is longer than `limit`.
async fn collect_at_most(mut stream: ByteStream, limit: usize) -> worker::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(&chunk?);
        if bytes.len() > limit {
            return Ok(None);
        }
    }
    Ok(Some(bytes))
}

fn is_json_media_type(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
}

impl JsonBody {
    /// The first of `names` present in the body (aliases for one field), as a string.
    /// `null` counts as absent; any other non-string is refused.
    pub fn string(&self, names: &[&str]) -> Result<Option<&str>, ApiError> {
        for name in names {
            match self.0.get(*name) {
                None | Some(Value::Null) => continue,
                Some(Value::String(value)) if value.chars().count() > MAX_FIELD_CHARS => {
                    return Err(ApiError::bad_request(format!(
                        "Field `{name}` is longer than {MAX_FIELD_CHARS} characters."
                    )));
                }
                Some(Value::String(value)) => return Ok(Some(value)),
                Some(_) => {
                    return Err(ApiError::bad_request(format!(
                        "Field `{name}` must be a string."
                    )));
                }
            }
        }
        Ok(None)
    }

    /// Whether a flag is set: `true` or a non-empty string (the OAuth 1.0a callback's
    /// `denied=<token>` passed on as is). Absent, `null`, `false` and `""` are not.
    pub fn is_set(&self, name: &str) -> Result<bool, ApiError> {
        match self.0.get(name) {
            None | Some(Value::Null) | Some(Value::Bool(false)) => Ok(false),
            Some(Value::Bool(true)) => Ok(true),
            Some(Value::String(_)) => Ok(self.string(&[name])?.is_some_and(|v| !v.is_empty())),
            Some(_) => Err(ApiError::bad_request(format!(
                "Field `{name}` must be a boolean or a string."
            ))),
        }
    }

    /// The first of `names` present, as a whole number from 0 up; `null` counts as absent,
    /// anything else (a fraction, a negative, a string) is refused.
    pub fn unsigned(&self, names: &[&str]) -> Result<Option<u64>, ApiError> {
        for name in names {
            match self.0.get(*name) {
                None | Some(Value::Null) => continue,
                Some(Value::Number(number)) if number.as_u64().is_some() => {
                    return Ok(number.as_u64());
                }
                Some(_) => {
                    return Err(ApiError::bad_request(format!(
                        "Field `{name}` must be a whole number."
                    )));
                }
            }
        }
        Ok(None)
    }

    /// Like [`JsonBody::string`], but absent or empty is a 400 naming the first alias.
    pub fn required_string(&self, names: &[&str]) -> Result<&str, ApiError> {
        match self.string(names)? {
            Some(value) if !value.is_empty() => Ok(value),
            _ => Err(ApiError::bad_request(format!(
                "Missing field `{}`.",
                names.first().copied().unwrap_or("?")
            ))),
        }
    }
}
