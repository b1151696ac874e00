//! End-to-end journeys: every service and the gateway in one process (the sandbox), driven
//! only through the gateway with real tokens, on SQLite and PostgreSQL.

#[path = "journeys/after_sales.rs"]
mod after_sales;
#[path = "journeys/workforce.rs"]
mod workforce;

use std::collections::HashMap;
use std::time::Duration;

use aftercare_journeys::{Databases, Sandbox};
use aftercare_platform::auth::Role;
use aftercare_platform::events::decode_payload;
use aftercare_platform::testing::poll_until;
use aftercare_proto::aftercare::common::v1::{Channel as IntakeChannel, ChannelIdentity};
use aftercare_proto::aftercare::customers::v1 as cu;
use aftercare_proto::aftercare::events::v1 as ev;
use aftercare_proto::aftercare::feedback::v1 as fb;
use aftercare_proto::aftercare::knowledge::v1 as kb;
use aftercare_proto::aftercare::tickets::v1 as tk;
use cu::customer_service_client::CustomerServiceClient;
use fb::feedback_service_client::FeedbackServiceClient;
use kb::knowledge_service_client::KnowledgeServiceClient;
use tk::sla_service_client::SlaServiceClient;
use tk::ticket_service_client::TicketServiceClient;
use tonic::transport::Channel;

/// How long an asynchronous effect (an event between services, an index refresh) may take.
const EVENTUALLY: Duration = Duration::from_secs(10);

fn knowledge(channel: &Channel) -> KnowledgeServiceClient<Channel> {
    KnowledgeServiceClient::new(channel.clone())
}

async fn search(channel: &Channel, token: &str, query: &str) -> kb::SearchArticlesResponse {
    knowledge(channel)
        .search_articles(Sandbox::request(
            token,
            kb::SearchArticlesRequest {
                query: query.into(),
                ..Default::default()
            },
        ))
        .await
        .expect("search through the gateway")
        .into_inner()
}

async fn open_gaps(channel: &Channel, token: &str) -> Vec<kb::ContentGap> {
    knowledge(channel)
        .list_content_gaps(Sandbox::request(
            token,
            kb::ListContentGapsRequest {
                filter: "state = OPEN".into(),
                ..Default::default()
            },
        ))
        .await
        .expect("list the open gaps")
        .into_inner()
        .content_gaps
}

