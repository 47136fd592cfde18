//! Relay configuration, read once from the environment.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::time::Duration;

use reqwest::Url;

use super::error::{RelayError, SendError};

const URL_PREFIX: &str = "TASKLANE_TARGET_URL_";
const QUEUE_PREFIX: &str = "TASKLANE_TARGET_QUEUE_";
const AUDIENCE_PREFIX: &str = "TASKLANE_TARGET_AUDIENCE_";

/// Where and how the relay sends outbox rows.
///
/// Each field names the environment variable it is read from and its
/// default. Endpoints with a plain `http://` scheme
/// are taken to be emulators: requests to them carry no credentials. Any
/// other endpoint is called with Application Default Credentials (on Cloud
/// Run, the service's own service account).
#[derive(Debug, Clone)]
pub struct RelaySettings {
    /// Project that owns the topics and queues (`GOOGLE_CLOUD_PROJECT`;
    /// default `local`).
    pub project: String,
    /// Pub/Sub REST endpoint (`TASKLANE_PUBSUB_ENDPOINT`; default
    /// `https://pubsub.googleapis.com`). When `TASKLANE_PUBSUB_EMULATOR_HOST`
    /// is set (`host:port`), it wins and the endpoint is `http://host:port`.
    pub pubsub_endpoint: Url,
    /// Cloud Tasks endpoint (`TASKLANE_TASKS_ENDPOINT`; default
    /// `https://cloudtasks.googleapis.com`).
    pub tasks_endpoint: Url,
    /// Location of the queues (`TASKLANE_LOCATION`; default `us-central1`).
    pub location: String,
    /// Service account Cloud Tasks signs OIDC tokens as when it pushes a
    /// follow-up task (`TASKLANE_INVOKER_SA`; default none: pushes carry no
    /// `Authorization` header, which only an emulator or a public service
    /// accepts).
    pub invoker_service_account: Option<String>,
    /// Push targets of follow-up tasks, keyed by the function's name in
    /// upper snake case (`asr-postprocess` is `ASR_POSTPROCESS`); see
    /// [`Target`]. Default: none, so a follow-up task for a function without
    /// a target stays in the outbox with an error saying which variable to
    /// set.
    pub targets: BTreeMap<String, Target>,
    /// Rows claimed and sent at once (`TASKLANE_RELAY_BATCH_SIZE`; default
    /// 32; 1 to 1,000).
    pub batch_size: u32,
    /// How long a claimed row is hidden from other relays while it is sent
    /// (`TASKLANE_RELAY_LEASE_SECS`; default 60). A relay that dies mid-send
    /// leaves the row to be sent again once the lease runs out.
    pub lease: Duration,
    /// Upper bound on one send, credentials included
    /// (`TASKLANE_RELAY_SEND_TIMEOUT_SECS`; default 20; less than the lease,
    /// so that a slow send cannot outlive its claim).
    pub send_timeout: Duration,
    /// Wait before the first retry of a failed row
    /// (`TASKLANE_RELAY_MIN_BACKOFF_SECS`; default 1; fractions allowed, 0
    /// retries on the next drain). It doubles with every failed attempt.
    pub min_backoff: Duration,
    /// Longest wait between retries (`TASKLANE_RELAY_MAX_BACKOFF_SECS`;
    /// default 300).
    pub max_backoff: Duration,
    /// Pause between drains of [`Relay::run`](super::Relay::run)
    /// (`TASKLANE_RELAY_POLL_MS`; default 1,000).
    pub poll_interval: Duration,
}

/// Where follow-up tasks for one function are pushed.
///
/// For a function `F` (upper snake case): `TASKLANE_TARGET_URL_F` (the push
/// URL, required), `TASKLANE_TARGET_QUEUE_F` (queue id; default the
/// function's name) and `TASKLANE_TARGET_AUDIENCE_F` (OIDC audience; default
/// the URL's origin, which is what Cloud Run expects).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The URL Cloud Tasks posts the task body to.
    pub url: Url,
    /// The queue id, when it differs from the function's name.
    pub queue: Option<String>,
    /// The OIDC audience, when it differs from the URL's origin.
    pub audience: Option<String>,
}

