//! `xauth-emulator`: X's OAuth endpoints on localhost, for the demo and the tests.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use clap::Parser;
use xauth_emulator::{
    DEFAULT_ACCESS_TTL_SECS, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_CODE_TTL_SECS,
    DEFAULT_CONSUMER_KEY, DEFAULT_CONSUMER_SECRET, DEFAULT_PORT, DEFAULT_REDIRECT_URIS, Decision,
    EmulatorConfig, User,
};

/// A local stand-in for X's OAuth endpoints (OAuth 2.0 authorize, token, revoke, users/me;
/// OAuth 1.0a; app-only tokens), two public reads (tweets and users by id), and posting and
/// deleting tweets as the user.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Port to listen on.
    #[arg(long, env = "XAUTH_EMULATOR_PORT", default_value_t = DEFAULT_PORT)]
    port: u16,
    /// Address to listen on.
    #[arg(long, env = "XAUTH_EMULATOR_HOST", default_value = "127.0.0.1")]
    host: IpAddr,
    /// The registered client id.
    #[arg(long, env = "XAUTH_EMULATOR_CLIENT_ID", default_value = DEFAULT_CLIENT_ID)]
    client_id: String,
    /// The confidential client's secret (ignored with --public).
    #[arg(
        long,
        env = "XAUTH_EMULATOR_CLIENT_SECRET",
        default_value = DEFAULT_CLIENT_SECRET,
        hide_env_values = true
    )]
    client_secret: String,
    /// Register a public client: no secret, client_id in the body, Basic refused.
    #[arg(long, env = "XAUTH_EMULATOR_PUBLIC")]
    public: bool,
    /// A registered callback (repeatable; exact match). The env var takes a comma list.
    #[arg(
        long = "redirect-uri",
        env = "XAUTH_EMULATOR_REDIRECT_URIS",
        value_delimiter = ',',
        default_values = DEFAULT_REDIRECT_URIS
    )]
    redirect_uris: Vec<String>,
    /// The OAuth 1.0a / app-only consumer key ("API Key").
    #[arg(long, env = "XAUTH_EMULATOR_CONSUMER_KEY", default_value = DEFAULT_CONSUMER_KEY)]
    consumer_key: String,
    /// The consumer secret ("API Key Secret").
    #[arg(
        long,
        env = "XAUTH_EMULATOR_CONSUMER_SECRET",
        default_value = DEFAULT_CONSUMER_SECRET,
        hide_env_values = true
    )]
    consumer_secret: String,
    /// Access token lifetime in seconds.
    #[arg(long, env = "XAUTH_EMULATOR_ACCESS_TTL", default_value_t = DEFAULT_ACCESS_TTL_SECS)]
    access_ttl: u64,
    /// Authorization code lifetime in seconds.
    #[arg(long, env = "XAUTH_EMULATOR_CODE_TTL", default_value_t = DEFAULT_CODE_TTL_SECS)]
    code_ttl: u64,
    /// Approve every authorization request at once, without the consent page.
    #[arg(
        long,
        env = "XAUTH_EMULATOR_AUTO_APPROVE",
        conflicts_with = "auto_deny"
    )]
    auto_approve: bool,
    /// Deny every authorization request at once, without the consent page.
    #[arg(long, env = "XAUTH_EMULATOR_AUTO_DENY")]
    auto_deny: bool,
    /// A refresh also kills the access token issued with the spent refresh token.
    #[arg(long, env = "XAUTH_EMULATOR_STRICT_ROTATION")]
    strict_rotation: bool,
    /// The user's id.
    #[arg(long, env = "XAUTH_EMULATOR_USER_ID", default_value = "2244994945")]
    user_id: String,
    /// The user's display name.
    #[arg(long, env = "XAUTH_EMULATOR_USER_NAME", default_value = "X Demo User")]
    user_name: String,
    /// The user's handle.
    #[arg(long, env = "XAUTH_EMULATOR_USERNAME", default_value = "xauthdemo")]
    username: String,
}

impl Args {
    fn config(self) -> EmulatorConfig {
        EmulatorConfig {
            client_id: self.client_id,
            client_secret: (!self.public).then_some(self.client_secret),
            redirect_uris: self.redirect_uris,
            consumer_key: self.consumer_key,
            consumer_secret: self.consumer_secret,
            access_ttl: Duration::from_secs(self.access_ttl),
            code_ttl: Duration::from_secs(self.code_ttl),
            auto_decision: match (self.auto_approve, self.auto_deny) {
                (true, _) => Some(Decision::Approve),
                (_, true) => Some(Decision::Deny),
                _ => None,
            },
            strict_rotation: self.strict_rotation,
            user: User {
                id: self.user_id,
                name: self.user_name,
                username: self.username,
            },
        }
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let addr = SocketAddr::new(args.host, args.port);
    let config = args.config();
    let listener = tokio::net::TcpListener::bind(addr).await?;
    eprintln!(
        "xauth-emulator: X emulator on http://{} for {} client {:?}, consumer {:?}; callbacks {}",
        listener.local_addr()?,
        if config.client_secret.is_some() {
            "confidential"
        } else {
            "public"
        },
        config.client_id,
        config.consumer_key,
        config.redirect_uris.join(" "),
    );
    tokio::select! {
        served = xauth_emulator::serve(config, listener) => served,
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}
