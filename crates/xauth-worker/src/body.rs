//! Reading a JSON request body with bounds: size, media type, shape and field lengths.

use futures_util::StreamExt;
use serde_json::{Map, Value};
use worker::{ByteStream, Request};

use crate::error::ApiError;

/// Bodies are small JSON objects; anything larger is refused before it is parsed.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// X's codes and tokens are ~100 characters; this bound only stops abuse.
const MAX_FIELD_CHARS: usize = 2048;

/// A request body that was a JSON object within the limits.
pub struct JsonBody(Map<String, Value>);

/// Reads the body as a JSON object, refusing other media types (415), big bodies (413)
/// and anything that is not a JSON object (400).
pub async fn read_json_body(req: &mut Request) -> Result<JsonBody, ApiError> {
    let content_type = req.headers().get("content-type")?.unwrap_or_default();
    if !is_json_media_type(&content_type) {
        return Err(ApiError::unsupported_media_type());
    }
    let declared_length = req
        .headers()
        .get("content-length")?
        .and_then(|length| length.trim().parse::<u64>().ok());
    if declared_length.is_some_and(|length| length > MAX_BODY_BYTES as u64) {
        return Err(ApiError::payload_too_large(MAX_BODY_BYTES));
    }
    parse_json_object(&read_bounded(req).await?)
}

/// A body's bytes as a JSON object, or a 400.
pub fn parse_json_object(bytes: &[u8]) -> Result<JsonBody, ApiError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(fields)) => Ok(JsonBody(fields)),
        Ok(_) => Err(ApiError::bad_request("The body must be a JSON object.")),
        Err(_) => Err(ApiError::bad_request("The body is not valid JSON.")),
    }
}

/// Reads the request body, refusing it once it grows past the limit, so a chunked
/// body with no declared length cannot make the worker buffer more than that.
async fn read_bounded(req: &mut Request) -> Result<Vec<u8>, ApiError> {
    let Ok(stream) = req.stream() else {
        return Ok(Vec::new()); // no body at all
    };
    collect_at_most(stream, MAX_BODY_BYTES)
        .await?
        .ok_or_else(|| ApiError::payload_too_large(MAX_BODY_BYTES))
}

/// Collects a byte stream, or `None` as soon as it is longer than `limit`.
pub async fn collect_at_most(
    mut stream: ByteStream,
    limit: usize,
) -> worker::Result<Option<Vec<u8>>> {
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
