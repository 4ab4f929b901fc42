//! The standing attack suite: hostile requests, written byte by byte on a raw socket, to
//! the built worker in workerd (started directly, no wrangler proxy in front), in both
//! custody modes, with the emulator as X.
//!
//! Every request must get its documented 4xx JSON answer from the worker (or be refused
//! by the runtime itself before any worker code runs: malformed HTTP the worker never
//! sees), must reach nothing at X (the emulator's counters stay still), and must leave the
//! worker serving.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{Value, json};
use xauth_tests::api::Api;
use xauth_tests::workerd::Workerd;
use xauth_tests::{Emulator, EmulatorOptions, free_port, random_vault_key};

const CLIENT_ID: &str = "xauth-attack-client";
const CLIENT_SECRET: &str = "attack-s3cret-never-leaks";
const CONSUMER_KEY: &str = "xauth-attack-consumer";
const CONSUMER_SECRET: &str = "attack-consumer-s3cret";
const SCOPES: &str = "tweet.read tweet.write users.read offline.access";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// The service API's token in worker custody (`XAUTH_SERVICE_TOKEN`).
const SERVICE_TOKEN: &str = "attack-service-token-0123456789abcdefghijkl";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// What a hostile request must get.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// The worker's JSON error: status and `error`.
    Json(u16, &'static str),
    /// Refused by the runtime's HTTP parser, before the worker: this status, not JSON.
    Runtime(u16),
}

/// One answer, from a raw socket.
struct Raw {
    status: u16,
    head: String,
    body: Vec<u8>,
}

/// Writes `request` (with `{host}` replaced) to the worker and reads the answer to EOF.
fn send_raw(port: u16, request: &[u8]) -> Raw {
    let host = format!("127.0.0.1:{port}");
    let request = replace(request, b"{host}", host.as_bytes());
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to workerd");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    // The runtime may answer and close before reading everything: a failed write is fine.
    let _ = stream.write_all(&request);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(answer.len());
    let head = String::from_utf8_lossy(&answer[..split]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP answer: {head:?}"));
    let mut body = answer.get(split + 4..).unwrap_or_default().to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    Raw { status, head, body }
}

fn replace(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = body.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(std::str::from_utf8(&body[..end]).unwrap().trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&body[end + 2..end + 2 + size]);
        body = &body[end + 2 + size + 2..];
    }
    out
}

/// A request with a JSON body and an exact `Content-Length`.
fn post(path: &str, headers: &str, body: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {{host}}\r\nConnection: close\r\n{headers}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    request
}

fn get(path: &str, headers: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: {{host}}\r\nConnection: close\r\n{headers}\r\n")
        .into_bytes()
}

fn request(method: &str, path: &str) -> Vec<u8> {
    format!("{method} {path} HTTP/1.1\r\nHost: {{host}}\r\nConnection: close\r\n\r\n").into_bytes()
}

