//! AfterSalesService: the case flow from application to confirmation.

use std::time::Duration;

use aftercare_platform::events::{EventBus, SubscriptionFilter, decode_payload};
use aftercare_platform::on_both_databases;
use aftercare_platform::testing::TestDatabase;
use aftercare_proto::aftercare::events::v1 as ev;
use aftercare_proto::aftercare::tickets::v1 as pb;
use aftercare_proto::aftercare::tickets::v1::after_sales_service_client::AfterSalesServiceClient;

use super::support::{App, bad_fields, lead, precondition, spawn_app, ticket};

use pb::AfterSalesCaseState as S;

fn client(app: &App) -> AfterSalesServiceClient<tonic::transport::Channel> {
    AfterSalesServiceClient::new(app.tickets.channel())
}

fn application(purchase_date: &str) -> pb::AfterSalesCase {
    pb::AfterSalesCase {
        application: Some(pb::AfterSalesApplication {
            requested_service_type: pb::AfterSalesServiceType::OnSiteVisit as i32,
            product: Some(pb::Product {
                product_line: "washers".into(),
                model: "WM-9000".into(),
                serial_number: "SN-123".into(),
            }),
            purchase_date: purchase_date.into(),
            problem_description: "The drum does not spin".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn in_hours(hours: i64) -> prost_types::Timestamp {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    prost_types::Timestamp {
        seconds: now + hours * 3_600,
        nanos: 0,
    }
}

async fn a_case_runs_from_application_to_confirmation(db: TestDatabase) {
    let app = spawn_app(db).await;
    let mut events = app
        .tickets
        .bus()
        .subscribe(
            "test",
            SubscriptionFilter::all().with_type::<ev::AfterSalesCaseChanged>(),
        )
        .await
        .unwrap();
    let t = app
        .create(&app.customer("c1"), ticket("", "eu-west", "Washer broken"))
        .await;
    let mut cases = client(&app);
    let today = chrono::Utc::now()
        .date_naive()
        .format("%Y-%m-%d")
        .to_string();
    let created = cases
        .create_after_sales_case(app.req(
            &app.customer("c1"),
            pb::CreateAfterSalesCaseRequest {
                parent: t.name.clone(),
                after_sales_case: Some(application(&today)),
                request_id: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .after_sales_case
        .unwrap();
    assert_eq!(created.state, S::Applied as i32);
    assert_eq!(created.customer, app.name("c1"));
    // The customer cannot review; reviewing needs the current etag.
    let review = pb::AfterSalesReview {
        decision: pb::EligibilityDecision::Eligible as i32,
        ..Default::default()
    };
    let status = cases
        .review_after_sales_case(app.req(
            &app.customer("c1"),
            pb::ReviewAfterSalesCaseRequest {
                name: created.name.clone(),
                etag: created.etag.clone(),
                review: Some(review.clone()),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    let reviewed = cases
        .review_after_sales_case(app.req(
            &lead(),
            pb::ReviewAfterSalesCaseRequest {
                name: created.name.clone(),
                etag: created.etag.clone(),
                review: Some(review),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .after_sales_case
        .unwrap();
    assert_eq!(reviewed.state, S::Approved as i32);
    let r = reviewed.review.as_ref().unwrap();
    assert_eq!(r.warranty_check, pb::PolicyCheckResult::Passed as i32);
    assert_eq!(
        r.return_window_check,
        pb::PolicyCheckResult::NotApplicable as i32
    );
    // Completing before arranging is refused; a stale etag too.
    let completion = pb::AfterSalesCompletion {
        outcome: "replaced the belt".into(),
        ..Default::default()
    };
    let status = cases
        .complete_after_sales_case(app.req(
            &lead(),
            pb::CompleteAfterSalesCaseRequest {
                name: created.name.clone(),
                etag: reviewed.etag.clone(),
                completion: Some(completion.clone()),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(precondition(&status), "CASE_STATE");
    let arrangement = pb::AfterSalesArrangement {
        service_type: pb::AfterSalesServiceType::OnSiteVisit as i32,
        appointment_start_time: Some(in_hours(24)),
        appointment_end_time: Some(in_hours(26)),
        address: Some(pb::PostalAddress {
            region_code: "DE".into(),
            address_lines: vec!["Hauptstr. 1".into()],
            locality: "Berlin".into(),
            ..Default::default()
        }),
        technician: "agents/tech1".into(),
        ..Default::default()
    };
    let status = cases
        .arrange_after_sales_case(app.req(
            &lead(),
            pb::ArrangeAfterSalesCaseRequest {
                name: created.name.clone(),
                etag: created.etag.clone(),
                arrangement: Some(arrangement.clone()),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(precondition(&status), "ETAG");
    let arranged = cases
        .arrange_after_sales_case(app.req(
            &lead(),
            pb::ArrangeAfterSalesCaseRequest {
                name: created.name.clone(),
                etag: reviewed.etag.clone(),
                arrangement: Some(arrangement),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .after_sales_case
        .unwrap();
    assert_eq!(
        arranged.arrangement.as_ref().unwrap().technician,
        "agents/tech1"
    );
    let completed = cases
        .complete_after_sales_case(app.req(
            &lead(),
            pb::CompleteAfterSalesCaseRequest {
                name: created.name.clone(),
                etag: arranged.etag.clone(),
                completion: Some(completion),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .after_sales_case
        .unwrap();
    let confirmed = cases
        .confirm_after_sales_case(app.req(
            &app.customer("c1"),
            pb::ConfirmAfterSalesCaseRequest {
                name: created.name.clone(),
                etag: completed.etag.clone(),
                confirmation: Some(pb::AfterSalesConfirmation {
                    satisfied: true,
                    comment: "works".into(),
                    ..Default::default()
                }),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .after_sales_case
        .unwrap();
    assert_eq!(confirmed.state, S::Confirmed as i32);
    let steps: Vec<i32> = confirmed.steps.iter().map(|s| s.step_kind).collect();
    use pb::AfterSalesStepKind as K;
    assert_eq!(
        steps,
        [
            K::Application as i32,
            K::Review as i32,
            K::Arrangement as i32,
            K::Completion as i32,
            K::Confirmation as i32
        ]
    );
    let status = cases
        .cancel_after_sales_case(app.req(
            &lead(),
            pb::CancelAfterSalesCaseRequest {
                name: created.name.clone(),
                etag: confirmed.etag.clone(),
                reason: "late".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(precondition(&status), "CASE_STATE");
    // Every step is on the ticket's history and published.
    let history = app
        .client
        .clone()
        .list_ticket_history(app.req(
            &lead(),
            pb::ListTicketHistoryRequest {
                parent: t.name.clone(),
                filter: "event_kind = AFTER_SALES_CASE_CHANGED".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .history_entries;
    assert_eq!(history.len(), 5);
    assert_eq!(history[4].after_sales_case, created.name);
    let mut states = Vec::new();
    for _ in 0..5 {
        let delivery = tokio::time::timeout(Duration::from_secs(5), events.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let payload: ev::AfterSalesCaseChanged = decode_payload(delivery.event()).unwrap();
        states.push(payload.state);
        delivery.ack().await.unwrap();
    }
    assert_eq!(states.last(), Some(&(S::Confirmed as i32)));
    let listed = cases
        .list_after_sales_cases(app.req(
            &app.customer("c1"),
            pb::ListAfterSalesCasesRequest {
                parent: "tickets/-".into(),
                filter: "state = CONFIRMED".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .after_sales_cases;
    assert_eq!(listed.len(), 1);
    let filtered = cases
        .list_after_sales_cases(app.req(&lead(), pb::ListAfterSalesCasesRequest {
            parent: t.name.clone(),
            filter: format!(
                "technician = \"agents/tech1\" AND service_type = ON_SITE_VISIT AND region = \"eu-west\" AND appointment_start_time > {}",
                chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .after_sales_cases;
    assert_eq!(filtered.len(), 1);
    let none = cases
        .list_after_sales_cases(app.req(
            &lead(),
            pb::ListAfterSalesCasesRequest {
                parent: t.name.clone(),
                filter: "service_type = RETURN".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .after_sales_cases;
    assert!(none.is_empty());
    let status = cases
        .list_after_sales_cases(app.req(
            &lead(),
            pb::ListAfterSalesCasesRequest {
                parent: t.name.clone(),
                filter: "colour = \"red\" AND state > APPLIED".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["filter", "filter"]);
    let others = cases
        .list_after_sales_cases(app.req(
            &app.customer("c2"),
            pb::ListAfterSalesCasesRequest {
                parent: "tickets/-".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .after_sales_cases;
    assert!(others.is_empty());
}

async fn bad_applications_and_arrangements_name_every_field(db: TestDatabase) {
    let app = spawn_app(db).await;
    let t = app
        .create(&lead(), ticket(app.name("c1"), "eu-west", "Washer"))
        .await;
    let mut cases = client(&app);
    let bad = pb::AfterSalesCase {
        application: Some(pb::AfterSalesApplication {
            requested_service_type: 0,
            product: Some(pb::Product {
                model: String::new(),
                serial_number: "S".repeat(65),
                ..Default::default()
            }),
            purchase_date: "2999-01-01".into(),
            problem_description: String::new(),
            attachments: vec![pb::Attachment {
                uri: "file:///etc".into(),
                file_name: "x".into(),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    };
    let status = cases
        .create_after_sales_case(app.req(
            &lead(),
            pb::CreateAfterSalesCaseRequest {
                parent: t.name.clone(),
                after_sales_case: Some(bad),
                request_id: "nope".into(),
            },
        ))
        .await
        .unwrap_err();
    let fields = bad_fields(&status);
    for field in [
        "after_sales_case.application.requested_service_type",
        "after_sales_case.application.product.model",
        "after_sales_case.application.product.serial_number",
        "after_sales_case.application.purchase_date",
        "after_sales_case.application.problem_description",
        "after_sales_case.application.attachments[0].uri",
        "request_id",
    ] {
        assert!(
            fields.iter().any(|f| f == field),
            "{field} missing from {fields:?}"
        );
    }
    assert_eq!(app.count("after_sales_cases").await, 0);
    let created = cases
        .create_after_sales_case(app.req(
            &lead(),
            pb::CreateAfterSalesCaseRequest {
                parent: t.name.clone(),
                after_sales_case: Some(application("2025-01-01")),
                request_id: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .after_sales_case
        .unwrap();
    let status = cases
        .arrange_after_sales_case(app.req(
            &lead(),
            pb::ArrangeAfterSalesCaseRequest {
                name: created.name.clone(),
                etag: String::new(),
                arrangement: Some(pb::AfterSalesArrangement {
                    service_type: pb::AfterSalesServiceType::OnSiteVisit as i32,
                    appointment_start_time: Some(in_hours(2)),
                    appointment_end_time: Some(in_hours(40)),
                    address: Some(pb::PostalAddress {
                        region_code: "de".into(),
                        ..Default::default()
                    }),
                    technician: "bob".into(),
                    ..Default::default()
                }),
            },
        ))
        .await
        .unwrap_err();
    let fields = bad_fields(&status);
    for field in [
        "etag",
        "arrangement.appointment_end_time",
        "arrangement.address.region_code",
        "arrangement.address.address_lines",
        "arrangement.technician",
    ] {
        assert!(
            fields.iter().any(|f| f == field),
            "{field} missing from {fields:?}"
        );
    }
    let status = cases
        .review_after_sales_case(app.req(
            &lead(),
            pb::ReviewAfterSalesCaseRequest {
                name: created.name.clone(),
                etag: created.etag.clone(),
                review: Some(pb::AfterSalesReview {
                    decision: pb::EligibilityDecision::NotEligible as i32,
                    ..Default::default()
                }),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["review.reason"]);
}

async fn a_closed_ticket_takes_no_case_and_nothing_is_written(db: TestDatabase) {
    let app = spawn_app(db).await;
    let t = app
        .create(&app.customer("c1"), ticket("", "eu-west", "Washer broken"))
        .await;
    app.client
        .clone()
        .close_ticket(app.req(
            &lead(),
            pb::CloseTicketRequest {
                name: t.name.clone(),
                etag: t.etag.clone(),
                reason: "duplicate of a phone call".into(),
            },
        ))
        .await
        .unwrap();
    let status = client(&app)
        .create_after_sales_case(app.req(
            &app.customer("c1"),
            pb::CreateAfterSalesCaseRequest {
                parent: t.name.clone(),
                after_sales_case: Some(application("2026-01-10")),
                request_id: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(precondition(&status), "STATE");
    assert!(status.message().contains("closed"), "{status:?}");
    assert_eq!(app.count("after_sales_cases").await, 0);
}

on_both_databases!(
    a_case_runs_from_application_to_confirmation,
    bad_applications_and_arrangements_name_every_field,
    a_closed_ticket_takes_no_case_and_nothing_is_written,
);
