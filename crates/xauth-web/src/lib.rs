//! xauth-web: the browser half of "Sign in with X", compiled to wasm with wasm-bindgen.
//!
//! It does **not** talk to X: X's token endpoint answers no browser. It makes the PKCE
//! verifier and the state, sends the user to X's consent page, checks X's redirect back,
//! and hands the code to the worker (`xauth-worker`), which holds the client secret. The
//! protocol itself (PKCE, the link, the callback checks) is `xauth-core`; this crate adds
//! the browser's storage, address bar and `fetch`.
//!
//! It ships as two wasm modules built from this crate, and one hand-written ES module,
//! `js/xauth_web.js`, the package's entry, which is the `XAuth` class apps use:
//!
//! - the **sign-in module** (feature `signin`, [`signin`]): synchronous functions for the
//!   link, the pending sign-in, the callback checks, the proxy URLs and the errors. The
//!   entry does the `fetch` calls (configuration, code exchange, and the whole session in
//!   worker custody, which needs nothing more) and awaits them with the browser's promises.
//!   The entry and this module are all a page loads before the first link;
//! - the **keeper module** (feature `keeper`): the browser-custody `Session` and its token
//!   keeper (`keeper`: refresh before expiry and after a 401, one refresh at a time in the
//!   tab and across tabs, the app's hooks). The entry loads it with `import()` when a
//!   browser-custody session needs it.
//!
//! OAuth 1.0a, fetch calls to the worker's routes only, is a small JS module of its own
//! (`js/xauth_oauth1.js`), which the entry loads when an OAuth 1.0a method is first called.
//!
//! ```js
//! import init, { XAuth } from "./pkg/xauth_web.js";
//! await init();                                     // the sign-in module
//! const xauth = await XAuth.fromWorker();           // GET /twitter-config
//! if (xauth.isCallback()) {
//!   const session = await xauth.handleCallback();   // checks state, POST /twitter-access-token
//!   const me = await session.fetch("/2/users/me");  // via /twitter-api/
//! } else {
//!   xauth.signIn();                                 // off to X
//! }
//! ```
//!
//! Errors are `Error` objects named `XAuthError` with a stable `code`; see the crate's
//! README for the list and for where tokens are kept. Default features (`std`, `signin`,
//! `keeper`) are for tests and Rust users; `cargo xtask build` builds each module alone
//! without std.

// Built without std for the browser (`--no-default-features`): no std panic machinery and
// no formatting on a panic path; a panic is a bare `unreachable` trap. Tests link std.
#![cfg_attr(not(feature = "std"), no_std)]
// No unsafe code but the sign-in module's allocator (`arena`), which allows it.
#![deny(unsafe_code)]
#![warn(missing_docs)]
// Nothing from outside may panic the page: no unwrap, expect, unchecked indexing or
// overflowing integer arithmetic outside tests.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]
// A module built alone leaves out what only the other one uses.
#![cfg_attr(not(all(feature = "signin", feature = "keeper")), allow(dead_code))]

extern crate alloc;

/// What std's prelude would give: the `alloc` types the modules use.
#[allow(unused_imports)]
mod prelude {
    pub(crate) use alloc::borrow::ToOwned;
    pub(crate) use alloc::boxed::Box;
    pub(crate) use alloc::string::{String, ToString};
    pub(crate) use alloc::vec::Vec;
}

/// Without std, a panic (none is reachable from outside input: see the lints above) stops
/// the module with a trap, without formatting a message nobody would see.
#[cfg(all(target_arch = "wasm32", not(feature = "std")))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}

/// The keeper module's allocator: talc, smaller than the standard library's dlmalloc
/// (single-threaded wasm only, which is all this crate builds for).
#[cfg(all(
    target_family = "wasm",
    not(target_feature = "atomics"),
    feature = "keeper"
))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

#[cfg(all(target_family = "wasm", feature = "signin"))]
mod abi;
#[cfg(all(target_family = "wasm", feature = "signin"))]
mod arena;
#[cfg(feature = "signin")]
pub mod signin;

#[cfg(feature = "keeper")]
mod api;
#[cfg(feature = "keeper")]
mod error;
#[cfg(feature = "keeper")]
mod http;
#[cfg(feature = "keeper")]
mod js;
#[cfg(feature = "keeper")]
mod keeper;
#[cfg(feature = "keeper")]
mod options;
#[cfg(feature = "keeper")]
mod routes;
#[cfg(feature = "keeper")]
pub mod session;
#[cfg(feature = "keeper")]
mod store;
