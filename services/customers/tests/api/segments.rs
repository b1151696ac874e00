//! Segments: saved customer filters with counts.

use aftercare_platform::auth::Principal;
use aftercare_platform::testing::TestDatabase;
use aftercare_proto::aftercare::customers::v1 as pb;
use prost_types::FieldMask;
use tonic::Code;

use super::harness::{App, admin, agent, as_customer, bad_fields, customer, spawn_app};

aftercare_platform::on_both_databases!(
    segments_count_the_customers_their_filter_selects,
    segments_list_by_name_update_and_delete_with_etags,
    bad_segments_name_every_bad_field_and_write_nothing,
);

async fn vip(
    app: &App,
    name: &str,
    stage: pb::CustomerLifecycleStage,
    region: &str,
) -> pb::Customer {
    let mut c = customer(name);
    c.tier = pb::CustomerTier::Vip as i32;
    c.lifecycle_stage = stage as i32;
    c.region = region.into();
    app.create(c).await
}

fn segment(name: &str, filter: &str, query: &str) -> pb::Segment {
    pb::Segment {
        display_name: name.into(),
        filter: filter.into(),
        query: query.into(),
        ..Default::default()
    }
}

async fn create(
    app: &App,
    principal: &Principal,
    seg: pb::Segment,
) -> Result<pb::Segment, tonic::Status> {
    Ok(app
        .client
        .clone()
        .create_segment(app.req(
            principal,
            pb::CreateSegmentRequest {
                segment: Some(seg),
                request_id: String::new(),
            },
        ))
        .await?
        .into_inner()
        .segment
        .unwrap())
}

async fn get(app: &App, principal: &Principal, name: &str) -> Result<pb::Segment, tonic::Status> {
    Ok(app
        .client
        .clone()
        .get_segment(app.req(principal, pb::GetSegmentRequest { name: name.into() }))
        .await?
        .into_inner()
        .segment
        .unwrap())
}

const AT_RISK_IN_EUROPE: &str =
    r#"tier = VIP AND lifecycle_stage = AT_RISK AND region = "eu-west""#;

async fn segments_count_the_customers_their_filter_selects(db: TestDatabase) {
    let app = spawn_app(db).await;
    vip(&app, "Anna", pb::CustomerLifecycleStage::AtRisk, "eu-west").await;
    vip(&app, "Ben", pb::CustomerLifecycleStage::AtRisk, "eu-west").await;
    vip(&app, "Chen", pb::CustomerLifecycleStage::AtRisk, "cn-east").await;
    vip(&app, "Dora", pb::CustomerLifecycleStage::Active, "eu-west").await;
    app.create(customer("Eve")).await;

    let at_risk = create(
        &app,
        &admin(),
        segment("VIPs at risk in eu-west", AT_RISK_IN_EUROPE, ""),
    )
    .await
    .unwrap();
    assert_eq!(at_risk.customer_count, 2);
    vip(&app, "Fritz", pb::CustomerLifecycleStage::AtRisk, "eu-west").await;
    assert_eq!(
        get(&app, &agent("eu-west"), &at_risk.name)
            .await
            .unwrap()
            .customer_count,
        2,
        "stored count"
    );
    let fresh = app
        .client
        .clone()
        .get_segment_count(app.req(
            &agent("eu-west"),
            pb::GetSegmentCountRequest {
                name: at_risk.name.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(fresh.customer_count, 3);
    let stored = get(&app, &admin(), &at_risk.name).await.unwrap();
    assert_eq!(stored.customer_count, 3);
    assert_eq!(stored.etag, at_risk.etag, "a count is not a change");

    vip(&app, "Greta", pb::CustomerLifecycleStage::AtRisk, "eu-west").await;
    let refreshed = aftercare_customers::refresh_segment_counts(app.service.db())
        .await
        .unwrap();
    assert_eq!(refreshed, 1);
    assert_eq!(
        get(&app, &admin(), &at_risk.name)
            .await
            .unwrap()
            .customer_count,
        4,
        "the hourly refresh"
    );

    let named = create(&app, &admin(), segment("Names with an n", "", "nn"))
        .await
        .unwrap();
    assert_eq!(named.customer_count, 1, "Anna");
    let everyone = create(&app, &admin(), segment("Everyone", "", ""))
        .await
        .unwrap();
    assert_eq!(everyone.customer_count, 7);
}

async fn segments_list_by_name_update_and_delete_with_etags(db: TestDatabase) {
    let app = spawn_app(db).await;
    vip(&app, "Anna", pb::CustomerLifecycleStage::AtRisk, "eu-west").await;
    vip(&app, "Chen", pb::CustomerLifecycleStage::AtRisk, "cn-east").await;
    for name in ["Zeta", "Alpha", "Mu"] {
        create(&app, &admin(), segment(name, "tier = VIP", ""))
            .await
            .unwrap();
    }
    let mut names = Vec::new();
    let mut token = String::new();
    loop {
        let page = app
            .client
            .clone()
            .list_segments(app.req(
                &agent("eu-west"),
                pb::ListSegmentsRequest {
                    page_size: 2,
                    page_token: token,
                    filter: String::new(),
                },
            ))
            .await
            .unwrap()
            .into_inner();
        names.extend(page.segments.into_iter().map(|s| s.display_name));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(names, ["Alpha", "Mu", "Zeta"]);
    let alpha = app
        .client
        .clone()
        .list_segments(app.req(
            &admin(),
            pb::ListSegmentsRequest {
                filter: r#"display_name = "Alpha""#.into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .segments
        .remove(0);
    assert_eq!(alpha.customer_count, 2);

    let mut change = alpha.clone();
    change.filter = r#"tier = VIP AND region = "cn-east""#.into();
    let update = |seg: pb::Segment| {
        app.req(
            &admin(),
            pb::UpdateSegmentRequest {
                segment: Some(seg),
                update_mask: Some(FieldMask {
                    paths: vec!["filter".into()],
                }),
            },
        )
    };
    let updated = app
        .client
        .clone()
        .update_segment(update(change.clone()))
        .await
        .unwrap()
        .into_inner()
        .segment
        .unwrap();
    assert_eq!(updated.customer_count, 1, "recounted on write");
    assert_ne!(updated.etag, alpha.etag);
    let status = app
        .client
        .clone()
        .update_segment(update(change))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);

    let delete = |etag: &str| {
        app.req(
            &admin(),
            pb::DeleteSegmentRequest {
                name: alpha.name.clone(),
                etag: etag.into(),
            },
        )
    };
    let status = app
        .client
        .clone()
        .delete_segment(delete(&alpha.etag))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    app.client
        .clone()
        .delete_segment(delete(&updated.etag))
        .await
        .unwrap();
    assert_eq!(
        get(&app, &admin(), &alpha.name).await.unwrap_err().code(),
        Code::NotFound
    );
}

async fn bad_segments_name_every_bad_field_and_write_nothing(db: TestDatabase) {
    let app = spawn_app(db).await;
    let mut bad = segment("", "tier = GOLD", "x");
    bad.description = "d".repeat(2001);
    let status = create(&app, &admin(), bad).await.unwrap_err();
    assert_eq!(
        bad_fields(&status),
        [
            "segment.display_name",
            "segment.description",
            "segment.filter",
            "segment.query"
        ]
    );
    let someone = app.create(customer("Someone")).await;
    let status = create(&app, &agent("eu-west"), segment("Mine", "", ""))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = app
        .client
        .clone()
        .list_segments(app.req(
            &as_customer(&someone.name),
            pb::ListSegmentsRequest::default(),
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(app.count("segments").await, 0);
}