/// A target resolved for one function.
#[derive(Debug)]
pub(crate) struct Route {
    pub(crate) queue_path: String,
    pub(crate) url: String,
    pub(crate) audience: String,
}

impl RelaySettings {
    /// Read the settings from the process environment.
    ///
    /// # Errors
    ///
    /// [`RelayError::InvalidSetting`] naming the first malformed variable.
    pub fn from_env() -> Result<Self, RelayError> {
        Self::from_vars(std::env::vars())
    }

    /// Read the settings from `vars` (name, value pairs), as
    /// [`from_env`](Self::from_env) does from the environment.
    ///
    /// # Errors
    ///
    /// [`RelayError::InvalidSetting`] naming the first malformed variable.
    pub fn from_vars<I, K, V>(vars: I) -> Result<Self, RelayError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let vars: HashMap<String, String> = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        let env = Vars(&vars);
        let settings = RelaySettings {
            project: env.text("GOOGLE_CLOUD_PROJECT", "local"),
            pubsub_endpoint: pubsub_endpoint(&env)?,
            tasks_endpoint: env.url(
                "TASKLANE_TASKS_ENDPOINT",
                "https://cloudtasks.googleapis.com",
            )?,
            location: env.text("TASKLANE_LOCATION", "us-central1"),
            invoker_service_account: env.get("TASKLANE_INVOKER_SA").map(str::to_owned),
            targets: targets(&env)?,
            batch_size: env.number("TASKLANE_RELAY_BATCH_SIZE", 32)?,
            lease: env.seconds("TASKLANE_RELAY_LEASE_SECS", 60.0)?,
            send_timeout: env.seconds("TASKLANE_RELAY_SEND_TIMEOUT_SECS", 20.0)?,
            min_backoff: env.seconds("TASKLANE_RELAY_MIN_BACKOFF_SECS", 1.0)?,
            max_backoff: env.seconds("TASKLANE_RELAY_MAX_BACKOFF_SECS", 300.0)?,
            poll_interval: Duration::from_millis(env.number("TASKLANE_RELAY_POLL_MS", 1_000)?),
        };
        settings.validate()?;
        Ok(settings)
    }

    /// Check the relations between settings that each parsed on its own.
    ///
    /// # Errors
    ///
    /// [`RelayError::InvalidSetting`] for a batch size outside 1 to 1,000, a
    /// zero send timeout or poll interval, a send timeout not shorter than
    /// the lease, or a maximum backoff below the minimum.
    pub fn validate(&self) -> Result<(), RelayError> {
        let invalid = |name: &str, value: String, reason| {
            Err(RelayError::InvalidSetting {
                name: name.to_owned(),
                value,
                reason,
            })
        };
        if !(1..=1_000).contains(&self.batch_size) {
            return invalid(
                "TASKLANE_RELAY_BATCH_SIZE",
                self.batch_size.to_string(),
                "must be between 1 and 1000",
            );
        }
        if self.send_timeout.is_zero() || self.send_timeout >= self.lease {
            return invalid(
                "TASKLANE_RELAY_SEND_TIMEOUT_SECS",
                secs(self.send_timeout),
                "must be above 0 and below TASKLANE_RELAY_LEASE_SECS",
            );
        }
        if self.max_backoff < self.min_backoff {
            return invalid(
                "TASKLANE_RELAY_MAX_BACKOFF_SECS",
                secs(self.max_backoff),
                "must not be below TASKLANE_RELAY_MIN_BACKOFF_SECS",
            );
        }
        if self.poll_interval.is_zero() {
            return invalid("TASKLANE_RELAY_POLL_MS", "0".to_owned(), "must be above 0");
        }
        Ok(())
    }

    /// The target configured for `function`, if any.
    pub fn target(&self, function: &str) -> Option<&Target> {
        self.targets.get(&env_suffix(function))
    }

    /// How long a row waits after its `attempts`-th failed send: the minimum
    /// backoff doubled per earlier attempt, capped at the maximum.
    pub fn backoff(&self, attempts: i32) -> Duration {
        let doublings = attempts.saturating_sub(1).clamp(0, 30);
        let delay = self.min_backoff.as_secs_f64() * f64::from(1_u32 << doublings);
        Duration::from_secs_f64(delay.min(self.max_backoff.as_secs_f64()))
    }

    /// Whether Pub/Sub calls go to an emulator, without credentials.
    pub fn pubsub_is_emulator(&self) -> bool {
        self.pubsub_endpoint.scheme() == "http"
    }

    /// Whether Cloud Tasks calls go to an emulator, without credentials.
    pub fn tasks_is_emulator(&self) -> bool {
        self.tasks_endpoint.scheme() == "http"
    }

    /// The queue, URL and audience of follow-up tasks for `function`.
    pub(crate) fn route(&self, function: &str) -> Result<Route, SendError> {
        let target = self.target(function).ok_or_else(|| SendError::NoTarget {
            function: function.to_owned(),
            variable: format!("{URL_PREFIX}{}", env_suffix(function)),
        })?;
        let queue = target.queue.as_deref().unwrap_or(function);
        check_resource_id("queue id", queue)?;
        Ok(Route {
            queue_path: format!(
                "projects/{}/locations/{}/queues/{queue}",
                self.project, self.location
            ),
            url: target.url.to_string(),
            audience: target
                .audience
                .clone()
                .unwrap_or_else(|| target.url.origin().ascii_serialization()),
        })
    }
}

