//! After-sales repair: a customer emails about a leaking washing machine in Chinese; the
//! customer is found or created, the ticket classified after-sales, the knowledge base
//! suggests the leak article, workforce routes it to the on-shift agent certified for washing
//! machines, who replies and arranges an on-site visit; the ticket is resolved within its
//! standard, the survey is answered positively, and the agent's performance shows it.

use aftercare_journeys::{Databases, Sandbox};
use aftercare_platform::auth::Role;
use aftercare_platform::testing::poll_until;
use aftercare_proto::aftercare::common::v1::{Channel as IntakeChannel, ChannelIdentity};
use aftercare_proto::aftercare::feedback::v1 as fb;
use aftercare_proto::aftercare::knowledge::v1 as kb;
use aftercare_proto::aftercare::tickets::v1 as tk;
use aftercare_proto::aftercare::workforce::v1 as wf;
use tk::after_sales_service_client::AfterSalesServiceClient;
use tonic::transport::Channel;
use wf::performance_service_client::PerformanceServiceClient;

use super::workforce::{Staff, agent, online, shift, skill, training, washer_repair_certified};
use super::{EVENTUALLY, csat_survey, feedback, get_ticket, invitations_of, knowledge, tickets};

const LEAK_ARTICLE: &str = "洗衣机底部漏水的处理方法";

