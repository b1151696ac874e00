//! Configuration: defaults in code, then an optional TOML file, then `AFTERCARE_*`
//! environment variables (nested keys joined with `__`, e.g.
//! `AFTERCARE_SERVICES__TICKETS__LISTEN=0.0.0.0:50061`). The defaults run the whole suite on
//! one machine with nothing to configure. An unknown key or a malformed value fails at start
//! with a message that names the key.

use std::collections::BTreeSet;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// The environment variable prefix.
pub const ENV_PREFIX: &str = "AFTERCARE_";
/// The variable naming a configuration file (read before the other variables).
pub const CONFIG_FILE_ENV: &str = "AFTERCARE_CONFIG";

/// The whole configuration of the platform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where SQLite databases live when a service's `database_url` is not set.
    pub data_dir: PathBuf,
    /// Logs, traces and metrics.
    pub telemetry: TelemetryConfig,
    /// Settings every gRPC server shares.
    pub server: ServerConfig,
    /// Database pool settings every service shares.
    pub database: DatabaseConfig,
    /// The event bus.
    pub events: EventsConfig,
    /// The gateway.
    pub gateway: GatewayConfig,
    /// Each service's address and database.
    pub services: ServicesConfig,
    /// How the gateway and the services trust each other.
    pub auth: AuthConfig,
    /// What tickets need from the agent they are routed to, and where they go when nobody
    /// in their region is on shift.
    pub routing: RoutingConfig,
    /// The feedback service's closed loop: who is a detractor, the follow-up standard and
    /// the hours it counts in, the quiet period between surveys.
    pub feedback: FeedbackConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data"),
            telemetry: TelemetryConfig::default(),
            server: ServerConfig::default(),
            database: DatabaseConfig::default(),
            events: EventsConfig::default(),
            gateway: GatewayConfig::default(),
            services: ServicesConfig::default(),
            auth: AuthConfig::default(),
            routing: RoutingConfig::default(),
            feedback: FeedbackConfig::default(),
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Multi-line, coloured, for people.
    Pretty,
    /// One line per event, for people.
    Compact,
    /// One JSON object per line, for log pipelines.
    Json,
}