/// Self-service: a search that finds nothing becomes a content gap; an agent writes the
/// article, a lead approves it, an admin publishes it, the gap is resolved with it, and the
/// customer's next search finds it. A customer never finds the draft.
async fn self_service(databases: Databases) {
    let Some(sandbox) = Sandbox::start(databases).await else {
        return;
    };
    let channel = sandbox.channel().await;
    let customer = sandbox.token("customers/c-self", Role::Customer, Some("eu-west"));
    let agent = sandbox.token("agents/author", Role::Agent, Some("eu-west"));
    let lead = sandbox.token("agents/lead", Role::Lead, Some("eu-west"));
    let admin = sandbox.token("agents/admin", Role::Admin, Some("eu-west"));
    let query = "dishwasher drain pump humming";

    let first = search(&channel, &customer, query).await;
    assert!(first.hits.is_empty(), "{first:?}");
    assert!(first.content_gap.starts_with("contentGaps/"), "{first:?}");
    let gaps = open_gaps(&channel, &lead).await;
    let gap = gaps
        .iter()
        .find(|g| g.name == first.content_gap)
        .expect("the gap is open")
        .clone();
    assert_eq!(gap.normalized_query, query);
    assert_eq!(gap.search_count, 1);
    assert_eq!(
        open_gaps(&channel, &admin)
            .await
            .iter()
            .map(|g| g.name.clone())
            .collect::<Vec<_>>(),
        std::slice::from_ref(&gap.name)
    );

    let draft = knowledge(&channel)
        .create_article(Sandbox::request(
            &agent,
            kb::CreateArticleRequest {
                article: Some(kb::Article {
                    kind: kb::ArticleKind::TroubleshootingGuide as i32,
                    visibility: kb::ArticleVisibility::Public as i32,
                    ..Default::default()
                }),
                initial_version: Some(kb::ArticleVersion {
                    language: "en".into(),
                    title: "Dishwasher drain pump humming".into(),
                    body: "A humming drain pump is blocked: clean the filter and the pump \
                           impeller, then run a rinse cycle."
                        .into(),
                    ..Default::default()
                }),
                request_id: uuid::Uuid::now_v7().to_string(),
            },
        ))
        .await
        .expect("an agent writes a draft")
        .into_inner()
        .article
        .expect("an article");
    // A customer never finds a draft (nor a draft under review or approved).
    let unseen = search(&channel, &customer, query).await;
    assert!(
        unseen.hits.iter().all(|h| h.article != draft.name),
        "{unseen:?}"
    );
    for preview in [false, true] {
        let hidden = knowledge(&channel)
            .view_article(Sandbox::request(
                &customer,
                kb::ViewArticleRequest {
                    name: draft.name.clone(),
                    language: String::new(),
                    preview,
                },
            ))
            .await
            .expect_err("a customer cannot read a draft");
        // Not live: NOT_FOUND; a preview is for staff only.
        let expected = if preview {
            tonic::Code::PermissionDenied
        } else {
            tonic::Code::NotFound
        };
        assert_eq!(hidden.code(), expected, "{hidden:?}");
    }
    let submitted = knowledge(&channel)
        .submit_article_for_review(Sandbox::request(
            &agent,
            kb::SubmitArticleForReviewRequest {
                name: draft.name.clone(),
                etag: draft.etag.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect("the author submits it")
        .into_inner()
        .article
        .expect("an article");
    let refused = knowledge(&channel)
        .publish_article(Sandbox::request(
            &lead,
            kb::PublishArticleRequest {
                name: submitted.name.clone(),
                etag: submitted.etag.clone(),
            },
        ))
        .await
        .expect_err("a lead does not publish");
    assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused:?}");
    let approved = knowledge(&channel)
        .approve_article(Sandbox::request(
            &lead,
            kb::ApproveArticleRequest {
                name: submitted.name.clone(),
                etag: submitted.etag.clone(),
                comment: "Clear and correct.".into(),
            },
        ))
        .await
        .expect("a lead approves it")
        .into_inner()
        .article
        .expect("an article");
    let unseen = search(&channel, &customer, query).await;
    assert!(
        unseen.hits.iter().all(|h| h.article != draft.name),
        "{unseen:?}"
    );
    let published = knowledge(&channel)
        .publish_article(Sandbox::request(
            &admin,
            kb::PublishArticleRequest {
                name: approved.name.clone(),
                etag: approved.etag.clone(),
            },
        ))
        .await
        .expect("an admin publishes it")
        .into_inner()
        .article
        .expect("an article");
    assert_eq!(published.state, kb::ArticleState::Published as i32);

    let gap = open_gaps(&channel, &lead)
        .await
        .into_iter()
        .find(|g| g.name == gap.name)
        .expect("the gap is still open");
    let resolved = knowledge(&channel)
        .resolve_content_gap(Sandbox::request(
            &agent,
            kb::ResolveContentGapRequest {
                name: gap.name.clone(),
                etag: gap.etag.clone(),
                article: published.name.clone(),
                note: "Written for this gap.".into(),
            },
        ))
        .await
        .expect("the gap is resolved")
        .into_inner()
        .content_gap
        .expect("a gap");
    assert_eq!(resolved.state, kb::ContentGapState::Resolved as i32);
    assert_eq!(resolved.resolving_article, published.name);
    assert!(
        open_gaps(&channel, &lead)
            .await
            .iter()
            .all(|g| g.name != gap.name)
    );

    let found = poll_until(
        "the published article in the customer's search",
        EVENTUALLY,
        || {
            let (channel, customer) = (channel.clone(), customer.clone());
            let article = published.name.clone();
            async move {
                let found = search(&channel, &customer, query).await;
                found
                    .hits
                    .first()
                    .is_some_and(|h| h.article == article)
                    .then_some(found)
            }
        },
    )
    .await;
    assert!(found.content_gap.is_empty(), "{found:?}");
    assert!(
        open_gaps(&channel, &lead)
            .await
            .iter()
            .all(|g| g.name != gap.name)
    );

    // Deflection: a ticket written about the same problem comes back with the article.
    let opened = tickets(&channel)
        .create_ticket(Sandbox::request(
            &agent,
            tk::CreateTicketRequest {
                ticket: Some(tk::Ticket {
                    customer_identity: Some(ChannelIdentity {
                        channel: IntakeChannel::Email as i32,
                        handle: "drain.pump@example.com".into(),
                        ..Default::default()
                    }),
                    subject: "Dishwasher drain pump humming".into(),
                    description: "The drain pump of my dishwasher keeps humming after the cycle."
                        .into(),
                    region: "eu-west".into(),
                    ..Default::default()
                }),
                max_suggestions: 3,
                ..Default::default()
            },
        ))
        .await
        .expect("the ticket is opened")
        .into_inner();
    assert!(
        opened
            .suggested_articles
            .iter()
            .any(|s| s.article == published.name),
        "the article is suggested: {:?}",
        opened.suggested_articles
    );
    sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_service_on_sqlite() {
    self_service(Databases::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_service_on_postgres() {
    self_service(Databases::Postgres).await;
}

fn tickets(channel: &Channel) -> TicketServiceClient<Channel> {
    TicketServiceClient::new(channel.clone())
}

fn customers(channel: &Channel) -> CustomerServiceClient<Channel> {
    CustomerServiceClient::new(channel.clone())
}

async fn get_ticket(channel: &Channel, token: &str, name: &str) -> tk::Ticket {
    tickets(channel)
        .get_ticket(Sandbox::request(
            token,
            tk::GetTicketRequest { name: name.into() },
        ))
        .await
        .expect("get the ticket")
        .into_inner()
        .ticket
        .expect("a ticket")
}

async fn get_customer(channel: &Channel, token: &str, name: &str) -> cu::Customer {
    customers(channel)
        .get_customer(Sandbox::request(
            token,
            cu::GetCustomerRequest {
                name: name.into(),
                ..Default::default()
            },
        ))
        .await
        .expect("get the customer")
        .into_inner()
        .customer
        .expect("a customer")
}

/// The personal strings of `text` (a message's debug form) among `personal`.
fn leaks(text: &str, personal: &[&str]) -> Vec<String> {
    personal
        .iter()
        .filter(|p| text.contains(**p))
        .map(|p| (*p).to_owned())
        .collect()
}

/// Privacy: a customer with a ticket exports their data, an admin erases them, and no
/// service returns their name, email or phone afterwards.
async fn privacy(databases: Databases) {
    let Some(sandbox) = Sandbox::start(databases).await else {
        return;
    };
    let channel = sandbox.channel().await;
    let agent = sandbox.token("agents/privacy", Role::Agent, Some("eu-west"));
    let admin = sandbox.token("agents/dpo", Role::Admin, None);
    let (name, email, phone) = (
        "Annegret Vogelsang",
        "annegret.vogelsang@example.com",
        "+49 151 2345 6789",
    );
    let personal = [name, "Vogelsang", email, "2345 6789", "15123456789"];

    let created = tickets(&channel)
        .create_ticket(Sandbox::request(
            &agent,
            tk::CreateTicketRequest {
                ticket: Some(tk::Ticket {
                    customer_identity: Some(ChannelIdentity {
                        channel: IntakeChannel::Email as i32,
                        handle: email.into(),
                        ..Default::default()
                    }),
                    subject: "The dryer stops after ten minutes".into(),
                    description: "It stops mid-cycle and shows error E21.".into(),
                    region: "eu-west".into(),
                    ..Default::default()
                }),
                request_id: uuid::Uuid::now_v7().to_string(),
                customer_display_name: name.into(),
                ..Default::default()
            },
        ))
        .await
        .expect("an agent opens a ticket from an email")
        .into_inner();
    assert!(created.customer_created);
    let ticket = created.ticket.expect("a ticket");
    assert!(ticket.customer.starts_with("customers/"), "{ticket:?}");
    assert_eq!(ticket.customer_display_name, name);
    // Only leads and admins change a customer (the customers service's rule).
    customers(&channel)
        .add_identity(Sandbox::request(
            &admin,
            cu::AddIdentityRequest {
                parent: ticket.customer.clone(),
                identity: Some(cu::CustomerIdentity {
                    channel: IntakeChannel::Phone as i32,
                    handle: phone.into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
        ))
        .await
        .expect("an admin adds the phone number");

    // The customer exports their data: everything, with the ticket on the timeline.
    let customer = sandbox.token(&ticket.customer, Role::Customer, Some("eu-west"));
    let export = poll_until("the ticket on the customer's timeline", EVENTUALLY, || {
        let (channel, customer, name) =
            (channel.clone(), customer.clone(), ticket.customer.clone());
        let ticket = ticket.name.clone();
        async move {
            let export = customers(&channel)
                .export_customer_data(Sandbox::request(
                    &customer,
                    cu::ExportCustomerDataRequest { name },
                ))
                .await
                .expect("the customer exports their data")
                .into_inner();
            format!("{export:?}").contains(&ticket).then_some(export)
        }
    })
    .await;
    let exported = format!("{export:?}");
    assert_eq!(
        export.customer.as_ref().map(|c| c.display_name.as_str()),
        Some(name)
    );
    assert!(exported.contains(email), "{exported}");
    assert_eq!(export.identities.len(), 2, "{exported}");
    let other = sandbox.token("customers/someone-else", Role::Customer, Some("eu-west"));
    let denied = customers(&channel)
        .export_customer_data(Sandbox::request(
            &other,
            cu::ExportCustomerDataRequest {
                name: ticket.customer.clone(),
            },
        ))
        .await
        .expect_err("another customer cannot export them");
    assert!(
        matches!(
            denied.code(),
            tonic::Code::PermissionDenied | tonic::Code::NotFound
        ),
        "{denied:?}"
    );

    // An admin erases them; from here on the bus is watched.
    let published = sandbox.record_events().await;
    let record = get_customer(&channel, &admin, &ticket.customer).await;
    let erased = customers(&channel)
        .erase_customer(Sandbox::request(
            &admin,
            cu::EraseCustomerRequest {
                name: record.name.clone(),
                etag: record.etag.clone(),
                reason: "DSR-2026-0001".into(),
                request_id: uuid::Uuid::now_v7().to_string(),
            },
        ))
        .await
        .expect("an admin erases the customer")
        .into_inner();
    assert_eq!(erased.identities_removed, 2, "{erased:?}");
    let after = get_customer(&channel, &admin, &ticket.customer).await;
    assert!(after.erased, "{after:?}");
    assert_eq!(
        leaks(&format!("{after:?}"), &personal),
        Vec::<String>::new()
    );
    let export = customers(&channel)
        .export_customer_data(Sandbox::request(
            &admin,
            cu::ExportCustomerDataRequest {
                name: ticket.customer.clone(),
            },
        ))
        .await
        .expect("the anonymised records export")
        .into_inner();
    assert_eq!(
        leaks(&format!("{export:?}"), &personal),
        Vec::<String>::new()
    );

    // The ticket stays readable to staff and still names the (erased) customer record,
    // but once the tickets service has consumed CustomerErased it carries none of their
    // personal strings.
    poll_until(
        "the ticket scrubbed of the erased customer",
        EVENTUALLY,
        || {
            let (channel, agent, name) = (channel.clone(), agent.clone(), ticket.name.clone());
            async move {
                let ticket = get_ticket(&channel, &agent, &name).await;
                leaks(&format!("{ticket:?}"), &personal)
                    .is_empty()
                    .then_some(())
            }
        },
    )
    .await;
    let kept = get_ticket(&channel, &agent, &ticket.name).await;
    assert_eq!(kept.customer, ticket.customer);

    // Work on the ticket goes on; the events published after the erasure (the erasure's own
    // included) carry none of the customer's personal strings.
    let resolved = tickets(&channel)
        .resolve_ticket(Sandbox::request(
            &agent,
            tk::ResolveTicketRequest {
                name: kept.name.clone(),
                etag: kept.etag.clone(),
                resolution_summary: "Replaced the door sensor.".into(),
            },
        ))
        .await
        .expect("the agent resolves the scrubbed ticket")
        .into_inner()
        .ticket
        .expect("a ticket");
    let after_erasure = poll_until("the resolution on the bus", EVENTUALLY, || {
        let (published, name) = (published.clone(), resolved.name.clone());
        async move {
            let events = published.events();
            let erased = events
                .iter()
                .position(|e| e.r#type.ends_with(".CustomerErased"))?;
            let resolution = events.iter().any(|e| {
                e.r#type.ends_with(".TicketResolved")
                    && e.payload
                        .as_ref()
                        .is_some_and(|p| String::from_utf8_lossy(&p.value).contains(&name))
            });
            resolution.then(|| events[erased..].to_vec())
        }
    })
    .await;
    for event in &after_erasure {
        let payload = event
            .payload
            .as_ref()
            .map(|p| p.value.clone())
            .unwrap_or_default();
        let text = format!("{} {}", event.subject, String::from_utf8_lossy(&payload));
        assert_eq!(
            leaks(&text, &personal),
            Vec::<String>::new(),
            "{} carries personal data",
            event.r#type
        );
    }
    sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn privacy_on_sqlite() {
    privacy(Databases::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn privacy_on_postgres() {
    privacy(Databases::Postgres).await;
}

fn feedback(channel: &Channel) -> FeedbackServiceClient<Channel> {
    FeedbackServiceClient::new(channel.clone())
}

/// A CSAT and free-text survey in English and Chinese, sent when a ticket is resolved.
fn csat_survey() -> fb::Survey {
    let texts =
        |en: &str, zh: &str| HashMap::from([("en".into(), en.into()), ("zh-CN".into(), zh.into())]);
    fb::Survey {
        titles: texts("How did we do?", "服务评价"),
        default_language: "en".into(),
        questions: vec![
            fb::SurveyQuestion {
                r#type: fb::QuestionType::Csat as i32,
                texts: texts("How satisfied are you?", "您对本次服务满意吗？"),
                required: true,
            },
            fb::SurveyQuestion {
                r#type: fb::QuestionType::FreeText as i32,
                texts: texts("Tell us more", "请告诉我们更多"),
                required: false,
            },
        ],
        trigger: fb::SurveyTrigger::TicketResolved as i32,
        enabled: true,
        ..Default::default()
    }
}

async fn invitations_of(channel: &Channel, token: &str, filter: String) -> Vec<fb::Invitation> {
    feedback(channel)
        .list_invitations(Sandbox::request(
            token,
            fb::ListInvitationsRequest {
                parent: "surveys/-".into(),
                filter,
                ..Default::default()
            },
        ))
        .await
        .expect("list invitations")
        .into_inner()
        .invitations
}

const COMPLAINT: &str = "师傅上门很晚，态度也不好，非常不满意";

/// The SurveyInvitationDelivery event of `invitation`, once published.
async fn delivery_of(
    published: &aftercare_journeys::EventLog,
    invitation: &str,
) -> ev::SurveyInvitationDelivery {
    poll_until("the invitation's delivery event", EVENTUALLY, || {
        let events = published.events();
        async move {
            events
                .iter()
                .filter(|e| e.r#type.ends_with("SurveyInvitationDelivery"))
                .filter_map(|e| decode_payload::<ev::SurveyInvitationDelivery>(e).ok())
                .find(|d| d.invitation == invitation)
        }
    })
    .await
}

/// The token in a delivery's survey link (`…#token=<43 characters>`).
fn token_of(delivery: &ev::SurveyInvitationDelivery) -> String {
    let (_, token) = delivery
        .survey_uri
        .rsplit_once("#token=")
        .expect("a link with the token");
    assert_eq!(token.len(), 43, "{token}");
    token.to_owned()
}

/// Complaint and closed loop: a complaint nobody answers goes at risk and is escalated to the
/// team lead, who resolves it; the resolved ticket invites the customer, a CSAT 1 with a
/// negative Chinese comment opens a follow-up with a linked ticket, the lead calls back, and
/// closing the follow-up invites the customer again.
async fn complaint_and_closed_loop(databases: Databases) {
    let Some(sandbox) = Sandbox::start(databases).await else {
        return;
    };
    let channel = sandbox.channel().await;
    let agent = sandbox.token("agents/loop", Role::Agent, Some("cn-east"));
    let lead = sandbox.token("agents/loop-lead", Role::Lead, Some("cn-east"));
    let admin = sandbox.token("agents/loop-admin", Role::Admin, None);

    // The feedback service ships no survey: an admin creates one.
    let existing = feedback(&channel)
        .list_surveys(Sandbox::request(&admin, fb::ListSurveysRequest::default()))
        .await
        .expect("list surveys")
        .into_inner()
        .surveys;
    assert!(existing.is_empty(), "{existing:?}");
    let survey = feedback(&channel)
        .create_survey(Sandbox::request(
            &admin,
            fb::CreateSurveyRequest {
                survey: Some(csat_survey()),
                request_id: uuid::Uuid::now_v7().to_string(),
            },
        ))
        .await
        .expect("an admin creates the survey")
        .into_inner()
        .survey
        .expect("a survey");

    // The centre's complaint standard: a first answer within a minute, around the clock, at
    // risk from 1% of it (so the SLA sweep flags it on its next run), and escalated to the
    // team lead when at risk.
    let sla = SlaServiceClient::new(channel.clone());
    let around_the_clock = sla
        .clone()
        .list_business_calendars(Sandbox::request(
            &admin,
            tk::ListBusinessCalendarsRequest::default(),
        ))
        .await
        .expect("list calendars")
        .into_inner()
        .business_calendars
        .into_iter()
        .find(|c| c.display_name.starts_with("Around the clock"))
        .expect("the default 24x7 calendar");
    let policy = sla
        .clone()
        .create_sla_policy(Sandbox::request(
            &admin,
            tk::CreateSlaPolicyRequest {
                sla_policy: Some(tk::SlaPolicy {
                    display_name: "cn-east complaints".into(),
                    rank: 1,
                    conditions: Some(tk::SlaPolicyConditions {
                        kinds: vec![tk::TicketKind::Complaint as i32],
                        regions: vec!["cn-east".into()],
                        ..Default::default()
                    }),
                    first_response_target: Some(prost_types::Duration {
                        seconds: 60,
                        nanos: 0,
                    }),
                    resolution_target: Some(prost_types::Duration {
                        seconds: 3_600,
                        nanos: 0,
                    }),
                    at_risk_threshold_percent: 1,
                    business_calendar: around_the_clock.name.clone(),
                    escalation_rules: vec![tk::SlaEscalationRule {
                        trigger: tk::SlaEscalationTrigger::FirstResponseAtRisk as i32,
                        action: Some(tk::sla_escalation_rule::Action::EscalateLevel(
                            tk::EscalateLevelAction {
                                level: tk::EscalationLevel::Lead as i32,
                                ..Default::default()
                            },
                        )),
                    }],
                    ..Default::default()
                }),
                request_id: uuid::Uuid::now_v7().to_string(),
            },
        ))
        .await
        .expect("an admin sets the complaint standard")
        .into_inner()
        .sla_policy
        .expect("a policy");

    let ticket = tickets(&channel)
        .create_ticket(Sandbox::request(
            &agent,
            tk::CreateTicketRequest {
                ticket: Some(tk::Ticket {
                    customer_identity: Some(ChannelIdentity {
                        channel: IntakeChannel::Email as i32,
                        handle: "wang.fang@example.com".into(),
                        ..Default::default()
                    }),
                    subject: "投诉：服务态度差".into(),
                    description: "约好的时间迟到两个小时，态度很差，我要投诉。".into(),
                    region: "cn-east".into(),
                    language_code: "zh-CN".into(),
                    ..Default::default()
                }),
                request_id: uuid::Uuid::now_v7().to_string(),
                customer_display_name: "王芳".into(),
                ..Default::default()
            },
        ))
        .await
        .expect("an agent opens the complaint from an email")
        .into_inner()
        .ticket
        .expect("a ticket");
    assert!(ticket.customer.starts_with("customers/"), "{ticket:?}");
    assert_eq!(ticket.kind, tk::TicketKind::Complaint as i32, "{ticket:?}");
    assert_eq!(
        ticket.sla.as_ref().map(|s| s.policy.as_str()),
        Some(policy.name.as_str())
    );
    // Nobody answers: the sweep finds it at risk and escalates it to the team lead.
    let escalated = poll_until(
        "the complaint at risk and escalated",
        Duration::from_secs(30),
        || {
            let (channel, lead, name) = (channel.clone(), lead.clone(), ticket.name.clone());
            async move {
                let ticket = get_ticket(&channel, &lead, &name).await;
                (ticket.sla.as_ref().is_some_and(|s| s.at_risk)
                    && ticket.escalation_level == tk::EscalationLevel::Lead as i32)
                    .then_some(ticket)
            }
        },
    )
    .await;
    let published = sandbox.record_events().await;
    let resolved = tickets(&channel)
        .resolve_ticket(Sandbox::request(
            &lead,
            tk::ResolveTicketRequest {
                name: escalated.name.clone(),
                etag: escalated.etag.clone(),
                resolution_summary: "Apologised; technician rescheduled.".into(),
            },
        ))
        .await
        .expect("the lead resolves the escalated ticket")
        .into_inner()
        .ticket
        .expect("a ticket");
    assert_eq!(resolved.status, tk::TicketStatus::Resolved as i32);

    // The feedback service consumes TicketResolved and invites the customer.
    let by_ticket = format!("ticket = \"{}\"", ticket.name);
    let invitation = poll_until("the invitation for the resolved ticket", EVENTUALLY, || {
        let (channel, lead, filter) = (channel.clone(), lead.clone(), by_ticket.clone());
        async move {
            invitations_of(&channel, &lead, filter)
                .await
                .into_iter()
                .find(|i| i.status == fb::InvitationStatus::Sent as i32)
        }
    })
    .await;
    assert!(invitation.name.starts_with(&survey.name), "{invitation:?}");
    assert_eq!(invitation.customer, ticket.customer);

    // The token of a ticket-resolved invitation is shown to nobody through the API; it goes
    // to the notifier in one SurveyInvitationDelivery event, with the link, the channel and
    // the title in the customer's language.
    let customer = sandbox.token(&ticket.customer, Role::Customer, Some("cn-east"));
    let seen = feedback(&channel)
        .get_invitation(Sandbox::request(
            &customer,
            fb::GetInvitationRequest {
                name: invitation.name.clone(),
            },
        ))
        .await
        .expect("the customer sees their invitation")
        .into_inner()
        .invitation
        .expect("an invitation");
    assert!(seen.token.is_empty() && invitation.token.is_empty());
    let delivery = delivery_of(&published, &invitation.name).await;
    assert_eq!(delivery.customer, ticket.customer);
    assert_eq!(delivery.channel, IntakeChannel::Email as i32);
    assert_eq!(delivery.language, "zh-CN");
    assert_eq!(delivery.title, "服务评价");
    let token = token_of(&delivery);

    // The survey page calls the gateway without a login: the token is the credential. A
    // wrong token finds nothing, and no other method is open without a login.
    let looked_up = feedback(&channel)
        .lookup_invitation(tonic::Request::new(fb::LookupInvitationRequest {
            token: token.clone(),
        }))
        .await
        .expect("the survey page looks the invitation up without a login")
        .into_inner();
    assert_eq!(looked_up.invitation, invitation.name);
    assert_eq!(looked_up.language, "zh-CN");
    let wrong = feedback(&channel)
        .lookup_invitation(tonic::Request::new(fb::LookupInvitationRequest {
            token: "A".repeat(43),
        }))
        .await
        .expect_err("a wrong token finds nothing");
    assert_eq!(wrong.code(), tonic::Code::NotFound, "{wrong:?}");
    let closed_door = feedback(&channel)
        .get_invitation(tonic::Request::new(fb::GetInvitationRequest {
            name: invitation.name.clone(),
        }))
        .await
        .expect_err("GetInvitation needs a login");
    assert_eq!(
        closed_door.code(),
        tonic::Code::Unauthenticated,
        "{closed_door:?}"
    );
    let forged = feedback(&channel)
        .lookup_invitation(Sandbox::request(
            "not-a-token",
            fb::LookupInvitationRequest {
                token: token.clone(),
            },
        ))
        .await
        .expect_err("credentials sent with the token are still checked");
    assert_eq!(forged.code(), tonic::Code::Unauthenticated, "{forged:?}");

    // The customer answers CSAT 1 with the complaint, without a login.
    let submitted = feedback(&channel)
        .submit_response(tonic::Request::new(fb::SubmitResponseRequest {
            token: token.clone(),
            csat_score: Some(1),
            comment: COMPLAINT.into(),
            request_id: uuid::Uuid::now_v7().to_string(),
            ..Default::default()
        }))
        .await
        .expect("the customer answers CSAT 1 through the survey link")
        .into_inner();
    assert!(submitted.follow_up_opened, "{submitted:?}");
    let response = feedback(&channel)
        .get_response(Sandbox::request(
            &customer,
            fb::GetResponseRequest {
                name: submitted.response.clone(),
            },
        ))
        .await
        .expect("the customer reads their response")
        .into_inner()
        .response
        .expect("a response");
    assert_eq!(response.customer, ticket.customer);
    assert!(response.detractor, "{response:?}");
    let classification = response.classification.clone().expect("a classification");
    assert_eq!(classification.sentiment, fb::Sentiment::Negative as i32);
    assert_eq!(
        classification.topic,
        fb::FeedbackTopic::ServiceAttitude as i32
    );
    assert_eq!(
        classification.topics,
        [
            fb::FeedbackTopic::ServiceAttitude as i32,
            fb::FeedbackTopic::ResponseSpeed as i32
        ],
        "{classification:?}"
    );
    assert!(!response.triggered_follow_up.is_empty(), "{response:?}");

    // The follow-up exists in feedback, with a ticket linked to the original in tickets.
    let follow_up = poll_until("the follow-up's ticket", EVENTUALLY, || {
        let (channel, lead, name) = (
            channel.clone(),
            lead.clone(),
            response.triggered_follow_up.clone(),
        );
        async move {
            let follow_up = feedback(&channel)
                .get_follow_up(Sandbox::request(&lead, fb::GetFollowUpRequest { name }))
                .await
                .expect("get the follow-up")
                .into_inner()
                .follow_up
                .expect("a follow-up");
            (!follow_up.ticket.is_empty()).then_some(follow_up)
        }
    })
    .await;
    assert_eq!(follow_up.original_ticket, ticket.name);
    let follow_up_ticket = get_ticket(&channel, &lead, &follow_up.ticket).await;
    assert_eq!(follow_up_ticket.customer, ticket.customer);
    let links = tickets(&channel)
        .list_ticket_links(Sandbox::request(
            &lead,
            tk::ListTicketLinksRequest {
                parent: follow_up.ticket.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect("list the follow-up ticket's links")
        .into_inner()
        .links;
    assert!(
        links.iter().any(|l| l.linked_ticket == ticket.name
            && l.link_type == tk::TicketLinkType::FollowUpOf as i32),
        "{links:?}"
    );

    // The bus delivers TicketResolved again (the same event, and a copy under a new id):
    // still one invitation for the ticket, one follow-up, one follow-up ticket. The
    // in-process bus returns from publish once every consumer has handled the event.
    let resolved_event = published
        .events()
        .into_iter()
        .find(|e| e.r#type.ends_with("TicketResolved") && e.subject == ticket.name)
        .expect("the TicketResolved event was published");
    sandbox.publish(&resolved_event).await;
    let mut copy = resolved_event.clone();
    copy.id = uuid::Uuid::now_v7().to_string();
    sandbox.publish(&copy).await;
    let invitations = invitations_of(&channel, &lead, by_ticket.clone()).await;
    assert_eq!(invitations.len(), 1, "{invitations:?}");
    let follow_ups = feedback(&channel)
        .list_follow_ups(Sandbox::request(
            &lead,
            fb::ListFollowUpsRequest {
                filter: format!("original_ticket = \"{}\"", ticket.name),
                ..Default::default()
            },
        ))
        .await
        .expect("list follow-ups")
        .into_inner()
        .follow_ups;
    assert_eq!(follow_ups.len(), 1, "{follow_ups:?}");
    let follow_up_links = tickets(&channel)
        .list_ticket_links(Sandbox::request(
            &lead,
            tk::ListTicketLinksRequest {
                parent: ticket.name.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect("list the original ticket's links")
        .into_inner()
        .links;
    assert_eq!(
        follow_up_links
            .iter()
            .filter(|l| l.link_type == tk::TicketLinkType::FollowedUpBy as i32)
            .count(),
        1,
        "{follow_up_links:?}"
    );

    // The stats show the detractor, also when filtered by the comment's second topic.
    let stats = |filter: &str| {
        let (channel, lead) = (channel.clone(), lead.clone());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs() as i64;
        let request = fb::GetFeedbackStatsRequest {
            start_time: Some(prost_types::Timestamp {
                seconds: now - 3_600,
                nanos: 0,
            }),
            // Follow-ups count in the period they are due (24 h after they opened).
            end_time: Some(prost_types::Timestamp {
                seconds: now + 2 * 86_400,
                nanos: 0,
            }),
            filter: filter.to_owned(),
            ..Default::default()
        };
        async move {
            feedback(&channel)
                .get_feedback_stats(Sandbox::request(&lead, request))
                .await
                .expect("feedback stats")
                .into_inner()
                .total
                .expect("a total")
        }
    };
    for filter in ["", "region = \"cn-east\"", "topic = RESPONSE_SPEED"] {
        let total = stats(filter).await;
        assert_eq!(total.csat_count, 1, "{filter}: {total:?}");
        assert_eq!(
            total.csat_distribution.first(),
            Some(&1),
            "{filter}: {total:?}"
        );
        assert_eq!(total.sentiment_negative, 1, "{filter}: {total:?}");
        assert_eq!(total.follow_ups_opened, 1, "{filter}: {total:?}");
    }
    let other_topic = stats("topic = BILLING").await;
    assert_eq!(other_topic.csat_count, 0, "{other_topic:?}");

    // The lead calls back, closes the follow-up, and the customer is invited again.
    let contacted = feedback(&channel)
        .record_follow_up_contact(Sandbox::request(
            &lead,
            fb::RecordFollowUpContactRequest {
                name: follow_up.name.clone(),
                etag: follow_up.etag.clone(),
                channel: IntakeChannel::Phone as i32,
                contact_time: None,
                note: "Called back and apologised.".into(),
            },
        ))
        .await
        .expect("the lead records the call")
        .into_inner()
        .follow_up
        .expect("a follow-up");
    let closed = feedback(&channel)
        .close_follow_up(Sandbox::request(
            &lead,
            fb::CloseFollowUpRequest {
                name: follow_up.name.clone(),
                etag: contacted.etag.clone(),
                outcome: fb::FollowUpOutcome::Resolved as i32,
                note: "Technician sent again; fixed.".into(),
                resurvey: true,
                resurvey_survey: String::new(),
            },
        ))
        .await
        .expect("the lead closes the follow-up")
        .into_inner()
        .follow_up
        .expect("a follow-up");
    assert_eq!(closed.status, fb::FollowUpStatus::Closed as i32);
    assert!(closed.on_time, "{closed:?}");
    let again = feedback(&channel)
        .get_invitation(Sandbox::request(
            &customer,
            fb::GetInvitationRequest {
                name: closed.resurvey_invitation.clone(),
            },
        ))
        .await
        .expect("the customer sees the new invitation")
        .into_inner()
        .invitation
        .expect("an invitation");
    assert_eq!(again.follow_up, follow_up.name);
    assert_eq!(again.customer, ticket.customer);
    let redelivery = delivery_of(&published, &again.name).await;
    assert_eq!(redelivery.follow_up, follow_up.name);
    assert_ne!(token_of(&redelivery), token);
    let second = feedback(&channel)
        .create_response(Sandbox::request(
            &customer,
            fb::CreateResponseRequest {
                response: Some(fb::Response {
                    invitation: again.name.clone(),
                    csat_score: Some(5),
                    comment: "第二次上门很快就修好了，谢谢。".into(),
                    ..Default::default()
                }),
                request_id: uuid::Uuid::now_v7().to_string(),
            },
        ))
        .await
        .expect("the customer answers the re-survey")
        .into_inner()
        .response
        .expect("a response");
    assert_eq!(second.answered_follow_up, follow_up.name);
    assert_eq!(second.previous_response, response.name);
    assert!(!second.detractor, "{second:?}");
    assert!(second.triggered_follow_up.is_empty(), "{second:?}");
    sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn complaint_and_closed_loop_on_sqlite() {
    complaint_and_closed_loop(Databases::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn complaint_and_closed_loop_on_postgres() {
    complaint_and_closed_loop(Databases::Postgres).await;
}