/// Two agents of cn-east, on a shift that is always on, both skilled in washing machines at
/// the same level; only the first passes the repair course and holds its certification.
async fn staff(channel: &Channel, admin: &str, trainer: &str) -> (wf::Agent, wf::Agent) {
    let shift = shift(
        channel,
        admin,
        "Shanghai around the clock",
        "Asia/Shanghai",
        "cn-east",
        true,
    )
    .await;
    let skill = skill(channel, admin, "washing-machine", "Washing machines").await;
    let mut agents = Vec::new();
    for (display_name, mailbox) in [("李明", "li.ming"), ("赵强", "zhao.qiang")] {
        let agent = agent(
            channel,
            admin,
            Staff {
                display_name,
                mailbox,
                role: wf::AgentRole::Agent,
                region: "cn-east",
                language: "zh-CN",
                skill: Some(&skill),
                capacity: 5,
                shift: &shift,
            },
        )
        .await;
        online(channel, admin, &agent).await;
        agents.push(agent);
    }
    let certified = washer_repair_certified(channel, trainer, &skill, &agents[0], 92).await;
    assert_eq!(certified.code, "washer-repair", "{certified:?}");
    let held = training(channel)
        .list_certifications(Sandbox::request(
            trainer,
            wf::ListCertificationsRequest {
                parent: agents[0].name.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect("list the agent's certifications")
        .into_inner()
        .certifications;
    assert!(held.iter().any(|c| c.code == "washer-repair"), "{held:?}");
    let second = agents.pop().expect("two agents");
    let first = agents.pop().expect("two agents");
    (first, second)
}

/// The leak article, written, reviewed and published, and found by search.
async fn leak_article(channel: &Channel, author: &str, lead: &str, admin: &str) {
    let draft = knowledge(channel)
        .create_article(Sandbox::request(
            author,
            kb::CreateArticleRequest {
                article: Some(kb::Article {
                    kind: kb::ArticleKind::TroubleshootingGuide as i32,
                    visibility: kb::ArticleVisibility::Public as i32,
                    product_lines: vec!["washing-machine".into()],
                    ..Default::default()
                }),
                initial_version: Some(kb::ArticleVersion {
                    language: "zh-CN".into(),
                    title: LEAK_ARTICLE.into(),
                    body: "洗衣机底部漏水，常见原因是排水管松动或门封破损。先关闭水龙头并断电，\
                           检查排水管接口并拧紧；仍然漏水请预约师傅上门维修。"
                        .into(),
                    ..Default::default()
                }),
                request_id: uuid::Uuid::now_v7().to_string(),
            },
        ))
        .await
        .expect("an agent writes the article")
        .into_inner()
        .article
        .expect("an article");
    let submitted = knowledge(channel)
        .submit_article_for_review(Sandbox::request(
            author,
            kb::SubmitArticleForReviewRequest {
                name: draft.name.clone(),
                etag: draft.etag.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect("submitted")
        .into_inner()
        .article
        .expect("an article");
    let approved = knowledge(channel)
        .approve_article(Sandbox::request(
            lead,
            kb::ApproveArticleRequest {
                name: submitted.name.clone(),
                etag: submitted.etag.clone(),
                comment: "准确".into(),
            },
        ))
        .await
        .expect("approved")
        .into_inner()
        .article
        .expect("an article");
    knowledge(channel)
        .publish_article(Sandbox::request(
            admin,
            kb::PublishArticleRequest {
                name: approved.name.clone(),
                etag: approved.etag.clone(),
            },
        ))
        .await
        .expect("published");
}

async fn after_sales_repair(databases: Databases) {
    let Some(sandbox) = Sandbox::start(databases).await else {
        return;
    };
    let channel = sandbox.channel().await;
    let admin = sandbox.token("agents/repair-admin", Role::Admin, None);
    let trainer = sandbox.token("agents/repair-trainer", Role::Trainer, Some("cn-east"));
    let lead = sandbox.token("agents/repair-lead", Role::Lead, Some("cn-east"));
    let author = sandbox.token("agents/repair-author", Role::Agent, Some("cn-east"));
    let intake = sandbox.token("agents/repair-intake", Role::Agent, Some("cn-east"));

    let (certified, other) = staff(&channel, &admin, &trainer).await;
    leak_article(&channel, &author, &lead, &admin).await;
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

    // The email arrives; the intake agent opens the ticket from it. The index catches up
    // with the published article within a moment: the create is retried until it does.
    let created = poll_until(
        "a ticket with the leak article suggested",
        EVENTUALLY,
        || {
            let (channel, intake) = (channel.clone(), intake.clone());
            async move {
                let created = tickets(&channel)
                    .create_ticket(Sandbox::request(
                        &intake,
                        tk::CreateTicketRequest {
                            ticket: Some(tk::Ticket {
                                customer_identity: Some(ChannelIdentity {
                                    channel: IntakeChannel::Email as i32,
                                    handle: "zhou.hua@example.com".into(),
                                    ..Default::default()
                                }),
                                channel: IntakeChannel::Email as i32,
                                subject: "洗衣机漏水，申请保修".into(),
                                description: "洗衣机底部漏水，还在保修期内，请安排维修。".into(),
                                product: Some(tk::Product {
                                    product_line: "washing-machine".into(),
                                    model: "XQG100".into(),
                                    serial_number: "SN2026001".into(),
                                }),
                                region: "cn-east".into(),
                                language_code: "zh-CN".into(),
                                ..Default::default()
                            }),
                            request_id: uuid::Uuid::now_v7().to_string(),
                            customer_display_name: "周华".into(),
                            max_suggestions: 3,
                            ..Default::default()
                        },
                    ))
                    .await
                    .expect("the intake agent opens the ticket")
                    .into_inner();
                created
                    .suggested_articles
                    .iter()
                    .any(|s| s.title == LEAK_ARTICLE)
                    .then_some(created)
            }
        },
    )
    .await;
    assert!(created.customer_created, "{created:?}");
    let ticket = created.ticket.expect("a ticket");
    assert_eq!(ticket.kind, tk::TicketKind::AfterSales as i32, "{ticket:?}");
    assert_eq!(
        ticket.sub_kind,
        tk::TicketSubKind::Repair as i32,
        "{ticket:?}"
    );
    let sla = ticket.sla.clone().expect("the default standard applies");
    assert!(sla.resolution_due_time.is_some(), "{sla:?}");

    // Workforce routes it to the certified agent on shift (the uncertified one has the same
    // skill level and no load).
    let routed = poll_until("the ticket routed", EVENTUALLY, || {
        let (channel, admin, name) = (channel.clone(), admin.clone(), ticket.name.clone());
        async move {
            let ticket = get_ticket(&channel, &admin, &name).await;
            (!ticket.assignee.is_empty()).then_some(ticket)
        }
    })
    .await;
    assert_eq!(routed.assignee, certified.name, "not {}", other.name);

    // The agent replies and arranges an on-site visit.
    let agent = sandbox.token(&certified.name, Role::Agent, Some("cn-east"));
    tickets(&channel)
        .create_message(Sandbox::request(
            &agent,
            tk::CreateMessageRequest {
                parent: routed.name.clone(),
                message: Some(tk::TicketMessage {
                    visibility: tk::MessageVisibility::Public as i32,
                    body: "您好，我们已为您安排师傅明天上午上门检修。".into(),
                    ..Default::default()
                }),
                request_id: uuid::Uuid::now_v7().to_string(),
                ..Default::default()
            },
        ))
        .await
        .expect("the agent replies");
    let cases = AfterSalesServiceClient::new(channel.clone());
    let case = cases
        .clone()
        .create_after_sales_case(Sandbox::request(
            &agent,
            tk::CreateAfterSalesCaseRequest {
                parent: routed.name.clone(),
                after_sales_case: Some(tk::AfterSalesCase {
                    application: Some(tk::AfterSalesApplication {
                        requested_service_type: tk::AfterSalesServiceType::Repair as i32,
                        product: routed.product.clone(),
                        purchase_date: "2026-06-01".into(),
                        problem_description: "底部漏水".into(),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                request_id: uuid::Uuid::now_v7().to_string(),
            },
        ))
        .await
        .expect("the agent opens a repair case")
        .into_inner()
        .after_sales_case
        .expect("a case");
    let reviewed = cases
        .clone()
        .review_after_sales_case(Sandbox::request(
            &agent,
            tk::ReviewAfterSalesCaseRequest {
                name: case.name.clone(),
                etag: case.etag.clone(),
                review: Some(tk::AfterSalesReview {
                    decision: tk::EligibilityDecision::Eligible as i32,
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("within warranty")
        .into_inner()
        .after_sales_case
        .expect("a case");
    let tomorrow = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
        + 86_400;
    let arranged = cases
        .clone()
        .arrange_after_sales_case(Sandbox::request(
            &agent,
            tk::ArrangeAfterSalesCaseRequest {
                name: reviewed.name.clone(),
                etag: reviewed.etag.clone(),
                arrangement: Some(tk::AfterSalesArrangement {
                    service_type: tk::AfterSalesServiceType::Repair as i32,
                    appointment_start_time: Some(prost_types::Timestamp {
                        seconds: tomorrow,
                        nanos: 0,
                    }),
                    appointment_end_time: Some(prost_types::Timestamp {
                        seconds: tomorrow + 7_200,
                        nanos: 0,
                    }),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("an on-site visit is arranged")
        .into_inner()
        .after_sales_case
        .expect("a case");
    assert!(arranged.arrangement.is_some(), "{arranged:?}");

    // Resolved within the standard.
    let current = get_ticket(&channel, &agent, &routed.name).await;
    let resolved = tickets(&channel)
        .resolve_ticket(Sandbox::request(
            &agent,
            tk::ResolveTicketRequest {
                name: current.name.clone(),
                etag: current.etag.clone(),
                resolution_summary: "更换排水管密封圈，已不再漏水。".into(),
            },
        ))
        .await
        .expect("the agent resolves the ticket")
        .into_inner()
        .ticket
        .expect("a ticket");
    let sla = resolved.sla.expect("an SLA");
    assert!(!sla.breached, "{sla:?}");

    // The survey, answered positively.
    let by_ticket = format!("ticket = \"{}\"", resolved.name);
    let invitation = poll_until("the invitation", EVENTUALLY, || {
        let (channel, lead, filter) = (channel.clone(), lead.clone(), by_ticket.clone());
        async move {
            invitations_of(&channel, &lead, filter)
                .await
                .into_iter()
                .next()
        }
    })
    .await;
    assert!(invitation.name.starts_with(&survey.name), "{invitation:?}");
    let customer = sandbox.token(&resolved.customer, Role::Customer, Some("cn-east"));
    let response = feedback(&channel)
        .create_response(Sandbox::request(
            &customer,
            fb::CreateResponseRequest {
                response: Some(fb::Response {
                    invitation: invitation.name.clone(),
                    csat_score: Some(5),
                    comment: "师傅上门很准时，很快就修好了，非常满意".into(),
                    ..Default::default()
                }),
                request_id: uuid::Uuid::now_v7().to_string(),
            },
        ))
        .await
        .expect("the customer answers")
        .into_inner()
        .response
        .expect("a response");
    assert!(!response.detractor, "{response:?}");
    assert_eq!(
        response.classification.map(|c| c.sentiment),
        Some(fb::Sentiment::Positive as i32)
    );

    // The agent's performance (which they read themselves) shows the resolution and the CSAT.
    let performance = poll_until("the agent's performance", EVENTUALLY, || {
        let (channel, token, agent) = (channel.clone(), agent.clone(), certified.name.clone());
        async move {
            let metrics = PerformanceServiceClient::new(channel)
                .get_agent_performance(Sandbox::request(
                    &token,
                    wf::GetAgentPerformanceRequest {
                        agent,
                        ..Default::default()
                    },
                ))
                .await
                .expect("the agent reads their performance")
                .into_inner()
                .metrics?;
            (metrics.tickets_resolved >= 1 && metrics.csat_responses >= 1).then_some(metrics)
        }
    })
    .await;
    assert_eq!(performance.csat_average, 5.0, "{performance:?}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64;
    let stats = feedback(&channel)
        .get_feedback_stats(Sandbox::request(
            &lead,
            fb::GetFeedbackStatsRequest {
                start_time: Some(prost_types::Timestamp {
                    seconds: now - 3_600,
                    nanos: 0,
                }),
                end_time: Some(prost_types::Timestamp {
                    seconds: now + 60,
                    nanos: 0,
                }),
                ..Default::default()
            },
        ))
        .await
        .expect("feedback stats")
        .into_inner()
        .total
        .expect("the totals");
    assert_eq!(
        (stats.responses, stats.csat_average),
        (1, Some(5.0)),
        "{stats:?}"
    );
    sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_sales_repair_on_sqlite() {
    after_sales_repair(Databases::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_sales_repair_on_postgres() {
    after_sales_repair(Databases::Postgres).await;
}