/// A chunked body of `size` bytes, no `Content-Length`.
fn chunked(path: &str, size: usize) -> Vec<u8> {
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {{host}}\r\nConnection: close\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    let chunk = vec![b' '; 4096];
    for _ in 0..size / chunk.len() {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(&chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    request
}

/// Everything X counts that a refused request must not move.
fn x_counters(x: &Emulator) -> Value {
    let mut stats = x.stats();
    let object = stats.as_object_mut().unwrap();
    object.remove("posts");
    object.remove("faults_served");
    stats
}

/// The worker's variables for `x`, in the given custody.
fn vars(x: &Emulator, redirect_uri: &str, custody: &str) -> BTreeMap<&'static str, String> {
    let mut vars = xauth_tests::worker_vars(
        x.base_url(),
        (CLIENT_ID, CLIENT_SECRET),
        redirect_uri,
        SCOPES,
    );
    vars.insert("XAUTH_TOKEN_CUSTODY", custody.to_owned());
    vars.insert("XAUTH_VAULT_KEY", random_vault_key());
    vars.insert("TWITTER_CONSUMER_KEY", CONSUMER_KEY.to_owned());
    vars.insert("TWITTER_CONSUMER_SECRET", CONSUMER_SECRET.to_owned());
    vars.insert("ALLOWED_ORIGINS", "https://app.example.com".to_owned());
    vars
}

/// Runs `cases` against the worker on `port`: each gets what it must, X sees nothing, and
/// the worker still serves afterwards.
fn run(port: u16, x: &Emulator, cases: &[(&str, Vec<u8>, Expect)]) {
    let before = x_counters(x);
    for (name, request, expect) in cases {
        let answer = send_raw(port, request);
        let body = String::from_utf8_lossy(&answer.body);
        match expect {
            Expect::Json(status, error) => {
                assert_eq!(answer.status, *status, "{name}: {} {body}", answer.head);
                let json: Value = serde_json::from_slice(&answer.body)
                    .unwrap_or_else(|_| panic!("{name}: not JSON: {body}"));
                assert_eq!(json["error"], *error, "{name}: {json}");
                assert!(
                    json["error_description"]
                        .as_str()
                        .is_some_and(|d| !d.is_empty()),
                    "{name}: {json}"
                );
                let head = answer.head.to_ascii_lowercase();
                assert!(head.contains("cache-control: no-store"), "{name}: {head}");
                assert!(
                    head.contains("content-type: application/json"),
                    "{name}: {head}"
                );
            }
            Expect::Runtime(status) => {
                assert_eq!(answer.status, *status, "{name}: {} {body}", answer.head);
                assert!(
                    serde_json::from_slice::<Value>(&answer.body).is_err(),
                    "{name}: the worker saw it after all: {body}"
                );
            }
        }
        assert_eq!(x_counters(x), before, "{name}: something reached X");
        // Still serving.
        let alive = send_raw(port, &get("/twitter-config", ""));
        assert_eq!(alive.status, 200, "{name}: the worker stopped serving");
    }
}

/// Requests no custody mode lets through; `no_user` is the error of a user's X API call
/// without the user (`missing_token` in browser custody, `no_session` in worker custody).
fn common_cases(no_user: &'static str) -> Vec<(&'static str, Vec<u8>, Expect)> {
    use Expect::{Json, Runtime};
    let json = "Content-Type: application/json\r\n";
    let mut cases = vec![
        // Wrong methods, standard and not, on every route.
        ("PUT config", request("PUT", "/twitter-config"), Json(405, "method_not_allowed")),
        ("DELETE exchange", request("DELETE", "/twitter-access-token"), Json(405, "method_not_allowed")),
        ("GET exchange", request("GET", "/twitter-access-token"), Json(405, "method_not_allowed")),
        ("GET revoke", request("GET", "/twitter-revoke-token"), Json(405, "method_not_allowed")),
        ("PATCH proxy", request("PATCH", "/twitter-api/2/tweets/20"), Json(405, "method_not_allowed")),
        ("PROPFIND proxy", request("PROPFIND", "/twitter-api/2/tweets/20"), Json(405, "method_not_allowed")),
        ("MKCOL oauth1", request("MKCOL", "/twitter-oauth1/request-token"), Json(405, "method_not_allowed")),
        ("TRACE oauth1 session", request("TRACE", "/twitter-oauth1/session"), Json(405, "method_not_allowed")),
        ("made-up method", request("FOO", "/twitter-api/2/tweets/20"), Runtime(501)),
        ("lower-case get", request("get", "/twitter-api/2/tweets/20"), Runtime(501)),
        ("unknown route", get("/twitter-anything", ""), Json(404, "not_found")),
        // Headers: duplicated, conflicting, oversized.
        (
            "two content types",
            post("/twitter-access-token", "Content-Type: application/json\r\nContent-Type: text/plain\r\n", b"{}"),
            Json(415, "unsupported_media_type"),
        ),
        (
            "two content lengths",
            b"POST /twitter-access-token HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}".to_vec(),
            Runtime(400),
        ),
        (
            "two origins",
            get("/twitter-config", "Origin: https://app.example.com\r\nOrigin: https://evil.example\r\n"),
            Json(403, "origin_not_allowed"),
        ),
        (
            "two authorizations",
            get("/twitter-api/2/users/me", "Authorization: Bearer a\r\nAuthorization: Bearer b\r\n"),
            Json(401, "invalid_token"),
        ),
        (
            "a 64 KiB authorization",
            get("/twitter-api/2/users/me", &format!("Authorization: Bearer {}\r\n", "a".repeat(65_536))),
            Json(401, "invalid_token"),
        ),
        // Bodies: too big with or without a length, not UTF-8, not JSON, deeply nested.
        ("a declared 1 MiB body", post("/twitter-access-token", json, &vec![b' '; 1 << 20]), Json(413, "payload_too_large")),
        ("a chunked 64 KiB body", chunked("/twitter-access-token", 64 * 1024), Json(413, "payload_too_large")),
        ("a chunked 4 MiB body", chunked("/twitter-access-token", 4 << 20), Json(413, "payload_too_large")),
        ("invalid UTF-8", post("/twitter-access-token", json, b"{\"code\":\"\xff\xfe\",\"codeVerifier\":\"x\"}"), Json(400, "invalid_request")),
        ("not JSON", post("/twitter-access-token", json, b"code=abc"), Json(400, "invalid_request")),
        ("a JSON array", post("/twitter-access-token", json, b"[1,2]"), Json(400, "invalid_request")),
        ("nested 4000 deep", post("/twitter-access-token", json, &[vec![b'['; 4000], vec![b']'; 4000]].concat()), Json(400, "invalid_request")),
        ("a nested field", post("/twitter-access-token", json, b"{\"code\":{\"a\":1},\"codeVerifier\":\"x\"}"), Json(400, "invalid_request")),
        ("a 16 KiB field", post("/twitter-access-token", json, format!("{{\"code\":\"{}\",\"codeVerifier\":\"x\"}}", "c".repeat(15_000)).as_bytes()), Json(400, "invalid_request")),
        ("no fields", post("/twitter-access-token", json, b"{}"), Json(400, "invalid_request")),
        ("a bad verifier", post("/twitter-access-token", json, b"{\"code\":\"c\",\"codeVerifier\":\"short\"}"), Json(400, "invalid_request")),
        ("a foreign redirect", post("/twitter-access-token", json, format!("{{\"code\":\"c\",\"codeVerifier\":\"{VERIFIER}\",\"redirectUri\":\"https://evil.example/\"}}").as_bytes()), Json(400, "invalid_request")),
        // Origins: null, odd, near misses.
        ("null origin", post("/twitter-access-token", &format!("{json}Origin: null\r\n"), b"{}"), Json(403, "origin_not_allowed")),
        ("origin with a path", get("/twitter-config", "Origin: https://app.example.com/\r\n"), Json(403, "origin_not_allowed")),
        ("origin in capitals", get("/twitter-config", "Origin: HTTPS://APP.EXAMPLE.COM\r\n"), Json(403, "origin_not_allowed")),
        ("origin one dot off", get("/twitter-config", "Origin: https://app.example.com.evil.example\r\n"), Json(403, "origin_not_allowed")),
        ("a preflight from afar", b"OPTIONS /twitter-access-token HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nOrigin: https://evil.example\r\nAccess-Control-Request-Method: POST\r\n\r\n".to_vec(), Json(403, "origin_not_allowed")),
        // Forged OAuth 1.0a sign-ins.
        ("a forged pending cookie", post("/twitter-oauth1/access-token", &format!("{json}Cookie: xauth_oauth1_pending=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n"), b"{\"oauthToken\":\"t\",\"oauthVerifier\":\"v\"}"), Json(400, "no_pending_sign_in")),
        // Path tricks on the proxy.
        ("encoded slash", get("/twitter-api/2/tweets%2f20", ""), Json(403, "path_not_allowed")),
        ("encoded dots", get("/twitter-api/2/tweets/%2e%2e/users/me", ""), Json(403, "path_not_allowed")),
        ("encoded dots, upper case", get("/twitter-api/2/tweets/%2E%2E/dm_events", ""), Json(403, "path_not_allowed")),
        ("a double slash", get("/twitter-api/2//tweets/20", ""), Json(403, "path_not_allowed")),
        ("a backslash", get("/twitter-api/2/tweets\\20", ""), Json(403, "path_not_allowed")),
        ("an encoded NUL", get("/twitter-api/2/tweets/20%00", ""), Json(403, "path_not_allowed")),
        ("an encoded newline", get("/twitter-api/2/tweets/%0a20", ""), Json(403, "path_not_allowed")),
        ("an encoded tab", get("/twitter-api/2/tweets/2%090", ""), Json(403, "path_not_allowed")),
        ("fullwidth dots", get("/twitter-api/2/tweets/\u{ff0e}\u{ff0e}/users/me", ""), Json(403, "path_not_allowed")),
        ("one-dot leaders", get("/twitter-api/2/tweets/\u{2024}\u{2024}/dm_events", ""), Json(403, "path_not_allowed")),
        ("a raw control character", get("/twitter-api/2/tweets/2\x010", ""), Runtime(400)),
        ("a raw tab", get("/twitter-api/2/tweets/2\t0", ""), Runtime(400)),
        ("not v2", get("/twitter-api/1.1/statuses/show.json", ""), Json(403, "path_not_allowed")),
        ("a private stream's rules", get("/twitter-api/2/tweets/search/stream/rules", ""), Json(401, no_user)),
        ("the firehose", get("/twitter-api/2/tweets/sample/stream", ""), Json(401, no_user)),
        ("the full archive", get("/twitter-api/2/tweets/search/all?query=x", ""), Json(401, no_user)),
        ("direct messages", get("/twitter-api/2/dm_events", ""), Json(403, "path_not_allowed")),
    ];
    // The same trick, the other way: a write without a token.
    cases.push((
        "a post without a user",
        post("/twitter-api/2/tweets", json, b"{\"text\":\"hi\"}"),
        Json(401, no_user),
    ));
    cases
}

#[test]
fn hostile_requests_in_browser_custody() {
    let port = free_port();
    let redirect_uri = format!("http://127.0.0.1:{port}/");
    let x = emulator(&redirect_uri);
    let workerd = Workerd::start_instances(&[port], &vars(&x, &redirect_uri, "browser"));
    let json = "Content-Type: application/json\r\n";
    let mut cases = common_cases("missing_token");
    cases.extend([
        (
            "a refresh without a token",
            post("/twitter-refresh-token", json, b"{}"),
            Expect::Json(400, "invalid_request"),
        ),
        (
            "a refresh token that is a number",
            post("/twitter-refresh-token", json, b"{\"refreshToken\":12}"),
            Expect::Json(400, "invalid_request"),
        ),
        (
            "a chunked refresh past the limit",
            chunked("/twitter-refresh-token", 32 * 1024),
            Expect::Json(413, "payload_too_large"),
        ),
        (
            "a revoke with an odd hint",
            post(
                "/twitter-revoke-token",
                json,
                b"{\"token\":\"t\",\"tokenTypeHint\":\"code\"}",
            ),
            Expect::Json(400, "invalid_request"),
        ),
        (
            "a bearer of non-ASCII",
            get(
                "/twitter-api/2/users/me",
                "Authorization: Bearer caf\u{e9}\r\n",
            ),
            Expect::Json(401, "invalid_token"),
        ),
        (
            "Basic, not Bearer",
            get("/twitter-api/2/users/me", "Authorization: Basic YTpi\r\n"),
            Expect::Json(401, "invalid_token"),
        ),
        (
            "a bearer to a path outside the list",
            get("/twitter-api/2/dm_events", "Authorization: Bearer abc\r\n"),
            Expect::Json(403, "path_not_allowed"),
        ),
        (
            "a 1 MiB post to X",
            post(
                "/twitter-api/2/tweets",
                &format!("{json}Authorization: Bearer abc\r\n"),
                &vec![b' '; 1 << 20],
            ),
            Expect::Json(413, "payload_too_large"),
        ),
        (
            "worker custody's session route",
            get("/twitter-session", ""),
            Expect::Json(404, "not_found"),
        ),
    ]);
    run(port, &x, &cases);
    drop(workerd);
}

#[test]
fn hostile_requests_in_worker_custody() {
    let port = free_port();
    let redirect_uri = format!("http://127.0.0.1:{port}/");
    let x = emulator(&redirect_uri);
    let mut worker_vars = vars(&x, &redirect_uri, "worker");
    worker_vars.insert("XAUTH_SERVICE_TOKEN", SERVICE_TOKEN.to_owned());
    let workerd = Workerd::start_instances(&[port], &worker_vars);

    // A real session, and a copy of its cookie kept from before its sign-out.
    let api = Api::at(workerd.base_url(0), &[CLIENT_SECRET]);
    let code = x.authorize(CLIENT_ID, &redirect_uri, SCOPES, "state", CHALLENGE);
    let signed_in = api.post(
        "/twitter-access-token",
        &json!({ "code": code, "codeVerifier": VERIFIER }),
    );
    assert_eq!(signed_in.status, 200, "{}", signed_in.json);
    let spent = api.cookie("xauth_session").unwrap();
    let out = api.send(
        api.http
            .post(format!("{}/twitter-sign-out", api.base))
            .header("x-xauth", "1"),
    );
    assert_eq!(out.status, 200, "{}", out.json);
    let code = x.authorize(CLIENT_ID, &redirect_uri, SCOPES, "state", CHALLENGE);
    let again = api.post(
        "/twitter-access-token",
        &json!({ "code": code, "codeVerifier": VERIFIER }),
    );
    assert_eq!(again.status, 200, "{}", again.json);
    let live = api.cookie("xauth_session").unwrap();
    let user_id = again.json["user"]["id"].as_str().unwrap().to_owned();

    let with_cookie =
        |value: &str, extra: &str| format!("Cookie: xauth_session={value}\r\n{extra}");
    let json = "Content-Type: application/json\r\n";
    let mut cases = common_cases("no_session");
    cases.extend([
        (
            "the refresh route",
            post("/twitter-refresh-token", json, b"{\"refreshToken\":\"r\"}"),
            Expect::Json(404, "not_found"),
        ),
        (
            "a live cookie without X-XAuth",
            get("/twitter-api/2/users/me", &with_cookie(&live, "")),
            Expect::Json(403, "csrf"),
        ),
        (
            "a live cookie, X-XAuth: true",
            get(
                "/twitter-api/2/users/me",
                &with_cookie(&live, "X-XAuth: true\r\n"),
            ),
            Expect::Json(403, "csrf"),
        ),
        (
            "a live cookie, two X-XAuth",
            get(
                "/twitter-api/2/users/me",
                &with_cookie(&live, "X-XAuth: 1\r\nX-XAuth: 1\r\n"),
            ),
            Expect::Json(403, "csrf"),
        ),
        (
            "a live cookie from a foreign origin",
            get(
                "/twitter-api/2/users/me",
                &with_cookie(&live, "X-XAuth: 1\r\nOrigin: https://evil.example\r\n"),
            ),
            Expect::Json(403, "csrf"),
        ),
        (
            "a live cookie, null origin",
            post(
                "/twitter-sign-out",
                &with_cookie(&live, "X-XAuth: 1\r\nOrigin: null\r\n"),
                b"",
            ),
            Expect::Json(403, "csrf"),
        ),
        (
            "a live cookie, a write without X-XAuth",
            post(
                "/twitter-api/2/tweets",
                &with_cookie(&live, json),
                b"{\"text\":\"forged\"}",
            ),
            Expect::Json(403, "csrf"),
        ),
        (
            "a live cookie and a bearer",
            get(
                "/twitter-api/2/users/me",
                &with_cookie(&live, "X-XAuth: 1\r\nAuthorization: Bearer abc\r\n"),
            ),
            Expect::Json(401, "invalid_token"),
        ),
        (
            "a live cookie, a path outside the list",
            get(
                "/twitter-api/2/dm_events",
                &with_cookie(&live, "X-XAuth: 1\r\n"),
            ),
            Expect::Json(403, "path_not_allowed"),
        ),
        (
            "a live cookie, encoded dots",
            get(
                "/twitter-api/2/users/%2e%2e/dm_events",
                &with_cookie(&live, "X-XAuth: 1\r\n"),
            ),
            Expect::Json(403, "path_not_allowed"),
        ),
        (
            "a replayed cookie, signed out",
            get(
                "/twitter-api/2/users/me",
                &with_cookie(&spent, "X-XAuth: 1\r\n"),
            ),
            Expect::Json(401, "no_session"),
        ),
        (
            "a replayed cookie, session",
            get("/twitter-session", &with_cookie(&spent, "X-XAuth: 1\r\n")),
            Expect::Json(401, "no_session"),
        ),
        (
            "a forged cookie",
            get(
                "/twitter-api/2/users/me",
                &with_cookie(&"A".repeat(120), "X-XAuth: 1\r\n"),
            ),
            Expect::Json(401, "no_session"),
        ),
        (
            "a truncated cookie",
            get(
                "/twitter-session",
                &with_cookie(&live[..live.len() / 2], "X-XAuth: 1\r\n"),
            ),
            Expect::Json(401, "no_session"),
        ),
        (
            "a cookie with one bit flipped",
            get(
                "/twitter-session",
                &with_cookie(&flip(&live), "X-XAuth: 1\r\n"),
            ),
            Expect::Json(401, "no_session"),
        ),
        (
            "a 16 KiB cookie",
            get(
                "/twitter-session",
                &with_cookie(&"a".repeat(16_000), "X-XAuth: 1\r\n"),
            ),
            Expect::Json(401, "no_session"),
        ),
        (
            "a sign-out without a session",
            post("/twitter-sign-out", "X-XAuth: 1\r\n", b""),
            Expect::Json(401, "no_session"),
        ),
        (
            "a revoke without a session",
            post("/twitter-revoke-token", json, b"{\"token\":\"t\"}"),
            Expect::Json(401, "no_session"),
        ),
        (
            "a sign-out with a non-JSON body",
            post(
                "/twitter-sign-out",
                &with_cookie(&live, "X-XAuth: 1\r\nContent-Type: application/json\r\n"),
                b"everywhere",
            ),
            Expect::Json(400, "invalid_request"),
        ),
    ]);
    cases.extend(service_api_cases(&user_id, &live));
    run(port, &x, &cases);
    // The live session survived all of it.
    let me = api.send(
        api.http
            .get(format!("{}/twitter-api/2/users/me", api.base))
            .header("x-xauth", "1"),
    );
    assert_eq!(me.status, 200, "{}", me.json);
    drop(workerd);
}

/// Hostile service API calls and scheduled posts (worker custody, `XAUTH_SERVICE_TOKEN`
/// set): none reaches X.
fn service_api_cases(user_id: &str, live: &str) -> Vec<(&'static str, Vec<u8>, Expect)> {
    use Expect::Json;
    let bearer = |token: &str| format!("Authorization: Bearer {token}\r\n");
    let service = |extra: &str| format!("{}{extra}", bearer(SERVICE_TOKEN));
    let as_user = |user: &str| service(&format!("X-XAuth-User: {user}\r\n"));
    let grant = format!("/xauth/grants/{user_id}");
    let session =
        format!("Cookie: xauth_session={live}\r\nX-XAuth: 1\r\nContent-Type: application/json\r\n");
    vec![
        ("a grant without the service token", get(&grant, ""), Json(401, "invalid_token")),
        (
            "a grant with a service token one bit off",
            get(&grant, &bearer(&flip(SERVICE_TOKEN))),
            Json(401, "invalid_token"),
        ),
        (
            "a grant with the service token cut short",
            get(&grant, &bearer(&SERVICE_TOKEN[..SERVICE_TOKEN.len() - 1])),
            Json(401, "invalid_token"),
        ),
        (
            "a grant with the service token as Basic",
            get(&grant, &format!("Authorization: Basic {SERVICE_TOKEN}\r\n")),
            Json(401, "invalid_token"),
        ),
        (
            "a grant with the session cookie instead of the token",
            get(&grant, &session),
            Json(401, "invalid_token"),
        ),
        ("a grant's PUT", request("PUT", &grant), Json(401, "invalid_token")),
        (
            "a grant PUT with the token",
            format!("PUT {grant} HTTP/1.1\r\nHost: {{host}}\r\n{}Content-Length: 0\r\nConnection: close\r\n\r\n", bearer(SERVICE_TOKEN)).into_bytes(),
            Json(405, "method_not_allowed"),
        ),
        ("a user id that is not digits", get("/xauth/grants/me", &service("")), Json(404, "no_grant")),
        ("a grant below a grant", get(&format!("{grant}/x"), &service("")), Json(404, "not_found")),
        ("another service path", get("/xauth/users", &service("")), Json(404, "not_found")),
        ("an unknown user's grant", get("/xauth/grants/42", &service("")), Json(404, "no_grant")),
        (
            "an X call as a user with a wrong token",
            get("/twitter-api/2/users/me", &format!("{}X-XAuth-User: {user_id}\r\n", bearer(&flip(SERVICE_TOKEN)))),
            Json(401, "invalid_token"),
        ),
        (
            "an X call naming a user without a token",
            get("/twitter-api/2/users/me", &format!("X-XAuth-User: {user_id}\r\n")),
            Json(401, "invalid_token"),
        ),
        (
            "an X call with the token but no user",
            get("/twitter-api/2/users/me", &service("")),
            Json(404, "no_grant"),
        ),
        (
            "an X call as a user id with a query in it",
            get("/twitter-api/2/users/me", &as_user("1?x=1")),
            Json(404, "no_grant"),
        ),
        (
            "an X call as an unknown user",
            get("/twitter-api/2/users/me", &as_user("42")),
            Json(404, "no_grant"),
        ),
        (
            "an X call as the user outside the allowlist",
            get("/twitter-api/2/dm_events", &as_user(user_id)),
            Json(403, "path_not_allowed"),
        ),
        (
            "an X call as the user with a dotted path",
            get("/twitter-api/2/users/%2e%2e/me", &as_user(user_id)),
            Json(403, "path_not_allowed"),
        ),
        (
            "an X call as the user by PATCH",
            format!("PATCH /twitter-api/2/tweets HTTP/1.1\r\nHost: {{host}}\r\n{}Content-Length: 0\r\nConnection: close\r\n\r\n", as_user(user_id)).into_bytes(),
            Json(405, "method_not_allowed"),
        ),
        (
            "a scheduled post without a session",
            post("/twitter-scheduled-posts", "Content-Type: application/json\r\n", b"{\"text\":\"hi\"}"),
            Json(401, "no_session"),
        ),
        (
            "a scheduled post too long",
            post("/twitter-scheduled-posts", &session, format!("{{\"text\":\"{}\"}}", "a".repeat(281)).as_bytes()),
            Json(400, "invalid_request"),
        ),
        (
            "a scheduled post a year away",
            post("/twitter-scheduled-posts", &session, b"{\"text\":\"hi\",\"delaySeconds\":31536000}"),
            Json(400, "invalid_request"),
        ),
        (
            "a scheduled post with a negative delay",
            post("/twitter-scheduled-posts", &session, b"{\"text\":\"hi\",\"delaySeconds\":-5}"),
            Json(400, "invalid_request"),
        ),
        (
            "a scheduled post with a delay in words",
            post("/twitter-scheduled-posts", &session, b"{\"text\":\"hi\",\"delaySeconds\":\"soon\"}"),
            Json(400, "invalid_request"),
        ),
        (
            "a scheduled post by DELETE",
            format!("DELETE /twitter-scheduled-posts HTTP/1.1\r\nHost: {{host}}\r\n{session}Content-Length: 0\r\nConnection: close\r\n\r\n").into_bytes(),
            Json(405, "method_not_allowed"),
        ),
    ]
}

/// `value` with one bit of its middle character changed (still cookie-safe).
fn flip(value: &str) -> String {
    let mut bytes = value.as_bytes().to_vec();
    let middle = bytes.len() / 2;
    bytes[middle] = if bytes[middle] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

fn emulator(redirect_uri: &str) -> Emulator {
    let mut options = EmulatorOptions::default()
        .client(CLIENT_ID, Some(CLIENT_SECRET))
        .redirect_uris(&[redirect_uri]);
    options.config.consumer_key = CONSUMER_KEY.to_owned();
    options.config.consumer_secret = CONSUMER_SECRET.to_owned();
    Emulator::start(options)
}