/// Logs, traces and metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetryConfig {
    /// `pretty`, `compact` or `json`.
    pub log_format: LogFormat,
    /// A `tracing` filter (`info,aftercare=debug`); `RUST_LOG` overrides it.
    pub log_filter: String,
    /// OTLP/gRPC endpoint for traces and metrics; unset means no export.
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` sets it too.
    pub otlp_endpoint: Option<String>,
    /// Where Prometheus scrapes `/metrics`; unset means no metrics endpoint.
    pub metrics_listen: Option<SocketAddr>,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            log_format: LogFormat::Compact,
            log_filter: "info".to_owned(),
            otlp_endpoint: None,
            metrics_listen: Some(SocketAddr::from(([127, 0, 0, 1], 9464))),
        }
    }
}

/// Settings every gRPC server shares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Largest request or response message, in bytes.
    pub max_message_bytes: usize,
    /// Deadline applied to a call that brings none (and the ceiling for those that do).
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Calls served at once per server; more are refused with `UNAVAILABLE` rather than queued.
    pub concurrency_limit: usize,
    /// How long in-flight calls may take to finish after SIGTERM or Ctrl-C.
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_message_bytes: 4 * 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            concurrency_limit: 1024,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Database pool settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// Connections per service pool.
    pub max_connections: u32,
    /// How long a call waits for a free connection.
    #[serde(with = "humantime_serde")]
    pub acquire_timeout: Duration,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

impl DatabaseConfig {
    /// The pool settings for [`crate::db::Database::connect`].
    pub fn pool_settings(&self) -> crate::db::PoolSettings {
        crate::db::PoolSettings {
            max_connections: self.max_connections,
            acquire_timeout: self.acquire_timeout,
        }
    }
}

/// Which event bus carries events between services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BusKind {
    /// In memory, for all services in one process (`aftercare up`).
    InProcess,
    /// NATS JetStream, for services in separate processes (a cluster).
    Nats,
}

/// The event bus and the outbox relay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventsConfig {
    /// `in_process` or `nats`.
    pub bus: BusKind,
    /// NATS server URL, for `bus = "nats"` (may carry credentials: never printed).
    pub nats_url: Secret,
    /// The JetStream stream that holds every event (subjects `<subject_prefix>.>`).
    pub stream: String,
    /// The first token of every event subject (`aftercare`): two platforms (or two test
    /// runs) on one NATS server need their own stream and prefix.
    pub subject_prefix: String,
    /// How often the relay looks for unpublished outbox rows when nothing wakes it.
    #[serde(with = "humantime_serde")]
    pub relay_interval: Duration,
    /// Outbox rows published per relay round.
    pub relay_batch: u32,
    /// How long events (which may carry personal data) are kept after they are published:
    /// relayed outbox rows and handled-event records are deleted after it, and the JetStream
    /// stream's `max_age` is set to it. Keep it short enough for your erasure promise.
    #[serde(with = "humantime_serde")]
    pub retention: Duration,
    /// How many NATS servers keep a copy of the JetStream stream (1 to 5; 3 in production,
    /// on a 3-node NATS cluster). Applies when the stream is created; an existing stream is
    /// used as it is.
    pub stream_replicas: usize,
    /// How long a JetStream consumer's delivery may stay unacknowledged (a consumer that
    /// crashed mid-handler) before it is delivered again. Applies when the consumer is
    /// created or next subscribes.
    #[serde(with = "humantime_serde")]
    pub ack_wait: Duration,
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self {
            bus: BusKind::InProcess,
            nats_url: Secret::new("nats://127.0.0.1:4222"),
            stream: "AFTERCARE".to_owned(),
            subject_prefix: "aftercare".to_owned(),
            relay_interval: Duration::from_millis(500),
            relay_batch: 256,
            retention: Duration::from_secs(7 * 24 * 3600),
            stream_replicas: 1,
            ack_wait: Duration::from_secs(30),
        }
    }
}

/// The gateway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatewayConfig {
    /// Where the gateway listens (gRPC, gRPC-Web and REST on one port).
    pub listen: SocketAddr,
    /// The HS256 secret development tokens are signed with (at least 32 characters); unset,
    /// HS256 tokens are refused. `aftercare token` mints tokens with it.
    pub jwt_secret: Option<Secret>,
    /// A JWKS file (`{"keys": [...]}`) of the identity provider's RS256/ES256 public keys;
    /// re-read when it changes.
    pub jwks_file: Option<PathBuf>,
    /// The `iss` every token must carry.
    pub issuer: String,
    /// The `aud` every token must carry.
    pub audience: String,
    /// A JSON file of API keys (`{"keys": [{"id", "sha256", "scopes", "expires"}]}`), stored
    /// only as SHA-256 hashes (hex); re-read when it changes, so keys rotate without restart.
    pub api_keys_file: Option<PathBuf>,
    /// How often the API key and JWKS files are checked for changes.
    #[serde(with = "humantime_serde")]
    pub reload_interval: Duration,
    /// Calls each principal (token subject or API key) may make per second, sustained.
    pub rate_limit_per_second: u32,
    /// Calls each principal may make at once above the sustained rate.
    pub rate_limit_burst: u32,
    /// How long a call may take when the client sets no shorter deadline.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Per-route timeouts, by gRPC method (`aftercare.tickets.v1.TicketService/ListTickets`),
    /// service (`aftercare.tickets.v1.TicketService`) or package (`aftercare.tickets.v1`); the
    /// most specific wins over `request_timeout`.
    pub route_timeouts: std::collections::BTreeMap<String, humantime_serde::Serde<Duration>>,
    /// How long connecting to a backend may take before the call fails with UNAVAILABLE.
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Retries of a read (Get/List/Search) that failed with UNAVAILABLE before any response.
    pub max_retries: u32,
    /// Calls in progress at once; above it calls are refused at once (UNAVAILABLE).
    pub concurrency_limit: usize,
    /// The largest request body accepted, in bytes.
    pub max_request_bytes: usize,
    /// How often the backends' health is checked (what the gateway's health service reports).
    #[serde(with = "humantime_serde")]
    pub health_interval: Duration,
    /// Per-role policy overrides: a role (`agent`) to the method groups (`tickets.read`,
    /// `tickets.write`), services (`aftercare.tickets.v1.TicketService/*`), methods
    /// (`aftercare.tickets.v1.TicketService/GetTicket`) or `*` it may call, replacing that
    /// role's defaults.
    pub policy: std::collections::BTreeMap<String, Vec<String>>,
    /// Origins browsers may call the gateway from (gRPC-Web, REST), e.g.
    /// `https://desk.example.com`, or `*` for any; empty, cross-origin calls get no CORS
    /// headers.
    pub cors_allowed_origins: Vec<String>,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            jwt_secret: None,
            jwks_file: None,
            issuer: "aftercare".to_owned(),
            audience: "aftercare".to_owned(),
            api_keys_file: None,
            reload_interval: Duration::from_secs(5),
            rate_limit_per_second: 200,
            rate_limit_burst: 400,
            request_timeout: Duration::from_secs(30),
            route_timeouts: std::collections::BTreeMap::new(),
            connect_timeout: Duration::from_secs(1),
            max_retries: 2,
            concurrency_limit: 1024,
            max_request_bytes: 4 * 1024 * 1024,
            health_interval: Duration::from_secs(5),
            policy: std::collections::BTreeMap::new(),
            cors_allowed_origins: Vec::new(),
        }
    }
}

/// How the gateway and the services trust each other.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// The secret the gateway signs verified principals with and the services check them
    /// with (at least 32 characters). Unset: `aftercare up` uses a random one for its single
    /// process; `aftercare serve` refuses to start, since separate processes must share it.
    pub principal_secret: Option<Secret>,
}

/// The feedback service's closed loop (read by the feedback service when it starts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeedbackConfig {
    /// A CSAT answer (1–5) at or below this is a detractor and opens a follow-up.
    pub csat_detractor_max: i32,
    /// An NPS answer (0–10) at or below this is a detractor and opens a follow-up.
    pub nps_detractor_max: i32,
    /// A CES answer (1–7) at or above this opens a follow-up.
    pub ces_detractor_min: i32,
    /// The standard: a follow-up is due this long after it opens.
    #[serde(with = "humantime_serde")]
    pub follow_up_within: Duration,
    /// A customer surveyed within this long is not invited again on a resolution (zero:
    /// only each survey's own cooldown applies).
    #[serde(with = "humantime_serde")]
    pub quiet_period: Duration,
    /// The opening hours `follow_up_within` counts in; unset counts around the clock.
    pub business_hours: Option<BusinessHoursConfig>,
}

impl Default for FeedbackConfig {
    fn default() -> Self {
        Self {
            csat_detractor_max: 2,
            nps_detractor_max: 6,
            ces_detractor_min: 5,
            follow_up_within: Duration::from_secs(24 * 3600),
            quiet_period: Duration::ZERO,
            business_hours: None,
        }
    }
}

/// Opening hours: a time zone, open intervals per weekday, and holidays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessHoursConfig {
    /// An IANA time zone (`Asia/Shanghai`).
    pub time_zone: String,
    /// Open intervals by weekday (`mon` … `sun`), each `"HH:MM-HH:MM"`; a day not listed
    /// is closed.
    pub weekly: std::collections::BTreeMap<String, Vec<String>>,
    /// Closed dates, `YYYY-MM-DD`.
    #[serde(default)]
    pub holidays: Vec<String>,
}

impl BusinessHoursConfig {
    /// The calendar, or what is wrong with it (each problem prefixed with `key`).
    pub fn calendar(
        &self,
        key: &str,
    ) -> Result<crate::time::calendar::BusinessCalendar, Vec<String>> {
        use crate::time::calendar::{BusinessCalendar, OpenInterval};
        const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        let mut problems = Vec::new();
        let zone = self.time_zone.parse::<chrono_tz::Tz>().map_err(|_| {
            format!(
                "{key}.time_zone: `{}` is not an IANA time zone",
                self.time_zone
            )
        });
        let mut weekly: [Vec<OpenInterval>; 7] = Default::default();
        for (day, intervals) in &self.weekly {
            let Some(index) = DAYS.iter().position(|d| d == day) else {
                problems.push(format!("{key}.weekly: `{day}` is not one of mon … sun"));
                continue;
            };
            for text in intervals {
                let parsed = text
                    .split_once('-')
                    .ok_or_else(|| "must be HH:MM-HH:MM".to_owned())
                    .and_then(|(start, end)| OpenInterval::parse(start.trim(), end.trim()));
                match parsed {
                    Ok(interval) => weekly[index].push(interval),
                    Err(err) => problems.push(format!("{key}.weekly.{day}: `{text}`: {err}")),
                }
            }
            weekly[index].sort_by_key(|interval| interval.start);
            if weekly[index]
                .windows(2)
                .any(|pair| pair[1].start < pair[0].end)
            {
                problems.push(format!("{key}.weekly.{day}: intervals overlap"));
            }
        }
        if weekly.iter().all(Vec::is_empty) {
            problems.push(format!("{key}.weekly: no open hours on any day"));
        }
        let mut holidays = BTreeSet::new();
        for date in &self.holidays {
            match chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d") {
                Ok(date) => {
                    holidays.insert(date);
                }
                Err(_) => problems.push(format!("{key}.holidays: `{date}` is not YYYY-MM-DD")),
            }
        }
        match zone {
            Ok(zone) if problems.is_empty() => Ok(BusinessCalendar::new(zone, weekly, holidays)),
            Ok(_) => Err(problems),
            Err(err) => {
                problems.insert(0, err);
                Err(problems)
            }
        }
    }
}

impl FeedbackConfig {
    fn problems(&self, problems: &mut Vec<String>) {
        if !(1..=5).contains(&self.csat_detractor_max) {
            problems.push("feedback.csat_detractor_max: must be from 1 to 5".to_owned());
        }
        if !(0..=10).contains(&self.nps_detractor_max) {
            problems.push("feedback.nps_detractor_max: must be from 0 to 10".to_owned());
        }
        if !(1..=7).contains(&self.ces_detractor_min) {
            problems.push("feedback.ces_detractor_min: must be from 1 to 7".to_owned());
        }
        if self.follow_up_within < Duration::from_secs(60) {
            problems.push("feedback.follow_up_within: must be at least 1m".to_owned());
        }
        if let Some(hours) = &self.business_hours
            && let Err(found) = hours.calendar("feedback.business_hours")
        {
            problems.extend(found);
        }
    }
}

/// Routing: what the tickets service asks of the agent a ticket goes to, and the workforce
/// service's follow-the-sun policies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RoutingConfig {
    /// Follow-the-sun policy by ticket region (`eu-west`): when nobody eligible in the
    /// region is on shift, `"any"` routes the ticket to whichever region has someone,
    /// `"queue"` keeps it waiting in its region's queue, and a list of regions
    /// (`["us-east", "cn-east"]`) tries only those, in that order.
    pub follow_the_sun: std::collections::BTreeMap<String, FollowTheSunPolicy>,
    /// The policy of regions `follow_the_sun` does not list (default `"any"`).
    pub default_follow_the_sun: FollowTheSunPolicy,
    /// What tickets need: every rule a ticket matches adds its certifications and skills to
    /// the ticket's `RouteTicket` request.
    pub requirements: Vec<RoutingRequirement>,
}

/// Where a ticket goes when nobody eligible in its region is on shift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FollowTheSunPolicy {
    /// `"any"` or `"queue"`.
    Mode(FollowTheSunMode),
    /// These regions, in order.
    Regions(Vec<String>),
}

impl Default for FollowTheSunPolicy {
    fn default() -> Self {
        Self::Mode(FollowTheSunMode::Any)
    }
}

/// A follow-the-sun policy without a region list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FollowTheSunMode {
    /// To whichever region has an eligible agent on shift.
    Any,
    /// Nowhere: the ticket waits in its queue until someone in its region can take it.
    Queue,
}

/// One rule of what tickets need: a ticket matching every condition given (an empty
/// condition matches every ticket) needs these certifications and skills.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RoutingRequirement {
    /// The ticket's kind, as the contract names it without its prefix (`AFTER_SALES`).
    pub kind: Option<String>,
    /// The ticket's sub-kind, likewise (`REPAIR`).
    pub sub_kind: Option<String>,
    /// The ticket's product line (`washing-machines`).
    pub product_line: Option<String>,
    /// Certification codes the agent must hold (`washer-repair-l2`).
    pub certifications: Vec<String>,
    /// Skills the agent must hold, `skills/{skill}`, at least at `min_level` (1 to 5).
    pub skills: Vec<RequiredSkillConfig>,
}

/// A skill a routing requirement asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequiredSkillConfig {
    /// The skill, `skills/{skill}`.
    pub skill: String,
    /// Minimum level, 1 to 5 (default 1).
    #[serde(default = "one")]
    pub min_level: u8,
}

fn one() -> u8 {
    1
}

/// Whether `text` is a code as the contracts define one (regions, certification codes,
/// product lines): lower-case letters, digits and hyphens, 1 to 64 characters, no hyphen
/// at either end.
fn is_code(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !text.starts_with('-')
        && !text.ends_with('-')
}

impl RoutingConfig {
    fn problems(&self, problems: &mut Vec<String>) {
        let mut policy = |key: String, p: &FollowTheSunPolicy| {
            if let FollowTheSunPolicy::Regions(regions) = p {
                if regions.is_empty() {
                    problems.push(format!("{key}: an empty region list (use \"queue\")"));
                }
                for r in regions.iter().filter(|r| !is_code(r)) {
                    problems.push(format!("{key}: `{r}` is not a region code"));
                }
            }
        };
        policy(
            "routing.default_follow_the_sun".to_owned(),
            &self.default_follow_the_sun,
        );
        for (region, p) in &self.follow_the_sun {
            policy(format!("routing.follow_the_sun.{region}"), p);
        }
        for region in self.follow_the_sun.keys().filter(|r| !is_code(r)) {
            problems.push(format!(
                "routing.follow_the_sun: `{region}` is not a region code"
            ));
        }
        for (i, rule) in self.requirements.iter().enumerate() {
            let key = format!("routing.requirements[{i}]");
            if rule.certifications.is_empty() && rule.skills.is_empty() {
                problems.push(format!("{key}: names no certification and no skill"));
            }
            for c in rule.certifications.iter().filter(|c| !is_code(c)) {
                problems.push(format!("{key}.certifications: `{c}` is not a code"));
            }
            if let Some(line) = rule.product_line.as_deref().filter(|l| l.trim().is_empty()) {
                problems.push(format!("{key}.product_line: `{line}` is empty"));
            }
            for s in &rule.skills {
                let id = s.skill.strip_prefix("skills/").unwrap_or("");
                if uuid::Uuid::parse_str(id).is_err() {
                    problems.push(format!("{key}.skills: `{}` is not skills/{{id}}", s.skill));
                }
                if !(1..=5).contains(&s.min_level) {
                    problems.push(format!("{key}.skills: min_level must be 1 to 5"));
                }
            }
        }
    }
}

/// Each service's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServicesConfig {
    /// The tickets service.
    pub tickets: ServiceConfig,
    /// The customers service.
    pub customers: ServiceConfig,
    /// The workforce service.
    pub workforce: ServiceConfig,
    /// The feedback service.
    pub feedback: ServiceConfig,
    /// The knowledge service.
    pub knowledge: ServiceConfig,
}

impl Default for ServicesConfig {
    fn default() -> Self {
        let at = |port| ServiceConfig::listening_on(SocketAddr::from(([127, 0, 0, 1], port)));
        Self {
            tickets: at(50061),
            customers: at(50062),
            workforce: at(50063),
            feedback: at(50064),
            knowledge: at(50065),
        }
    }
}

impl ServicesConfig {
    /// The settings of the service called `name`.
    pub fn get(&self, name: &str) -> Option<&ServiceConfig> {
        match name {
            "tickets" => Some(&self.tickets),
            "customers" => Some(&self.customers),
            "workforce" => Some(&self.workforce),
            "feedback" => Some(&self.feedback),
            "knowledge" => Some(&self.knowledge),
            _ => None,
        }
    }

    /// The settings of the service called `name`, to change.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut ServiceConfig> {
        match name {
            "tickets" => Some(&mut self.tickets),
            "customers" => Some(&mut self.customers),
            "workforce" => Some(&mut self.workforce),
            "feedback" => Some(&mut self.feedback),
            "knowledge" => Some(&mut self.knowledge),
            _ => None,
        }
    }

    /// Every service, by name.
    pub fn all(&self) -> [(&'static str, &ServiceConfig); 5] {
        [
            ("tickets", &self.tickets),
            ("customers", &self.customers),
            ("workforce", &self.workforce),
            ("feedback", &self.feedback),
            ("knowledge", &self.knowledge),
        ]
    }
}

/// One service's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceConfig {
    /// Where the service's gRPC server listens.
    pub listen: SocketAddr,
    /// How other services reach it (`http://tickets:50061` in a cluster);
    /// defaults to `http://` + `listen`.
    pub endpoint: Option<String>,
    /// Its database; defaults to `sqlite://<data_dir>/<service>.db`.
    pub database_url: Option<Secret>,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self::listening_on(SocketAddr::from(([127, 0, 0, 1], 0)))
    }
}

impl ServiceConfig {
    fn listening_on(listen: SocketAddr) -> Self {
        Self {
            listen,
            endpoint: None,
            database_url: None,
        }
    }

    /// The URL other services call it on.
    pub fn endpoint(&self) -> String {
        self.endpoint.clone().unwrap_or_else(|| {
            let host = if self.listen.ip().is_unspecified() {
                "127.0.0.1".to_owned()
            } else {
                self.listen.ip().to_string()
            };
            format!("http://{host}:{}", self.listen.port())
        })
    }
}

impl Config {
    /// Loads the configuration: defaults, then `file` (or the file named by `AFTERCARE_CONFIG`)
    /// when given, then `AFTERCARE_*` environment variables; then validates it.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let env_file = std::env::var_os(CONFIG_FILE_ENV).map(PathBuf::from);
        let file = file.map(Path::to_path_buf).or(env_file);
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = &file {
            if !path.is_file() {
                return Err(ConfigError(format!(
                    "configuration file {} does not exist",
                    path.display()
                )));
            }
            figment = figment.merge(Toml::file(path));
        }
        if let Ok(endpoint) = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
            && !endpoint.is_empty()
        {
            figment = figment.merge(Serialized::default("telemetry.otlp_endpoint", endpoint));
        }
        figment = figment.merge(
            Env::prefixed(ENV_PREFIX)
                .split("__")
                .filter(|key| !is_reserved_env(key.as_str())),
        );
        let config: Config = figment
            .extract()
            .map_err(|err| ConfigError(describe(err)))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what types alone cannot: distinct ports, non-zero limits, known URL schemes.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut problems = Vec::new();
        let mut seen = BTreeSet::new();
        let listeners = std::iter::once(("gateway.listen".to_owned(), self.gateway.listen)).chain(
            self.services
                .all()
                .into_iter()
                .map(|(name, service)| (format!("services.{name}.listen"), service.listen)),
        );
        for (key, addr) in listeners {
            if addr.port() != 0 && !seen.insert(addr) {
                problems.push(format!("{key}: address {addr} is used twice"));
            }
        }
        for (name, service) in self.services.all() {
            if let Some(url) = &service.database_url
                && let Err(err) = crate::db::Backend::from_url(url.expose())
            {
                problems.push(format!("services.{name}.database_url: {err}"));
            }
            if let Some(endpoint) = &service.endpoint
                && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
            {
                problems.push(format!(
                    "services.{name}.endpoint: `{endpoint}` must start with http:// or https://"
                ));
            }
        }
        if self.server.max_message_bytes < 1024 {
            problems.push("server.max_message_bytes: must be at least 1024".to_owned());
        }
        if self.server.concurrency_limit == 0 {
            problems.push("server.concurrency_limit: must be at least 1".to_owned());
        }
        if self.server.request_timeout.is_zero() {
            problems.push("server.request_timeout: must be more than zero".to_owned());
        }
        if self.database.max_connections == 0 {
            problems.push("database.max_connections: must be at least 1".to_owned());
        }
        if let Some(secret) = &self.auth.principal_secret
            && secret.expose().len() < 32
        {
            problems.push("auth.principal_secret: must be at least 32 characters".to_owned());
        }
        if self.events.retention < Duration::from_secs(60) {
            problems.push("events.retention: must be at least 1m".to_owned());
        }
        if self.events.relay_batch == 0 {
            problems.push("events.relay_batch: must be at least 1".to_owned());
        }
        if !(1..=5).contains(&self.events.stream_replicas) {
            problems.push("events.stream_replicas: must be from 1 to 5".to_owned());
        }
        if self.events.ack_wait < Duration::from_secs(1) {
            problems.push("events.ack_wait: must be at least 1s".to_owned());
        }
        let nats_url = self.events.nats_url.expose();
        if !(nats_url.starts_with("nats://") || nats_url.starts_with("tls://")) {
            problems.push(format!(
                "events.nats_url: `{}` must start with nats:// or tls://",
                self.events.nats_url.redacted()
            ));
        }
        self.routing.problems(&mut problems);
        self.feedback.problems(&mut problems);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError(problems.join("\n")))
        }
    }

    /// The database URL of the service called `name`.
    pub fn database_url(&self, name: &str) -> Option<Secret> {
        let service = self.services.get(name)?;
        Some(service.database_url.clone().unwrap_or_else(|| {
            Secret::new(format!(
                "sqlite://{}",
                self.data_dir.join(format!("{name}.db")).display()
            ))
        }))
    }
}

/// `AFTERCARE_*` variables that are not configuration keys: the configuration file's path and
/// the test harness's settings (`AFTERCARE_REQUIRE_SERVICES`, `AFTERCARE_TEST_*`).
fn is_reserved_env(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key == "config" || key == "require_services" || key.starts_with("test_")
}

/// What is wrong with the configuration; the message names the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(String);

fn describe(error: figment::Error) -> String {
    error
        .into_iter()
        .map(|err| {
            let key = err.path.join(".");
            let origin = err
                .metadata
                .as_ref()
                .map(|meta| {
                    let source = err
                        .metadata
                        .as_ref()
                        .and_then(|m| m.source.as_ref())
                        .map(|s| format!(" ({s})"))
                        .unwrap_or_default();
                    format!(" from {}{source}", meta.name)
                })
                .unwrap_or_default();
            if key.is_empty() {
                format!("{}{origin}", err.kind)
            } else {
                format!("key `{key}`: {}{origin}", err.kind)
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A value that must not be printed (a database URL with a password, a signing key). It
/// never prints, in `Debug`, in errors or when serialised (`aftercare config`): a URL shows
/// with its password, token and password parameters replaced by `***`; anything else is
/// `***`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What may be shown of it: a URL without its credentials, or `***`.
    pub fn redacted(&self) -> String {
        if self.0.contains("://") {
            crate::db::redact(&self.0)
        } else {
            "***".to_owned()
        }
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.redacted())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment's Jail closures return its (large) error type
mod tests {
    use super::*;
    use figment::Jail;

    #[test]
    fn defaults_run_everything_on_one_machine() {
        Jail::expect_with(|_| {
            let config = Config::load(None).expect("defaults load");
            assert_eq!(config.gateway.listen.port(), 50051);
            assert_eq!(config.services.tickets.listen.port(), 50061);
            assert_eq!(config.services.tickets.endpoint(), "http://127.0.0.1:50061");
            assert_eq!(
                config.database_url("tickets").unwrap().expose(),
                "sqlite://data/tickets.db"
            );
            assert_eq!(config.events.bus, BusKind::InProcess);
            Ok(())
        });
    }

    #[test]
    fn file_then_environment_override_defaults() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "aftercare.toml",
                r#"
                data_dir = "/var/lib/aftercare"
                [services.tickets]
                listen = "0.0.0.0:7000"
                [server]
                request_timeout = "5s"
                "#,
            )?;
            jail.set_env("AFTERCARE_SERVICES__TICKETS__LISTEN", "0.0.0.0:7001");
            jail.set_env("AFTERCARE_EVENTS__BUS", "nats");
            let config = Config::load(Some(Path::new("aftercare.toml"))).expect("loads");
            assert_eq!(config.services.tickets.listen.port(), 7001);
            assert_eq!(config.server.request_timeout, Duration::from_secs(5));
            assert_eq!(config.events.bus, BusKind::Nats);
            assert_eq!(
                config.database_url("customers").unwrap().expose(),
                "sqlite:///var/lib/aftercare/customers.db"
            );
            Ok(())
        });
    }

    #[test]
    fn the_streams_copies_and_the_ack_wait_come_from_the_environment_and_are_bounded() {
        Jail::expect_with(|jail| {
            let config = Config::load(None).expect("defaults load");
            assert_eq!(config.events.stream_replicas, 1);
            assert_eq!(config.events.ack_wait, Duration::from_secs(30));
            jail.set_env("AFTERCARE_EVENTS__STREAM_REPLICAS", "3");
            jail.set_env("AFTERCARE_EVENTS__ACK_WAIT", "5s");
            let config = Config::load(None).expect("loads");
            assert_eq!(config.events.stream_replicas, 3);
            assert_eq!(config.events.ack_wait, Duration::from_secs(5));
            let settings = crate::events::JetStreamSettings::from_config(&config.events);
            assert_eq!(
                (settings.replicas, settings.ack_wait),
                (3, Duration::from_secs(5))
            );
            jail.set_env("AFTERCARE_EVENTS__STREAM_REPLICAS", "7");
            jail.set_env("AFTERCARE_EVENTS__ACK_WAIT", "10ms");
            let err = Config::load(None).unwrap_err().to_string();
            assert!(err.contains("events.stream_replicas"), "{err}");
            assert!(err.contains("events.ack_wait"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn routing_policies_and_requirements_load_from_the_file_and_bad_ones_are_named() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "aftercare.toml",
                r#"
                [routing]
                default_follow_the_sun = "queue"
                [routing.follow_the_sun]
                eu-west = ["us-east", "cn-east"]
                cn-east = "any"
                [[routing.requirements]]
                kind = "AFTER_SALES"
                product_line = "washing-machines"
                certifications = ["washer-repair-l2"]
                skills = [{ skill = "skills/0192f0c4-0000-7000-8000-000000000001", min_level = 3 }]
                "#,
            )?;
            let config = Config::load(Some(Path::new("aftercare.toml"))).expect("loads");
            let routing = &config.routing;
            assert_eq!(
                routing.default_follow_the_sun,
                FollowTheSunPolicy::Mode(FollowTheSunMode::Queue)
            );
            assert_eq!(
                routing.follow_the_sun["eu-west"],
                FollowTheSunPolicy::Regions(vec!["us-east".into(), "cn-east".into()])
            );
            assert_eq!(
                routing.follow_the_sun["cn-east"],
                FollowTheSunPolicy::Mode(FollowTheSunMode::Any)
            );
            assert_eq!(routing.requirements[0].certifications, ["washer-repair-l2"]);
            assert_eq!(routing.requirements[0].skills[0].min_level, 3);
            jail.create_file(
                "bad.toml",
                r#"
                [routing.follow_the_sun]
                eu-west = []
                "EU West" = "queue"
                [[routing.requirements]]
                kind = "AFTER_SALES"
                [[routing.requirements]]
                certifications = ["Washer Repair"]
                skills = [{ skill = "washers", min_level = 9 }]
                "#,
            )?;
            let err = Config::load(Some(Path::new("bad.toml")))
                .unwrap_err()
                .to_string();
            for expected in [
                "routing.follow_the_sun.eu-west: an empty region list",
                "routing.follow_the_sun: `EU West` is not a region code",
                "routing.requirements[0]: names no certification and no skill",
                "routing.requirements[1].certifications: `Washer Repair` is not a code",
                "routing.requirements[1].skills: `washers` is not skills/{id}",
                "routing.requirements[1].skills: min_level must be 1 to 5",
            ] {
                assert!(err.contains(expected), "{expected} in {err}");
            }
            Ok(())
        });
    }

    #[test]
    fn the_feedback_loop_loads_from_the_file_and_bad_values_are_named() {
        Jail::expect_with(|jail| {
            assert_eq!(
                Config::load(None).expect("defaults load").feedback,
                FeedbackConfig::default()
            );
            jail.create_file(
                "aftercare.toml",
                r#"
                [feedback]
                csat_detractor_max = 3
                follow_up_within = "8h"
                quiet_period = "30d"
                [feedback.business_hours]
                time_zone = "Asia/Shanghai"
                holidays = ["2027-01-01"]
                [feedback.business_hours.weekly]
                mon = ["09:00-12:00", "13:00-18:00"]
                fri = ["09:00-18:00"]
                "#,
            )?;
            let config = Config::load(Some(Path::new("aftercare.toml"))).expect("loads");
            let feedback = &config.feedback;
            assert_eq!(feedback.csat_detractor_max, 3);
            assert_eq!(feedback.nps_detractor_max, 6);
            assert_eq!(feedback.follow_up_within, Duration::from_secs(8 * 3600));
            assert_eq!(feedback.quiet_period, Duration::from_secs(30 * 86_400));
            let hours = feedback.business_hours.as_ref().expect("hours");
            assert!(hours.calendar("feedback.business_hours").is_ok());
            jail.create_file(
                "bad.toml",
                r#"
                [feedback]
                csat_detractor_max = 6
                ces_detractor_min = 0
                follow_up_within = "1s"
                [feedback.business_hours]
                time_zone = "Mars/Olympus"
                holidays = ["1 May"]
                [feedback.business_hours.weekly]
                mon = ["09:00-12:00", "11:00-18:00"]
                tue = ["18:00-09:00"]
                funday = ["09:00-10:00"]
                "#,
            )?;
            let err = Config::load(Some(Path::new("bad.toml")))
                .unwrap_err()
                .to_string();
            for expected in [
                "feedback.csat_detractor_max: must be from 1 to 5",
                "feedback.ces_detractor_min: must be from 1 to 7",
                "feedback.follow_up_within: must be at least 1m",
                "feedback.business_hours.time_zone: `Mars/Olympus` is not an IANA time zone",
                "feedback.business_hours.weekly.mon: intervals overlap",
                "feedback.business_hours.weekly.tue: `18:00-09:00`: end must be after start",
                "feedback.business_hours.weekly: `funday` is not one of mon",
                "feedback.business_hours.holidays: `1 May` is not YYYY-MM-DD",
            ] {
                assert!(err.contains(expected), "{expected} in {err}");
            }
            Ok(())
        });
    }

    #[test]
    fn a_malformed_value_names_its_key() {
        Jail::expect_with(|jail| {
            jail.set_env("AFTERCARE_SERVICES__TICKETS__LISTEN", "not-an-address");
            let err = Config::load(None).unwrap_err().to_string();
            assert!(err.contains("services.tickets.listen"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn an_unknown_key_is_refused_by_name() {
        Jail::expect_with(|jail| {
            jail.set_env("AFTERCARE_SERVER__MAX_MESAGE_BYTES", "10");
            let err = Config::load(None).unwrap_err().to_string();
            assert!(err.contains("max_mesage_bytes"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn conflicting_ports_and_bad_urls_are_refused() {
        Jail::expect_with(|jail| {
            jail.set_env("AFTERCARE_SERVICES__CUSTOMERS__LISTEN", "127.0.0.1:50061");
            jail.set_env("AFTERCARE_SERVICES__FEEDBACK__DATABASE_URL", "mysql://x");
            let err = Config::load(None).unwrap_err().to_string();
            assert!(err.contains("services.customers.listen"), "{err}");
            assert!(err.contains("services.feedback.database_url"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn harness_variables_are_not_configuration_keys() {
        Jail::expect_with(|jail| {
            jail.set_env("AFTERCARE_REQUIRE_SERVICES", "1");
            jail.set_env("AFTERCARE_TEST_NATS_URL", "nats://127.0.0.1:4222");
            Config::load(None).expect("harness variables are ignored");
            Ok(())
        });
    }

    #[test]
    fn secrets_do_not_print() {
        let secret = Secret::new("postgres://u:pw@h/db");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
    }
}
