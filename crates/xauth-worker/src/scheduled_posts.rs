//! Posts a user's object makes later, on its own alarm, with the stored grant (the demo's
//! "Post from the server in 30 s": the tab may be closed by then). As data: what is due,
//! and what became of each.
//!
//! Pure Rust, no `worker` types: unit-tested natively.

use serde::{Deserialize, Serialize};

/// How many posts an object remembers (scheduled and done, newest first).
pub const KEPT_POSTS: usize = 20;
/// The longest delay a post may be scheduled with: a day.
pub const MAX_DELAY_SECS: u64 = 86_400;
/// The delay when the caller names none.
pub const DEFAULT_DELAY_SECS: u64 = 30;
/// X's limit for a post's text, in characters.
pub const MAX_TEXT_CHARS: usize = 280;
/// How often a post is tried when X is down, slow or busy, before it counts as failed.
const MAX_ATTEMPTS: u32 = 3;
/// The wait before trying again after a transient failure, times the attempts so far.
const RETRY_SECS: u64 = 15;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PostStatus {
    Scheduled,
    Posted,
    Failed,
}

/// One post: its text, when it is due, and once done, its outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduledPost {
    pub id: String,
    pub text: String,
    /// Unix seconds; moved on by a retry.
    pub due_at: u64,
    pub status: PostStatus,
    /// X's id of the post, once posted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_id: Option<String>,
    /// Why it failed, once failed (X's words where X gave some).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_at: Option<u64>,
    #[serde(default)]
    pub attempts: u32,
}

/// What one attempt at a post came to.
pub enum Attempt {
    Posted {
        post_id: String,
    },
    /// X down, slow or busy: worth another try.
    Transient {
        error: String,
    },
    /// X refused it (a duplicate, a missing scope, a dead grant): not worth another try.
    Refused {
        error: String,
    },
}

/// A user's scheduled posts, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ScheduledPosts(Vec<ScheduledPost>);

/// Why a post cannot be scheduled.
#[derive(Debug, PartialEq, Eq)]
pub enum Invalid {
    Text,
    Delay,
}

impl ScheduledPosts {
    /// Schedules `text` `delay_secs` from `now`; the oldest done posts are forgotten beyond
    /// [`KEPT_POSTS`].
    pub fn schedule(
        &mut self,
        text: &str,
        delay_secs: Option<u64>,
        now: u64,
        id: String,
    ) -> Result<ScheduledPost, Invalid> {
        let chars = text.chars().count();
        if chars == 0 || chars > MAX_TEXT_CHARS || text.trim().is_empty() {
            return Err(Invalid::Text);
        }
        let delay = delay_secs.unwrap_or(DEFAULT_DELAY_SECS);
        if !(1..=MAX_DELAY_SECS).contains(&delay) {
            return Err(Invalid::Delay);
        }
        let post = ScheduledPost {
            id,
            text: text.to_owned(),
            due_at: now + delay,
            status: PostStatus::Scheduled,
            post_id: None,
            error: None,
            done_at: None,
            attempts: 0,
        };
        self.0.insert(0, post.clone());
        self.trim();
        Ok(post)
    }

    /// Keeps at most [`KEPT_POSTS`], dropping done ones first (oldest first): a scheduled
    /// post is dropped only when every kept one is scheduled.
    fn trim(&mut self) {
        while self.0.len() > KEPT_POSTS {
            let oldest_done = self
                .0
                .iter()
                .rposition(|post| post.status != PostStatus::Scheduled);
            let index = oldest_done.unwrap_or(self.0.len() - 1);
            self.0.remove(index);
        }
    }

    /// The ids of the posts due at `now`.
    pub fn due(&self, now: u64) -> Vec<String> {
        self.0
            .iter()
            .filter(|post| post.status == PostStatus::Scheduled && post.due_at <= now)
            .map(|post| post.id.clone())
            .collect()
    }

