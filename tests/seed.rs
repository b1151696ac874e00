//! `aftercare seed` against the sandbox: after it, the list RPCs of every service return data;
//! a second run adds nothing; a platform holding data that is not the demo's is refused.

use std::collections::BTreeMap;

use aftercare::seed::{SeedOptions, seed};
use aftercare_journeys::{Databases, Sandbox};
use aftercare_platform::auth::Role;
use aftercare_proto::aftercare::customers::v1 as cu;
use aftercare_proto::aftercare::feedback::v1 as fb;
use aftercare_proto::aftercare::knowledge::v1 as kb;
use aftercare_proto::aftercare::tickets::v1 as tk;
use aftercare_proto::aftercare::workforce::v1 as wf;
use cu::customer_service_client::CustomerServiceClient;
use fb::feedback_service_client::FeedbackServiceClient;
use kb::knowledge_service_client::KnowledgeServiceClient;
use tk::after_sales_service_client::AfterSalesServiceClient;
use tk::sla_service_client::SlaServiceClient;
use tk::ticket_service_client::TicketServiceClient;
use tonic::transport::Channel;
use wf::performance_service_client::PerformanceServiceClient;
use wf::training_service_client::TrainingServiceClient;
use wf::workforce_service_client::WorkforceServiceClient;

/// How many of each resource a page of the list RPCs shows (at most 500: the tickets of
/// a small seed fit on one page).
async fn inventory(channel: &Channel, admin: &str) -> BTreeMap<&'static str, usize> {
    let mut seen = BTreeMap::new();
    let customers = CustomerServiceClient::new(channel.clone());
    let all_customers = customers
        .clone()
        .list_customers(Sandbox::request(
            admin,
            cu::ListCustomersRequest {
                page_size: 500,
                ..Default::default()
            },
        ))
        .await
        .expect("list customers")
        .into_inner()
        .customers;
    let first = all_customers
        .iter()
        .find(|c| {
            c.emails
                .iter()
                .any(|e| e.address.ends_with("@demo.aftercare.example"))
        })
        .expect("a demo customer")
        .name
        .clone();
    seen.insert("customers", all_customers.len());
    seen.insert(
        "organisations",
        customers
            .clone()
            .list_organisations(Sandbox::request(
                admin,
                cu::ListOrganisationsRequest::default(),
            ))
            .await
            .expect("list organisations")
            .into_inner()
            .organisations
            .len(),
    );
    seen.insert(
        "consents",
        customers
            .clone()
            .list_consents(Sandbox::request(
                admin,
                cu::ListConsentsRequest {
                    parent: first.clone(),
                    ..Default::default()
                },
            ))
            .await
            .expect("list consents")
            .into_inner()
            .consents
            .len(),
    );
    seen.insert(
        "loyalty entries",
        customers
            .clone()
            .list_loyalty_entries(Sandbox::request(
                admin,
                cu::ListLoyaltyEntriesRequest {
                    parent: first.clone(),
                    ..Default::default()
                },
            ))
            .await
            .expect("list loyalty entries")
            .into_inner()
            .entries
            .len(),
    );

    seen.insert(
        "identities",
        customers
            .clone()
            .list_identities(Sandbox::request(
                admin,
                cu::ListIdentitiesRequest {
                    parent: first.clone(),
                    ..Default::default()
                },
            ))
            .await
            .expect("list identities")
            .into_inner()
            .identities
            .len(),
    );
    seen.insert(
        "segments",
        customers
            .clone()
            .list_segments(Sandbox::request(admin, cu::ListSegmentsRequest::default()))
            .await
            .expect("list segments")
            .into_inner()
            .segments
            .len(),
    );
    seen.insert(
        "tier rules",
        customers
            .clone()
            .list_tier_rules(Sandbox::request(admin, cu::ListTierRulesRequest::default()))
            .await
            .expect("list tier rules")
            .into_inner()
            .tier_rules
            .len(),
    );
    seen.insert(
        "timeline entries",
        customers
            .clone()
            .list_timeline_entries(Sandbox::request(
                admin,
                cu::ListTimelineEntriesRequest {
                    parent: first.clone(),
                    page_size: 500,
                    ..Default::default()
                },
            ))
            .await
            .expect("list timeline entries")
            .into_inner()
            .timeline_entries
            .len(),
    );

    let tickets = TicketServiceClient::new(channel.clone());
    let all_tickets = tickets
        .clone()
        .list_tickets(Sandbox::request(
            admin,
            tk::ListTicketsRequest {
                page_size: 500,
                ..Default::default()
            },
        ))
        .await
        .expect("list tickets")
        .into_inner()
        .tickets;
    let mut statuses: Vec<i32> = all_tickets.iter().map(|t| t.status).collect();
    statuses.sort_unstable();
    statuses.dedup();
    seen.insert("ticket statuses", statuses.len());
    seen.insert("tickets", all_tickets.len());
    let resolved = all_tickets
        .iter()
        .find(|t| t.status == tk::TicketStatus::Resolved as i32)
        .expect("a resolved ticket");
    seen.insert(
        "messages of a resolved ticket",
        tickets
            .clone()
            .list_messages(Sandbox::request(
                admin,
                tk::ListMessagesRequest {
                    parent: resolved.name.clone(),
                    ..Default::default()
                },
            ))
            .await
            .expect("list messages")
            .into_inner()
            .messages
            .len(),
    );
    seen.insert(
        "history of a resolved ticket",
        tickets
            .clone()
            .list_ticket_history(Sandbox::request(
                admin,
                tk::ListTicketHistoryRequest {
                    parent: resolved.name.clone(),
                    ..Default::default()
                },
            ))
            .await
            .expect("list history")
            .into_inner()
            .history_entries
            .len(),
    );
    let first_ticket = all_tickets
        .iter()
        .find(|t| t.number == 1)
        .expect("the first ticket");
    seen.insert(
        "links of the first ticket",
        tickets
            .clone()
            .list_ticket_links(Sandbox::request(
                admin,
                tk::ListTicketLinksRequest {
                    parent: first_ticket.name.clone(),
                    ..Default::default()
                },
            ))
            .await
            .expect("list links")
            .into_inner()
            .links
            .len(),
    );
    let sla = SlaServiceClient::new(channel.clone());
    seen.insert(
        "SLA policies",
        sla.clone()
            .list_sla_policies(Sandbox::request(
                admin,
                tk::ListSlaPoliciesRequest::default(),
            ))
            .await
            .expect("list SLA policies")
            .into_inner()
            .sla_policies
            .len(),
    );
    seen.insert(
        "business calendars",
        sla.clone()
            .list_business_calendars(Sandbox::request(
                admin,
                tk::ListBusinessCalendarsRequest::default(),
            ))
            .await
            .expect("list calendars")
            .into_inner()
            .business_calendars
            .len(),
    );
    seen.insert(
        "after-sales cases",
        AfterSalesServiceClient::new(channel.clone())
            .list_after_sales_cases(Sandbox::request(
                admin,
                tk::ListAfterSalesCasesRequest {
                    parent: "tickets/-".into(),
                    ..Default::default()
                },
            ))
            .await
            .expect("list after-sales cases")
            .into_inner()
            .after_sales_cases
            .len(),
    );

    let workforce = WorkforceServiceClient::new(channel.clone());
    seen.insert(
        "agents",
        workforce
            .clone()
            .list_agents(Sandbox::request(admin, wf::ListAgentsRequest::default()))
            .await
            .expect("list agents")
            .into_inner()
            .agents
            .len(),
    );
    seen.insert(
        "teams",
        workforce
            .clone()
            .list_teams(Sandbox::request(admin, wf::ListTeamsRequest::default()))
            .await
            .expect("list teams")
            .into_inner()
            .teams
            .len(),
    );
    seen.insert(
        "skills",
        workforce
            .clone()
            .list_skills(Sandbox::request(admin, wf::ListSkillsRequest::default()))
            .await
            .expect("list skills")
            .into_inner()
            .skills
            .len(),
    );
    seen.insert(
        "shifts",
        workforce
            .clone()
            .list_shifts(Sandbox::request(admin, wf::ListShiftsRequest::default()))
            .await
            .expect("list shifts")
            .into_inner()
            .shifts
            .len(),
    );
    let training = TrainingServiceClient::new(channel.clone());
    seen.insert(
        "courses",
        training
            .clone()
            .list_courses(Sandbox::request(admin, wf::ListCoursesRequest::default()))
            .await
            .expect("list courses")
            .into_inner()
            .courses
            .len(),
    );
    seen.insert(
        "enrolments",
        training
            .clone()
            .list_enrolments(Sandbox::request(
                admin,
                wf::ListEnrolmentsRequest {
                    parent: "courses/-".into(),
                    ..Default::default()
                },
            ))
            .await
            .expect("list enrolments")
            .into_inner()
            .enrolments
            .len(),
    );
    let enrolment = training
        .clone()
        .list_enrolments(Sandbox::request(
            admin,
            wf::ListEnrolmentsRequest {
                parent: "courses/-".into(),
                ..Default::default()
            },
        ))
        .await
        .expect("list enrolments")
        .into_inner()
        .enrolments
        .into_iter()
        .next()
        .expect("an enrolment");
    seen.insert(
        "assessments of an enrolment",
        training
            .clone()
            .list_assessments(Sandbox::request(
                admin,
                wf::ListAssessmentsRequest {
                    parent: enrolment.name.clone(),
                    ..Default::default()
                },
            ))
            .await
            .expect("list assessments")
            .into_inner()
            .assessments
            .len(),
    );
    seen.insert(
        "scorecards",
        PerformanceServiceClient::new(channel.clone())
            .list_scorecards(Sandbox::request(
                admin,
                wf::ListScorecardsRequest::default(),
            ))
            .await
            .expect("list scorecards")
            .into_inner()
            .scorecards
            .len(),
    );
    seen.insert(
        "certifications",
        training
            .clone()
            .list_certifications(Sandbox::request(
                admin,
                wf::ListCertificationsRequest {
                    parent: "agents/-".into(),
                    ..Default::default()
                },
            ))
            .await
            .expect("list certifications")
            .into_inner()
            .certifications
            .len(),
    );
    seen.insert(
        "recognitions",
        PerformanceServiceClient::new(channel.clone())
            .list_recognitions(Sandbox::request(
                admin,
                wf::ListRecognitionsRequest::default(),
            ))
            .await
            .expect("list recognitions")
            .into_inner()
            .recognitions
            .len(),
    );

    let knowledge = KnowledgeServiceClient::new(channel.clone());
    seen.insert(
        "articles",
        knowledge
            .clone()
            .list_articles(Sandbox::request(
                admin,
                kb::ListArticlesRequest {
                    filter: "state = PUBLISHED".into(),
                    ..Default::default()
                },
            ))
            .await
            .expect("list articles")
            .into_inner()
            .articles
            .len(),
    );
    let article = knowledge
        .clone()
        .list_articles(Sandbox::request(
            admin,
            kb::ListArticlesRequest {
                filter: "state = PUBLISHED".into(),
                ..Default::default()
            },
        ))
        .await
        .expect("list articles")
        .into_inner()
        .articles;
    let mut ratings = 0;
    for a in &article {
        ratings += knowledge
            .clone()
            .list_article_ratings(Sandbox::request(
                admin,
                kb::ListArticleRatingsRequest {
                    parent: a.name.clone(),
                    ..Default::default()
                },
            ))
            .await
            .expect("list ratings")
            .into_inner()
            .ratings
            .len();
    }
    seen.insert("article ratings", ratings);
    seen.insert(
        "versions of an article",
        knowledge
            .clone()
            .list_article_versions(Sandbox::request(
                admin,
                kb::ListArticleVersionsRequest {
                    parent: article[0].name.clone(),
                    ..Default::default()
                },
            ))
            .await
            .expect("list versions")
            .into_inner()
            .article_versions
            .len(),
    );
    seen.insert(
        "content gaps",
        knowledge
            .clone()
            .list_content_gaps(Sandbox::request(
                admin,
                kb::ListContentGapsRequest::default(),
            ))
            .await
            .expect("list content gaps")
            .into_inner()
            .content_gaps
            .len(),
    );
    seen.insert(
        "categories",
        knowledge
            .clone()
            .list_categories(Sandbox::request(
                admin,
                kb::ListCategoriesRequest::default(),
            ))
            .await
            .expect("list categories")
            .into_inner()
            .categories
            .len(),
    );

    let feedback = FeedbackServiceClient::new(channel.clone());
    seen.insert(
        "surveys",
        feedback
            .clone()
            .list_surveys(Sandbox::request(admin, fb::ListSurveysRequest::default()))
            .await
            .expect("list surveys")
            .into_inner()
            .surveys
            .len(),
    );
    seen.insert(
        "invitations",
        feedback
            .clone()
            .list_invitations(Sandbox::request(
                admin,
                fb::ListInvitationsRequest {
                    parent: "surveys/-".into(),
                    page_size: 500,
                    ..Default::default()
                },
            ))
            .await
            .expect("list invitations")
            .into_inner()
            .invitations
            .len(),
    );
    seen.insert(
        "responses",
        feedback
            .clone()
            .list_responses(Sandbox::request(
                admin,
                fb::ListResponsesRequest {
                    page_size: 500,
                    ..Default::default()
                },
            ))
            .await
            .expect("list responses")
            .into_inner()
            .responses
            .len(),
    );
    seen.insert(
        "feedback items",
        feedback
            .clone()
            .list_feedback_items(Sandbox::request(
                admin,
                fb::ListFeedbackItemsRequest::default(),
            ))
            .await
            .expect("list feedback items")
            .into_inner()
            .feedback_items
            .len(),
    );
    seen.insert(
        "follow-ups",
        feedback
            .clone()
            .list_follow_ups(Sandbox::request(admin, fb::ListFollowUpsRequest::default()))
            .await
            .expect("list follow-ups")
            .into_inner()
            .follow_ups
            .len(),
    );
    seen
}

