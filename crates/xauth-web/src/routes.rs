//! The worker's URLs, from its base URL (`endpoint`, without a trailing `/`; empty for the
//! page's own origin).

use crate::prelude::*;

use crate::error::Error;

/// `<endpoint><path>`.
pub(crate) fn route(endpoint: &str, path: &str) -> String {
    let mut url = String::from(endpoint);
    url.push_str(path);
    url
}

/// The worker's proxy URL for `input`, an X API v2 URL or path; `invalid_request` for
/// anything else.
pub(crate) fn proxy_url(endpoint: &str, input: &str) -> Result<String, Error> {
    let path = xauth_core::x_api_path(input).ok_or_else(|| {
        Error::new(
            "invalid_request",
            "session.fetch takes an X API v2 URL (https://api.x.com/2/…) or path (/2/…)",
        )
    })?;
    let mut url = route(endpoint, "/twitter-api/2/");
    url.push_str(path);
    Ok(url)
}
