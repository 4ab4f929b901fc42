// What every contender signs in as: one app, identical for all four.
export const CLIENT_ID = "bench-client";
export const REDIRECT_URI = "https://app.example/callback";
export const SCOPES = "tweet.read users.read offline.access";
export const AUTHORIZE_URL = "https://x.com/i/oauth2/authorize";