async fn seeds_demo_data_once(databases: Databases) {
    let Some(sandbox) = Sandbox::start(databases).await else {
        return;
    };
    let channel = sandbox.channel().await;
    let admin = sandbox.token("agents/seed-check", Role::Admin, None);
    let options = SeedOptions {
        tickets: 48,
        force: false,
    };

    let first = seed(channel.clone(), sandbox.gateway_config(), &options)
        .await
        .expect("the seed runs on an empty platform");
    assert_eq!(first.counts["tickets"], 48, "{first}");
    assert_eq!(first.counts["customers"], 24, "{first}");
    assert!(first.counts["survey responses"] > 0, "{first}");
    let seen = inventory(&channel, &admin).await;
    for (kind, count) in &seen {
        assert!(*count > 0, "no {kind} after the seed: {seen:?}");
    }
    // Two regions, every status of the machine.
    assert_eq!(seen["ticket statuses"], 6, "{seen:?}");
    assert_eq!(seen["customers"], 24, "{seen:?}");
    // Tickets without an explicit SLA policy still get the region's standard.
    let tickets = TicketServiceClient::new(channel.clone())
        .list_tickets(Sandbox::request(
            &admin,
            tk::ListTicketsRequest {
                page_size: 10,
                filter: "status = NEW".into(),
                ..Default::default()
            },
        ))
        .await
        .expect("list new tickets")
        .into_inner()
        .tickets;
    assert!(
        tickets
            .iter()
            .all(|t| t.sla.as_ref().is_some_and(|s| !s.policy.is_empty())),
        "{tickets:?}"
    );

    let again = seed(channel.clone(), sandbox.gateway_config(), &options)
        .await
        .expect("the seed runs again");
    assert_eq!(again.counts["tickets"], 48, "{again}");
    let after = inventory(&channel, &admin).await;
    assert_eq!(after, seen, "a second run adds nothing");

    // A platform with a customer who is not demo data is refused, and nothing is written.
    CustomerServiceClient::new(channel.clone())
        .create_customer(Sandbox::request(
            &admin,
            cu::CreateCustomerRequest {
                customer: Some(cu::Customer {
                    display_name: "Real Person".into(),
                    emails: vec![cu::CustomerEmail {
                        address: "real.person@example.com".into(),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
                request_id: uuid::Uuid::now_v7().to_string(),
            },
        ))
        .await
        .expect("an admin adds a real customer");
    let refused = seed(channel.clone(), sandbox.gateway_config(), &options)
        .await
        .expect_err("a platform with real data is refused");
    assert!(refused.to_string().contains("not demo data"), "{refused:#}");
    let mut expected = seen.clone();
    *expected.get_mut("customers").expect("customers") += 1;
    assert_eq!(inventory(&channel, &admin).await, expected);
    sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_fills_every_service_once_on_sqlite() {
    seeds_demo_data_once(Databases::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_fills_every_service_once_on_postgres() {
    seeds_demo_data_once(Databases::Postgres).await;
}
