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

/// One ticket of the many-tickets test, as the test sets it up.
struct Planned {
    region: &'static str,
    day: i64,
    create: i64,
    first_response: Option<i64>,
    resolve: Option<i64>,
    close: Option<i64>,
    status: &'static str,
    breached: bool,
}

async fn statistics_over_many_tickets_match_the_counts_expected_per_bucket(db: TestDatabase) {
    const DAY: i64 = 86_400;
    const MINUTE: i64 = 60;
    let app = spawn_app(db).await;
    let mut client = app.client.clone();
    let day0 = (chrono_now() / DAY - 8) * DAY;
    // 90 tickets over 5 days and 2 regions: some resolved (some after their day ends), some
    // closed unresolved, some breached, first responses of varied lengths.
    let plan: Vec<Planned> = (0..90_i64)
        .map(|i| {
            let day = i % 5;
            let create = day0 + day * DAY + (i % 12) * 1_800;
            let resolve = (i % 3 == 0).then(|| create + (i + 1) * 1_800);
            let close = (resolve.is_none() && i % 7 == 0).then(|| create + 3_600);
            Planned {
                region: if i % 2 == 0 { "eu-west" } else { "cn-east" },
                day,
                create,
                first_response: (i % 4 != 1).then(|| create + (i % 9 + 1) * 10 * MINUTE),
                resolve,
                close,
                status: match (resolve, close) {
                    (Some(_), _) => "RESOLVED",
                    (None, Some(_)) => "CLOSED",
                    _ => "OPEN",
                },
                breached: i % 6 == 1,
            }
        })
        .collect();
    let micros = |t: Option<i64>| t.map_or("NULL".to_owned(), |t| (t * 1_000_000).to_string());
    for (i, p) in plan.iter().enumerate() {
        let created = app
            .create(
                &lead(),
                ticket(app.name("c1"), p.region, &format!("Ticket {i}")),
            )
            .await;
        let id = created.name.rsplit('/').next().unwrap().to_owned();
        sqlx::query(&format!(
            "UPDATE tickets SET create_time = {}, first_response_time = {}, resolve_time = {}, \
             close_time = {}, status = '{}', sla_policy = 'slaPolicies/x', \
             first_response_breached = {}, resolution_breached = 0 WHERE id = '{id}'",
            micros(Some(p.create)),
            micros(p.first_response),
            micros(p.resolve),
            micros(p.close),
            p.status,
            i64::from(p.breached),
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
                    seconds: day0,
                    nanos: 0,
                }),
                end_time: Some(prost_types::Timestamp {
                    seconds: day0 + 5 * DAY,
                    nanos: 0,
                }),
                group_by: vec![
                    pb::TicketStatsDimension::Period as i32,
                    pb::TicketStatsDimension::Region as i32,
                ],
                interval: aftercare_proto::aftercare::common::v1::Interval::Day as i32,
                time_basis: pb::TimeBasis::Calendar as i32,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();

    // What each group should hold, counted here from the plan.
    let nearest = |mut values: Vec<i64>, p: f64| {
        values.sort_unstable();
        values[((values.len() - 1) as f64 * p).round() as usize]
    };
    let expect = |members: Vec<&Planned>, as_of: i64| {
        let fr: Vec<i64> = members
            .iter()
            .filter_map(|p| p.first_response.map(|t| t - p.create))
            .collect();
        let fr_decided = members
            .iter()
            .filter(|p| p.breached || p.first_response.is_some())
            .count() as i64;
        let fr_met = members
            .iter()
            .filter(|p| !p.breached && p.first_response.is_some())
            .count() as i64;
        (
            members.len() as i64,
            members.iter().filter(|p| p.resolve.is_some()).count() as i64,
            members.iter().filter(|p| p.status == "CLOSED").count() as i64,
            members
                .iter()
                .filter(|p| {
                    p.status == "OPEN"
                        || [p.resolve, p.close]
                            .into_iter()
                            .flatten()
                            .min()
                            .is_some_and(|end| end > as_of)
                })
                .count() as i64,
            members.iter().filter(|p| p.breached).count() as i64,
            fr.len() as i64,
            fr.iter().sum::<i64>() / fr.len().max(1) as i64,
            nearest(fr.clone(), 0.5),
            nearest(fr, 0.9),
            fr_met as f64 / fr_decided as f64,
        )
    };
    let seconds = |d: &Option<prost_types::Duration>| d.as_ref().map_or(0, |d| d.seconds);
    let actual = |stats: &pb::TicketStats| {
        let fr = stats.first_response.as_ref().unwrap();
        (
            stats.created_count,
            stats.resolved_count,
            stats.closed_unresolved_count,
            stats.backlog_count,
            stats.sla_breached_count,
            fr.count,
            seconds(&fr.average),
            seconds(&fr.p50),
            seconds(&fr.p90),
            stats.first_response_sla_compliance,
        )
    };
    let mut expected_groups = Vec::new();
    for day in 0..5 {
        for region in ["cn-east", "eu-west"] {
            let members: Vec<&Planned> = plan
                .iter()
                .filter(|p| p.day == day && p.region == region)
                .collect();
            let as_of = day0 + (day + 1) * DAY;
            expected_groups.push((day0 + day * DAY, region.to_owned(), expect(members, as_of)));
        }
    }
    let groups: Vec<_> = response
        .groups
        .iter()
        .map(|g| {
            (
                g.period_start_time.unwrap().seconds,
                g.region.clone(),
                actual(g.stats.as_ref().unwrap()),
            )
        })
        .collect();
    assert_eq!(groups, expected_groups);
    assert_eq!(
        actual(response.total.as_ref().unwrap()),
        expect(plan.iter().collect(), day0 + 5 * DAY)
    );
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
    statistics_over_many_tickets_match_the_counts_expected_per_bucket,
);
