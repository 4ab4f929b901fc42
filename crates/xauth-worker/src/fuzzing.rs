//! The parsers of outside input that touch no `worker` types, re-exported for the fuzz
//! targets in `fuzz/` (a crate outside the workspace). Not an API: nothing else may use it.

pub use crate::body::{JsonBody, parse_json_object};
pub use crate::config::{is_api_path, is_bearer_token, path_prefixes};
pub use crate::cookies::{
    CookieKeys, PENDING, PENDING_MAX_AGE_SECS, PendingError, SESSION, SESSION_MAX_AGE_SECS,
    cookie_value,
};
pub use crate::error::ApiError;
pub use crate::proxy::{bearer_token, is_under};
pub use crate::public_reads::{DEFAULT_PUBLIC_READS, ReadPattern, is_public_read, parse_patterns};
pub use crate::sealed::{SealKey, SealKeys};
pub use crate::session_cookie::{
    CookieState, SessionCookie, SessionSecret, Transport, read as read_session_cookie,
    set_cookie as set_session_cookie,
};
pub use crate::vault_key::{SESSION_COOKIE_INFO, VaultKey, VaultKeys};
pub use crate::x::{XReply, token_set, v1_error, x_error};
