//! GetTicketStats.

use aftercare_platform::auth::{Principal, Role};
use aftercare_platform::on_both_databases;
use aftercare_platform::testing::TestDatabase;
use aftercare_proto::aftercare::tickets::v1 as pb;

use super::support::{agent, bad_fields, lead, spawn_app, ticket};

fn analyst() -> Principal {
    Principal {
        subject: "agents/analyst".into(),
        roles: vec![Role::Analyst],
        region: None,
        customer: None,
        scopes: vec![],
        display_name: None,
        via: None,
    }
}

async fn statistics_count_volumes_times_and_backlog_by_dimension(db: TestDatabase) {
    let app = spawn_app(db).await;
    let start = prost_types::Timestamp {
        seconds: chrono_now() - 60,
        nanos: 0,
    };
    let west = app
        .create(&lead(), ticket(app.name("c1"), "eu-west", "West one"))
        .await;
    app.create(&lead(), ticket(app.name("c1"), "eu-west", "West two"))
        .await;
    app.create(&lead(), ticket(app.name("c2"), "cn-east", "East"))
        .await;
    let mut client = app.client.clone();
    let replied = client
        .create_message(app.req(
            &lead(),
            pb::CreateMessageRequest {
                parent: west.name.clone(),
                message: Some(pb::TicketMessage {
                    visibility: pb::MessageVisibility::Public as i32,
                    body: "done".into(),
                    ..Default::default()
                }),
                set_status: pb::TicketStatus::Resolved as i32,
                etag: west.etag.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    assert_eq!(replied.status, pb::TicketStatus::Resolved as i32);
    let response = client
        .get_ticket_stats(app.req(
            &analyst(),
            pb::GetTicketStatsRequest {
                start_time: Some(start),
                group_by: vec![
                    pb::TicketStatsDimension::Region as i32,
                    pb::TicketStatsDimension::Period as i32,
                ],
                time_basis: pb::TimeBasis::Calendar as i32,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let total = response.total.unwrap();
    assert_eq!(total.created_count, 3);
    assert_eq!(total.resolved_count, 1);
    assert_eq!(total.backlog_count, 2);
    assert_eq!(total.first_response.unwrap().count, 1);
    assert_eq!(total.resolution.unwrap().count, 1);
    let regions: Vec<(String, i64)> = response
        .groups
        .iter()
        .map(|g| (g.region.clone(), g.stats.as_ref().unwrap().created_count))
        .collect();
    assert_eq!(
        regions,
        [("cn-east".to_owned(), 1), ("eu-west".to_owned(), 2)]
    );
    assert!(response.groups[0].period_start_time.is_some());
    let filtered = client
        .get_ticket_stats(app.req(
            &lead(),
            pb::GetTicketStatsRequest {
                start_time: Some(start),
                filter: "region = \"cn-east\"".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(filtered.total.unwrap().created_count, 1);
    let status = client
        .get_ticket_stats(app.req(
            &agent("a1", "eu-west"),
            pb::GetTicketStatsRequest {
                start_time: Some(start),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    let status = client
        .get_ticket_stats(app.req(
            &analyst(),
            pb::GetTicketStatsRequest {
                start_time: None,
                filter: "status = NEW".into(),
                group_by: vec![0, 1, 1, 2],
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    let fields = bad_fields(&status);
    for field in [
        "start_time",
        "filter",
        "group_by[0]",
        "group_by[2]",
        "group_by",
    ] {
        assert!(
            fields.iter().any(|f| f == field),
            "{field} missing from {fields:?}"
        );
    }
}

async fn backlog_is_counted_at_the_end_of_each_bucket(db: TestDatabase) {
    const DAY: i64 = 86_400;
    let app = spawn_app(db).await;
    let mut client = app.client.clone();
    let early = app
        .create(&lead(), ticket(app.name("c1"), "eu-west", "Early"))
        .await;
    let late = app
        .create(&lead(), ticket(app.name("c1"), "eu-west", "Late"))
        .await;
    let resolved = client
        .create_message(app.req(
            &lead(),
            pb::CreateMessageRequest {
                parent: early.name.clone(),
                message: Some(pb::TicketMessage {
                    visibility: pb::MessageVisibility::Public as i32,
                    body: "done".into(),
                    ..Default::default()
                }),
                set_status: pb::TicketStatus::Resolved as i32,
                etag: early.etag.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    assert_eq!(resolved.status, pb::TicketStatus::Resolved as i32);
    // Two whole UTC days in the past: `early` created on day 1 and resolved on day 2,
    // `late` created on day 2 and still open.
    let day1 = (chrono_now() / DAY - 3) * DAY;
    let day2 = day1 + DAY;
    let micros = |seconds: i64| seconds * 1_000_000;
    let id = |name: &str| name.rsplit('/').next().unwrap().to_owned();
    for (ticket, created, resolved) in [
        (&early, day1 + 3_600, Some(day2 + 3_600)),
        (&late, day2 + 7_200, None),
    ] {
        sqlx::query(&format!(
            "UPDATE tickets SET create_time = {}, first_response_time = {}, resolve_time = {} \
             WHERE id = '{}'",
            micros(created),
            resolved.map_or("NULL".to_owned(), |r| micros(r).to_string()),
            resolved.map_or("NULL".to_owned(), |r| micros(r).to_string()),
            id(&ticket.name),
        ))
        .execute(app.tickets.db().writer())
        .await
        .unwrap();
    }
    let response = client
        .get_ticket_stats(app.req(
            &analyst(),
            pb::GetTicketStatsRequest {
                start_time: Some(prost_types::Timestamp {
                    seconds: day1,
                    nanos: 0,
                }),
                end_time: Some(prost_types::Timestamp {
                    seconds: day2 + DAY,
                    nanos: 0,
                }),
                group_by: vec![pb::TicketStatsDimension::Period as i32],
                interval: aftercare_proto::aftercare::common::v1::Interval::Day as i32,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let total = response.total.unwrap();
    assert_eq!((total.created_count, total.backlog_count), (2, 1));
    let buckets: Vec<(i64, i64, i64, i64)> = response
        .groups
        .iter()
        .map(|g| {
            let stats = g.stats.as_ref().unwrap();
            (
                g.period_start_time.unwrap().seconds,
                stats.created_count,
                stats.resolved_count,
                stats.backlog_count,
            )
        })
        .collect();
    // On day 1, `early` was still open at the end of the bucket.
    assert_eq!(buckets, [(day1, 1, 1, 1), (day2, 1, 0, 1)]);
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

on_both_databases!(
    statistics_count_volumes_times_and_backlog_by_dimension,
    backlog_is_counted_at_the_end_of_each_bucket,
);
