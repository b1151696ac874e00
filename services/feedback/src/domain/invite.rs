//! Invitations: their tokens, and the invitation a resolved ticket gets.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::records::Invitation;
use super::survey::{Survey, Target};
use super::values::{Actor, Channel, InvitationStatus, TicketKind, pick_language};

/// An invitation's secret: 256 random bits, 43 URL-safe characters. Only its hash is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

impl Token {
    /// A new random token.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).expect("the operating system's random generator");
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// A token as the customer sent it, if it has the right shape.
    pub fn parse(text: &str) -> Option<Self> {
        (text.len() == 43
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .then(|| Self(text.to_owned()))
    }

    /// The token's text (returned once, to whoever delivers it).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The stored form: SHA-256, hex.
    pub fn hash(&self) -> String {
        Sha256::digest(self.0.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The link the customer answers with: the survey `portal` (`…#token=`) and the token.
    pub fn survey_uri(&self, portal: &str) -> String {
        format!("{portal}{}", self.0)
    }
}

/// What a notifier needs to deliver an invitation the service made by itself (nobody else
/// ever sees its token): the title to show and the link with the token.
#[derive(Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The survey's title in the invitation's language.
    pub title: String,
    /// The portal link with the token.
    pub survey_uri: String,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("title", &self.title)
            .field("survey_uri", &"…")
            .finish()
    }
}

impl Delivery {
    /// The delivery of `invitation` to `survey` with `token`, linked from `portal`.
    pub fn of(survey: &Survey, invitation: &Invitation, token: &Token, portal: &str) -> Self {
        let titles = &survey.content.titles;
        let title = titles
            .get(&invitation.language)
            .or_else(|| titles.get(&survey.content.default_language))
            .cloned()
            .unwrap_or_default();
        Self {
            title,
            survey_uri: token.survey_uri(portal),
        }
    }
}

/// What a resolved ticket says about the invitation it may get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// `tickets/{id}`.
    pub ticket: String,
    /// `customers/{id}`.
    pub customer: String,
    /// The ticket's (intake) channel.
    pub channel: Option<Channel>,
    /// The ticket's kind.
    pub kind: Option<TicketKind>,
    /// Region, team, agent.
    pub region: String,
    /// Team.
    pub team: String,
    /// Agent.
    pub agent: String,
    /// The conversation language.
    pub language: String,
    /// The customer's preferred language as the customers service last reported it (empty
    /// when unknown).
    pub customer_locale: String,
    /// When it was resolved.
    pub resolve_time: i64,
}

/// Why a resolution gets no invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// No customer on the ticket.
    NoCustomer,
    /// Invited within the survey's cooldown or the quiet period.
    Quiet,
    /// Survey consent withdrawn on the channel.
    NoConsent,
}

impl Resolution {
    /// What the ticket offers surveys' targeting.
    pub fn target(&self) -> Target<'_> {
        Target {
            region: &self.region,
            kind: self.kind,
            channel: self.channel,
        }
    }
}

/// The language of an invitation to `survey`: the customer's preferred language when the
/// survey has it (exactly or by its primary language), else the first of `others` it has
/// (the ticket's conversation language), else the survey's default language.
pub fn invitation_language(survey: &Survey, customer_locale: &str, others: &[&str]) -> String {
    let languages = survey.content.languages();
    let default = survey.content.default_language.as_str();
    std::iter::once(customer_locale)
        .chain(others.iter().copied())
        .filter(|wanted| !wanted.is_empty())
        .map(|wanted| pick_language(wanted, &languages, ""))
        .find(|picked| !picked.is_empty())
        .unwrap_or(default)
        .to_owned()
}

/// The channel a survey's invitation goes out on: the survey's, else the ticket's, with
/// `API` (which cannot carry a link to the customer) falling back to email.
pub fn channel_for(survey: &Survey, ticket_channel: Option<Channel>) -> Channel {
    match survey.channel.or(ticket_channel) {
        None | Some(Channel::Api) => Channel::Email,
        Some(channel) => channel,
    }
}

/// Whether an invitation created at `last` is within `period` of `now`.
pub fn within(last: Option<i64>, period: i64, now: i64) -> bool {
    period > 0 && last.is_some_and(|t| now - t < period)
}

/// The invitation to `survey` for `resolution`, made at `now`: sent at once unless the
/// survey delays it.
pub fn for_resolution(
    survey: &Survey,
    resolution: &Resolution,
    channel: Channel,
    now: i64,
) -> Invitation {
    let language = invitation_language(
        survey,
        &resolution.customer_locale,
        &[resolution.language.as_str()],
    );
    let schedule = resolution.resolve_time.max(0) + survey.send_delay;
    new_invitation(
        survey,
        NewInvitation {
            customer: resolution.customer.clone(),
            ticket: resolution.ticket.clone(),
            channel,
            language,
            follow_up: String::new(),
            schedule_time: schedule,
            region: resolution.region.clone(),
            team: resolution.team.clone(),
            agent: resolution.agent.clone(),
            creator: Actor::system(),
        },
        now,
    )
}