/// `function` as it appears in variable names: upper case, with every
/// character other than a letter or digit turned into `_`.
pub fn env_suffix(function: &str) -> String {
    function
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Cloud Tasks queue and task ids: letters, digits, hyphens and
/// underscores, at most 500 characters.
pub(crate) fn check_resource_id(what: &'static str, id: &str) -> Result<(), SendError> {
    let valid = !id.is_empty()
        && id.len() <= 500
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Ok(())
    } else {
        Err(SendError::InvalidName {
            what,
            value: id.to_owned(),
            reason: "use 1 to 500 letters, digits, hyphens or underscores",
        })
    }
}

fn pubsub_endpoint(env: &Vars<'_>) -> Result<Url, RelayError> {
    match env.get("TASKLANE_PUBSUB_EMULATOR_HOST") {
        Some(host) => parse_endpoint("TASKLANE_PUBSUB_EMULATOR_HOST", &format!("http://{host}"))
            .map_err(|_| {
                RelayError::invalid("TASKLANE_PUBSUB_EMULATOR_HOST", host, "expected host:port")
            }),
        None => env.url("TASKLANE_PUBSUB_ENDPOINT", "https://pubsub.googleapis.com"),
    }
}

fn targets(env: &Vars<'_>) -> Result<BTreeMap<String, Target>, RelayError> {
    let mut targets = BTreeMap::new();
    for (name, value) in env.0 {
        let Some(suffix) = name.strip_prefix(URL_PREFIX) else {
            continue;
        };
        let url = parse_endpoint(name, value)?;
        let target = Target {
            url,
            queue: env
                .get(&format!("{QUEUE_PREFIX}{suffix}"))
                .map(str::to_owned),
            audience: env
                .get(&format!("{AUDIENCE_PREFIX}{suffix}"))
                .map(str::to_owned),
        };
        targets.insert(suffix.to_owned(), target);
    }
    orphans(env, &targets)?;
    Ok(targets)
}

/// A queue or audience for a function without a URL is a typo in one of the
/// two names; say so rather than ignore it.
fn orphans(env: &Vars<'_>, targets: &BTreeMap<String, Target>) -> Result<(), RelayError> {
    for (name, value) in env.0 {
        let suffix = name
            .strip_prefix(QUEUE_PREFIX)
            .or_else(|| name.strip_prefix(AUDIENCE_PREFIX));
        if suffix.is_some_and(|s| !targets.contains_key(s)) {
            return Err(RelayError::invalid(
                name,
                value,
                "has no matching TASKLANE_TARGET_URL_<FUNCTION>",
            ));
        }
    }
    Ok(())
}

