//! X's OAuth 2.0 scopes (RFC 6749 §3.3).

use crate::prelude::*;
use core::fmt;
use core::str::FromStr;

macro_rules! scopes {
    ($($variant:ident => $name:literal, $doc:literal;)*) => {
        /// One of X's 22 OAuth 2.0 scopes (RFC 6749 §3.3 scope-token).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Scope {
            $(
                #[doc = concat!("`", $name, "`: ", $doc)]
                $variant,
            )*
        }

        impl Scope {
            /// Every scope, in X's documented order (also the order [`Scopes`] keeps).
            pub const ALL: [Scope; 22] = [$(Scope::$variant),*];

            /// The scope-token as X spells it, e.g. `"tweet.read"`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Scope::$variant => $name,)*
                }
            }
        }
    };
}

scopes! {
    TweetRead => "tweet.read", "read posts, including from protected accounts.";
    TweetWrite => "tweet.write", "post and repost for the user.";
    TweetModerateWrite => "tweet.moderate.write", "hide and unhide replies.";
    UsersEmail => "users.email", "read the user's confirmed email address.";
    UsersRead => "users.read", "read any account the user can see.";
    FollowsRead => "follows.read", "read who the user follows and who follows them.";
    FollowsWrite => "follows.write", "follow and unfollow for the user.";
    OfflineAccess => "offline.access", "get a refresh token (stay connected).";
    SpaceRead => "space.read", "read Spaces.";
    MuteRead => "mute.read", "read the user's muted accounts.";
    MuteWrite => "mute.write", "mute and unmute for the user.";
    LikeRead => "like.read", "read likes.";
    LikeWrite => "like.write", "like and unlike for the user.";
    ListRead => "list.read", "read lists.";
    ListWrite => "list.write", "create and manage lists for the user.";
    BlockRead => "block.read", "read the user's blocked accounts.";
    BlockWrite => "block.write", "block and unblock for the user.";
    BookmarkRead => "bookmark.read", "read the user's bookmarks.";
    BookmarkWrite => "bookmark.write", "bookmark and remove bookmarks.";
    DmRead => "dm.read", "read direct messages.";
    DmWrite => "dm.write", "send direct messages.";
    MediaWrite => "media.write", "upload media.";
}

impl Scope {
    /// Bit of this scope in [`Scopes`].
    fn bit(self) -> u32 {
        // At most 21: fits the shift (22 variants).
        1u32 << (self as u32)
    }
}

impl FromStr for Scope {
    type Err = ScopeError;

    /// Exact, case-sensitive match (scope-tokens are case-sensitive, RFC 6749 §3.3).
    fn from_str(s: &str) -> Result<Self, ScopeError> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s)
            .ok_or_else(|| ScopeError::Unknown(s.to_owned()))
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A deduplicated set of [`Scope`]s, iterated and displayed in [`Scope::ALL`] order
/// (so equal sets print the same; RFC 6749 §3.3 says order does not matter).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Scopes(u32);

impl Scopes {
    /// Parses a space-delimited scope list (RFC 6749 §3.3), e.g. X's token response
    /// `scope` or an app's configuration. Any run of ASCII whitespace separates tokens;
    /// duplicates are merged. An unknown scope is an error naming it; an empty list is an
    /// error (X refuses an authorization request without scopes).
    pub fn parse(value: &str) -> Result<Self, ScopeError> {
        let mut scopes = Scopes::default();
        for token in value.split_ascii_whitespace() {
            scopes.insert(token.parse()?);
        }
        if scopes.is_empty() {
            return Err(ScopeError::Empty);
        }
        Ok(scopes)
    }

    /// Adds a scope (no-op if present).
    pub fn insert(&mut self, scope: Scope) {
        self.0 |= scope.bit();
    }

    /// Whether `scope` is in the set.
    pub fn contains(&self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    /// Whether X will issue a refresh token: `offline.access` is present.
    pub fn allows_refresh(&self) -> bool {
        self.contains(Scope::OfflineAccess)
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    /// Number of scopes.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// The scopes, in [`Scope::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        let bits = self.0;
        Scope::ALL.into_iter().filter(move |s| bits & s.bit() != 0)
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        let mut scopes = Scopes::default();
        for scope in iter {
            scopes.insert(scope);
        }
        scopes
    }
}

impl FromStr for Scopes {
    type Err = ScopeError;

    fn from_str(s: &str) -> Result<Self, ScopeError> {
        Scopes::parse(s)
    }
}

/// Space-joined, as the `scope` parameter wants it.
impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, scope) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(scope.as_str())?;
        }
        Ok(())
    }
}

impl fmt::Debug for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Scopes(\"")?;
        fmt::Display::fmt(self, f)?;
        f.write_str("\")")
    }
}

/// Why a scope list does not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScopeError {
    /// A scope X does not define (the offending token).
    Unknown(String),
    /// No scope at all.
    Empty,
}

impl ScopeError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unknown(_) => "unknown_scope",
            Self::Empty => "empty_scope",
        }
    }
}

impl fmt::Display for ScopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unknown(scope) => {
                f.write_str("unknown X scope: ")?;
                fmt::Debug::fmt(scope, f)
            }
            Self::Empty => f.write_str("no scope given"),
        }
    }
}

impl core::error::Error for ScopeError {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn all_22_round_trip() {
        let names = "tweet.read tweet.write tweet.moderate.write users.email users.read \
            follows.read follows.write offline.access space.read mute.read mute.write like.read \
            like.write list.read list.write block.read block.write bookmark.read bookmark.write \
            dm.read dm.write media.write";
        let all: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(all.join(" "), names);
        for s in Scope::ALL {
            assert_eq!(s.as_str().parse::<Scope>().unwrap(), s);
            assert_eq!(s.to_string(), s.as_str());
        }
        assert_eq!(Scopes::parse(names).unwrap().len(), 22);
    }

    #[test]
    fn parse_rules() {
        let s = Scopes::parse("  users.read\ttweet.read users.read offline.access ").unwrap();
        assert_eq!(s.to_string(), "tweet.read users.read offline.access");
        assert!(s.allows_refresh());
        assert!(s.contains(Scope::UsersRead) && !s.contains(Scope::DmRead));
        assert!(!Scopes::parse("tweet.read").unwrap().allows_refresh());
        assert_eq!(Scopes::parse("").unwrap_err(), ScopeError::Empty);
        assert_eq!(Scopes::parse("   ").unwrap_err().code(), "empty_scope");
        let err = Scopes::parse("tweet.read Tweet.Read").unwrap_err();
        assert_eq!(err, ScopeError::Unknown("Tweet.Read".into()));
        assert!(err.to_string().contains("Tweet.Read"));
        assert_eq!(
            format!("{:?}", Scopes::parse("dm.read").unwrap()),
            "Scopes(\"dm.read\")"
        );
    }

    proptest! {
        #[test]
        fn any_subset_round_trips(mask in 1u32..(1 << 22)) {
            let set: Scopes = Scope::ALL
                .into_iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, s)| s)
                .collect();
            let back = Scopes::parse(&set.to_string()).unwrap();
            prop_assert_eq!(back, set);
            prop_assert_eq!(back.iter().count(), mask.count_ones() as usize);
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,200}") {
            let _ = Scopes::parse(&s);
        }
    }
}