/// What a new invitation is made of.
#[derive(Debug, Clone)]
pub struct NewInvitation {
    /// Customer.
    pub customer: String,
    /// Ticket or empty.
    pub ticket: String,
    /// Channel.
    pub channel: Channel,
    /// Language.
    pub language: String,
    /// Follow-up re-surveyed, or empty.
    pub follow_up: String,
    /// When to send.
    pub schedule_time: i64,
    /// Region.
    pub region: String,
    /// Team.
    pub team: String,
    /// Agent.
    pub agent: String,
    /// Creator.
    pub creator: Actor,
}

/// An invitation to `survey` at its current version; sent now when `schedule_time` has come.
pub fn new_invitation(survey: &Survey, new: NewInvitation, now: i64) -> Invitation {
    let sent = new.schedule_time <= now;
    Invitation {
        id: Uuid::now_v7(),
        survey_id: survey.id,
        survey_version: survey.version,
        customer: new.customer,
        ticket: new.ticket,
        channel: new.channel,
        language: new.language,
        follow_up: new.follow_up,
        status: if sent {
            InvitationStatus::Sent
        } else {
            InvitationStatus::Pending
        },
        schedule_time: new.schedule_time.max(now.min(new.schedule_time)),
        send_time: sent.then_some(now),
        expire_time: sent.then_some(now + survey.content.invitation_ttl),
        answer_time: None,
        response_id: String::new(),
        region: new.region,
        team: new.team,
        agent: new.agent,
        creator: new.creator,
        version: 1,
        create_time: now,
        update_time: now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::survey::{DEFAULT_TTL, SurveyContent};
    use crate::domain::values::Trigger;
    use std::collections::BTreeMap;

    fn survey() -> Survey {
        Survey {
            id: Uuid::now_v7(),
            version: 3,
            content: SurveyContent {
                titles: BTreeMap::from([
                    ("en".into(), "t".into()),
                    ("zh-CN".into(), "标题".into()),
                ]),
                default_language: "en".into(),
                questions: Vec::new(),
                invitation_ttl: DEFAULT_TTL,
            },
            trigger: Trigger::TicketResolved,
            channel: None,
            send_delay: 0,
            customer_cooldown: 0,
            regions: Vec::new(),
            ticket_kinds: Vec::new(),
            ticket_channels: Vec::new(),
            enabled: true,
            creator: Actor::system(),
            create_time: 0,
            update_time: 0,
        }
    }

    #[test]
    fn tokens_are_256_bits_url_safe_and_stored_hashed() {
        let a = Token::generate();
        let b = Token::generate();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 43);
        assert_eq!(Token::parse(a.as_str()), Some(a.clone()));
        assert_eq!(a.hash().len(), 64);
        assert_ne!(a.hash(), a.as_str());
        assert_eq!(Token::parse("short"), None);
        assert_eq!(format!("{a:?}"), "Token(…)");
    }

    #[test]
    fn a_resolution_invites_in_the_customers_language_on_the_tickets_channel() {
        let s = survey();
        let r = Resolution {
            ticket: "tickets/1".into(),
            customer: "customers/1".into(),
            channel: Some(Channel::Chat),
            kind: Some(TicketKind::AfterSales),
            region: "cn-east".into(),
            team: String::new(),
            agent: String::new(),
            language: "zh-CN".into(),
            customer_locale: String::new(),
            resolve_time: 100,
        };
        let channel = channel_for(&s, r.channel);
        assert_eq!(channel, Channel::Chat);
        let invitation = for_resolution(&s, &r, channel, 100);
        assert_eq!(invitation.language, "zh-CN");
        assert_eq!(invitation.status, InvitationStatus::Sent);
        assert_eq!(invitation.expire_time, Some(100 + DEFAULT_TTL));
        assert_eq!(invitation.survey_version, 3);
        assert_eq!(channel_for(&s, Some(Channel::Api)), Channel::Email);
        let delayed = Survey {
            send_delay: 50,
            ..s
        };
        let later = for_resolution(&delayed, &r, channel, 100);
        assert_eq!(later.status, InvitationStatus::Pending);
        assert_eq!(later.schedule_time, 150);
    }

    #[test]
    fn the_customers_locale_wins_then_the_tickets_language_then_the_default() {
        let s = survey();
        // The customer prefers Chinese though the ticket was written in English.
        assert_eq!(invitation_language(&s, "zh-CN", &["en"]), "zh-CN");
        // A regional variant the survey lacks falls back to its primary language.
        assert_eq!(invitation_language(&s, "zh-TW", &["en"]), "zh-CN");
        assert_eq!(invitation_language(&s, "EN-gb", &["zh-CN"]), "en");
        // A locale the survey does not have: the ticket's language, then the default.
        assert_eq!(invitation_language(&s, "fr-FR", &["zh-CN"]), "zh-CN");
        assert_eq!(invitation_language(&s, "fr-FR", &["de"]), "en");
        assert_eq!(invitation_language(&s, "", &[""]), "en");
        let token = Token::generate();
        assert_eq!(
            token.survey_uri("https://portal/survey#token="),
            format!("https://portal/survey#token={}", token.as_str())
        );
    }

    #[test]
    fn quiet_periods() {
        assert!(within(Some(90), 20, 100));
        assert!(!within(Some(70), 20, 100));
        assert!(!within(None, 20, 100));
        assert!(!within(Some(99), 0, 100));
    }
}