    pub fn text_of(&self, id: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|post| post.id == id)
            .map(|post| post.text.as_str())
    }

    /// When the next scheduled post is due.
    pub fn next_due(&self) -> Option<u64> {
        self.0
            .iter()
            .filter(|post| post.status == PostStatus::Scheduled)
            .map(|post| post.due_at)
            .min()
    }

    /// Records what an attempt at post `id` came to at `now`: a transient failure is tried
    /// again later, up to a few times.
    pub fn record(&mut self, id: &str, attempt: Attempt, now: u64) {
        let Some(post) = self.0.iter_mut().find(|post| post.id == id) else {
            return;
        };
        post.attempts += 1;
        match attempt {
            Attempt::Posted { post_id } => {
                post.status = PostStatus::Posted;
                post.post_id = Some(post_id);
                post.error = None;
                post.done_at = Some(now);
            }
            Attempt::Transient { error } if post.attempts < MAX_ATTEMPTS => {
                post.due_at = now + RETRY_SECS * u64::from(post.attempts);
                post.error = Some(error);
            }
            Attempt::Transient { error } | Attempt::Refused { error } => {
                post.status = PostStatus::Failed;
                post.error = Some(error);
                post.done_at = Some(now);
            }
        }
    }

    /// Every post still scheduled fails with `error` (the grant it would use has ended).
    pub fn fail_all_scheduled(&mut self, error: &str, now: u64) {
        for post in &mut self.0 {
            if post.status == PostStatus::Scheduled {
                post.status = PostStatus::Failed;
                post.error = Some(error.to_owned());
                post.done_at = Some(now);
            }
        }
    }

    pub fn list(&self) -> &[ScheduledPost] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;

    #[test]
    fn a_post_is_due_after_its_delay_and_remembers_its_outcome() {
        let mut posts = ScheduledPosts::default();
        let post = posts.schedule("hello", None, NOW, "a".into()).unwrap();
        assert_eq!(post.due_at, NOW + DEFAULT_DELAY_SECS);
        assert_eq!(posts.next_due(), Some(NOW + 30));
        assert!(posts.due(NOW + 29).is_empty());
        assert_eq!(posts.due(NOW + 30), vec!["a".to_owned()]);
        posts.record(
            "a",
            Attempt::Posted {
                post_id: "99".into(),
            },
            NOW + 31,
        );
        assert_eq!(posts.list()[0].status, PostStatus::Posted);
        assert_eq!(posts.list()[0].post_id.as_deref(), Some("99"));
        assert_eq!(posts.next_due(), None);
        let json = serde_json::to_value(&posts.list()[0]).unwrap();
        assert_eq!(json["status"], "posted");
        assert_eq!(json["dueAt"], NOW + 30);
        assert_eq!(json["postId"], "99");
    }

    #[test]
    fn transient_failures_are_retried_a_few_times_then_fail() {
        let mut posts = ScheduledPosts::default();
        posts.schedule("hello", Some(1), NOW, "a".into()).unwrap();
        let transient = || Attempt::Transient {
            error: "X is down".into(),
        };
        posts.record("a", transient(), NOW + 1);
        assert_eq!(posts.next_due(), Some(NOW + 1 + RETRY_SECS));
        posts.record("a", transient(), NOW + 20);
        assert_eq!(posts.list()[0].status, PostStatus::Scheduled);
        posts.record("a", transient(), NOW + 60);
        assert_eq!(posts.list()[0].status, PostStatus::Failed);
        assert_eq!(posts.list()[0].error.as_deref(), Some("X is down"));
        posts.schedule("again", Some(1), NOW, "b".into()).unwrap();
        posts.record(
            "b",
            Attempt::Refused {
                error: "duplicate".into(),
            },
            NOW + 2,
        );
        assert_eq!(posts.list()[0].status, PostStatus::Failed);
    }

    #[test]
    fn bad_text_and_delays_are_refused_and_old_posts_forgotten() {
        let mut posts = ScheduledPosts::default();
        assert_eq!(
            posts.schedule("", None, NOW, "x".into()),
            Err(Invalid::Text)
        );
        assert_eq!(
            posts.schedule("  ", None, NOW, "x".into()),
            Err(Invalid::Text)
        );
        let long = "é".repeat(MAX_TEXT_CHARS + 1);
        assert_eq!(
            posts.schedule(&long, None, NOW, "x".into()),
            Err(Invalid::Text)
        );
        assert!(
            posts
                .schedule(&"é".repeat(280), None, NOW, "y".into())
                .is_ok()
        );
        assert_eq!(
            posts.schedule("a", Some(0), NOW, "x".into()),
            Err(Invalid::Delay)
        );
        assert_eq!(
            posts.schedule("a", Some(MAX_DELAY_SECS + 1), NOW, "x".into()),
            Err(Invalid::Delay)
        );
        posts.record("y", Attempt::Refused { error: "no".into() }, NOW);
        for n in 0..KEPT_POSTS {
            posts.schedule("a", Some(5), NOW, format!("p{n}")).unwrap();
        }
        assert_eq!(posts.list().len(), KEPT_POSTS);
        assert!(
            posts.list().iter().all(|post| post.id != "y"),
            "the done post goes first"
        );
        posts.fail_all_scheduled("signed out", NOW);
        assert_eq!(posts.next_due(), None);
    }
}