fn parse_endpoint(name: &str, value: &str) -> Result<Url, RelayError> {
    match Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Ok(url),
        _ => Err(RelayError::invalid(
            name,
            value,
            "expected an http:// or https:// URL",
        )),
    }
}

fn secs(d: Duration) -> String {
    d.as_secs_f64().to_string()
}

/// Typed reads over the variables, each falling back to its default.
struct Vars<'a>(&'a HashMap<String, String>);

impl Vars<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    fn text(&self, name: &str, default: &str) -> String {
        self.get(name).unwrap_or(default).trim().to_owned()
    }

    fn url(&self, name: &str, default: &str) -> Result<Url, RelayError> {
        parse_endpoint(name, self.get(name).unwrap_or(default).trim())
    }

    fn number<T: FromStr>(&self, name: &str, default: T) -> Result<T, RelayError> {
        match self.get(name) {
            Some(value) => value
                .trim()
                .parse()
                .map_err(|_| RelayError::invalid(name, value, "expected a whole number")),
            None => Ok(default),
        }
    }

    fn seconds(&self, name: &str, default: f64) -> Result<Duration, RelayError> {
        let Some(value) = self.get(name) else {
            return Ok(Duration::from_secs_f64(default));
        };
        value
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
            .ok_or_else(|| RelayError::invalid(name, value, "expected seconds, 0 or more"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<RelaySettings, RelayError> {
        RelaySettings::from_vars(vars.iter().copied())
    }

    fn invalid_name(result: Result<RelaySettings, RelayError>) -> String {
        match result {
            Err(RelayError::InvalidSetting { name, .. }) => name,
            other => panic!("expected an invalid setting, got {other:?}"),
        }
    }

    #[test]
    fn defaults_point_at_google_with_documented_values() {
        let s = read(&[]).unwrap();

        assert_eq!(s.project, "local");
        assert_eq!(s.pubsub_endpoint.as_str(), "https://pubsub.googleapis.com/");
        assert_eq!(
            s.tasks_endpoint.as_str(),
            "https://cloudtasks.googleapis.com/"
        );
        assert_eq!(s.location, "us-central1");
        assert_eq!(s.invoker_service_account, None);
        assert!(s.targets.is_empty());
        assert_eq!(s.batch_size, 32);
        assert_eq!(s.lease, Duration::from_secs(60));
        assert_eq!(s.send_timeout, Duration::from_secs(20));
        assert_eq!(s.min_backoff, Duration::from_secs(1));
        assert_eq!(s.max_backoff, Duration::from_secs(300));
        assert_eq!(s.poll_interval, Duration::from_secs(1));
        assert!(!s.pubsub_is_emulator() && !s.tasks_is_emulator());
    }

    #[test]
    fn pubsub_emulator_host_wins_and_means_no_credentials() {
        let s = read(&[
            ("TASKLANE_PUBSUB_ENDPOINT", "https://pubsub.googleapis.com"),
            ("TASKLANE_PUBSUB_EMULATOR_HOST", "127.0.0.1:8085"),
        ])
        .unwrap();

        assert_eq!(s.pubsub_endpoint.as_str(), "http://127.0.0.1:8085/");
        assert!(s.pubsub_is_emulator());
    }

    #[test]
    fn target_defaults_to_the_function_queue_and_the_url_origin() {
        let s = read(&[
            ("GOOGLE_CLOUD_PROJECT", "acme"),
            (
                "TASKLANE_TARGET_URL_ASR_POSTPROCESS",
                "https://asr-xyz.a.run.app/tasks/asr",
            ),
        ])
        .unwrap();

        let route = s.route("asr-postprocess").unwrap();

        assert_eq!(
            route.queue_path,
            "projects/acme/locations/us-central1/queues/asr-postprocess"
        );
        assert_eq!(route.url, "https://asr-xyz.a.run.app/tasks/asr");
        assert_eq!(route.audience, "https://asr-xyz.a.run.app");
    }

    #[test]
    fn target_queue_and_audience_can_be_set() {
        let s = read(&[
            (
                "TASKLANE_TARGET_URL_SUMMARIZE",
                "https://summarize-xyz.a.run.app/tasks/summarize",
            ),
            ("TASKLANE_TARGET_QUEUE_SUMMARIZE", "summarize-eu"),
            (
                "TASKLANE_TARGET_AUDIENCE_SUMMARIZE",
                "https://summarize.example.com",
            ),
        ])
        .unwrap();

        let route = s.route("summarize").unwrap();

        assert!(route.queue_path.ends_with("/queues/summarize-eu"));
        assert_eq!(route.audience, "https://summarize.example.com");
    }

    #[test]
    fn function_without_a_target_names_the_variable_to_set() {
        let s = read(&[]).unwrap();

        let err = s.route("asr-postprocess").unwrap_err();

        assert!(
            err.to_string()
                .contains("TASKLANE_TARGET_URL_ASR_POSTPROCESS"),
            "{err}"
        );
    }

    #[test]
    fn queue_override_that_is_not_an_id_is_refused() {
        let s = read(&[
            (
                "TASKLANE_TARGET_URL_SUMMARIZE",
                "https://summarize-xyz.a.run.app/",
            ),
            ("TASKLANE_TARGET_QUEUE_SUMMARIZE", "a/b"),
        ])
        .unwrap();

        assert!(matches!(
            s.route("summarize"),
            Err(SendError::InvalidName { .. })
        ));
    }

    #[test]
    fn queue_without_a_url_is_reported_as_a_typo() {
        let result = read(&[("TASKLANE_TARGET_QUEUE_SUMARIZE", "summarize")]);

        assert_eq!(invalid_name(result), "TASKLANE_TARGET_QUEUE_SUMARIZE");
    }

    #[test]
    fn malformed_values_name_their_variable() {
        let cases = [
            ("TASKLANE_PUBSUB_ENDPOINT", "pubsub.googleapis.com"),
            ("TASKLANE_TASKS_ENDPOINT", "ftp://tasks"),
            ("TASKLANE_TARGET_URL_SUMMARIZE", "/tasks/summarize"),
            ("TASKLANE_RELAY_BATCH_SIZE", "many"),
            ("TASKLANE_RELAY_BATCH_SIZE", "0"),
            ("TASKLANE_RELAY_LEASE_SECS", "-1"),
            ("TASKLANE_RELAY_MIN_BACKOFF_SECS", "soon"),
            ("TASKLANE_RELAY_POLL_MS", "0"),
        ];
        for (name, value) in cases {
            assert_eq!(invalid_name(read(&[(name, value)])), name, "{name}={value}");
        }
    }

    #[test]
    fn send_timeout_must_end_before_the_lease() {
        let result = read(&[
            ("TASKLANE_RELAY_LEASE_SECS", "10"),
            ("TASKLANE_RELAY_SEND_TIMEOUT_SECS", "10"),
        ]);

        assert_eq!(invalid_name(result), "TASKLANE_RELAY_SEND_TIMEOUT_SECS");
    }

    #[test]
    fn backoff_doubles_per_attempt_up_to_the_maximum() {
        let s = read(&[
            ("TASKLANE_RELAY_MIN_BACKOFF_SECS", "2"),
            ("TASKLANE_RELAY_MAX_BACKOFF_SECS", "20"),
        ])
        .unwrap();

        let waits: Vec<u64> = (1..=6).map(|n| s.backoff(n).as_secs()).collect();

        assert_eq!(waits, [2, 4, 8, 16, 20, 20]);
        assert_eq!(s.backoff(i32::MAX).as_secs(), 20);
    }

    #[test]
    fn zero_minimum_backoff_retries_on_the_next_drain() {
        let s = read(&[("TASKLANE_RELAY_MIN_BACKOFF_SECS", "0")]).unwrap();

        assert_eq!(s.backoff(5), Duration::ZERO);
    }
}
