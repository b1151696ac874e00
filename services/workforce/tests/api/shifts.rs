//! Shifts through the API (the DST rules are unit-tested in the domain).

use aftercare_platform::testing::TestDatabase;
use aftercare_proto::aftercare::workforce::v1 as pb;
use tonic::Code;

use super::harness::{admin, agent, always, bad_fields, customer, precondition, spawn_app};

aftercare_platform::on_both_databases!(
    a_shift_round_trips_and_says_whether_it_works_now,
    shifts_in_use_are_not_deleted,
    bad_shifts_name_every_field,
);

async fn a_shift_round_trips_and_says_whether_it_works_now(db: TestDatabase) {
    let app = spawn_app(db).await;
    let on = app.create_shift("Always", "Asia/Shanghai", always()).await;
    assert!(on.on_shift_now);
    assert_eq!(on.intervals.len(), 7);
    let off = app.create_shift("Never", "Europe/Berlin", vec![]).await;
    assert!(!off.on_shift_now);
    let updated = app
        .client()
        .update_shift(app.req(
            &admin(),
            pb::UpdateShiftRequest {
                shift: Some(pb::Shift {
                    name: off.name.clone(),
                    etag: off.etag.clone(),
                    exceptions: vec![pb::ShiftException {
                        date: "2026-10-01".into(),
                        description: "National Day".into(),
                        intervals: vec![],
                    }],
                    region: "eu-west".into(),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["exceptions".into(), "region".into()],
                }),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .shift
        .unwrap();
    assert_eq!(updated.exceptions[0].date, "2026-10-01");
    assert_eq!(updated.etag, "\"2\"");
    let listed = app
        .client()
        .list_shifts(app.req(
            &admin(),
            pb::ListShiftsRequest {
                filter: r#"region = "eu-west""#.into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.shifts.len(), 1);
    assert_eq!(listed.shifts[0].name, off.name);
    let denied = app
        .client()
        .get_shift(app.req(
            &customer(),
            pb::GetShiftRequest {
                name: on.name.clone(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
}

async fn shifts_in_use_are_not_deleted(db: TestDatabase) {
    let app = spawn_app(db).await;
    let shift = app.create_shift("Always", "UTC", always()).await;
    let mut a = agent("Ada", "ada@example.com", "eu-west");
    a.shift = shift.name.clone();
    app.create_agent(a).await;
    let in_use = app
        .client()
        .delete_shift(app.req(
            &admin(),
            pb::DeleteShiftRequest {
                name: shift.name.clone(),
                etag: shift.etag.clone(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(precondition(&in_use), "DEPENDENTS");
    let agents_on = app
        .client()
        .get_shift(app.req(
            &admin(),
            pb::GetShiftRequest {
                name: shift.name.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .shift
        .unwrap();
    assert_eq!(agents_on.agent_count, 1);
}

async fn bad_shifts_name_every_field(db: TestDatabase) {
    let app = spawn_app(db).await;
    let overlap = vec![
        pb::ShiftInterval {
            weekday: 1,
            start_minute: 540,
            duration: Some(prost_types::Duration {
                seconds: 7200,
                nanos: 0,
            }),
        },
        pb::ShiftInterval {
            weekday: 1,
            start_minute: 600,
            duration: Some(prost_types::Duration {
                seconds: 3600,
                nanos: 0,
            }),
        },
    ];
    let bad = app
        .client()
        .create_shift(app.req(
            &admin(),
            pb::CreateShiftRequest {
                shift: Some(pb::Shift {
                    display_name: String::new(),
                    time_zone: "Nowhere/Land".into(),
                    intervals: overlap,
                    ..Default::default()
                }),
                request_id: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&bad),
        ["shift.display_name", "shift.time_zone", "shift.intervals"]
    );
}
