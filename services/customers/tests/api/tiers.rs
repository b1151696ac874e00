//! Tier rules, their evaluation, and promotion by loyalty.

use aftercare_platform::auth::Principal;
use aftercare_platform::testing::TestDatabase;
use aftercare_proto::aftercare::customers::v1 as pb;
use pb::{CustomerTier as Tier, TierRuleMetric as Metric};
use prost_types::FieldMask;
use tonic::Code;

use super::harness::{App, admin, agent, as_customer, bad_fields, customer, lead, spawn_app};

aftercare_platform::on_both_databases!(
    tier_rules_are_created_listed_updated_and_deleted,
    concurrent_retries_of_a_tier_rule_create_make_one_rule,
    the_nightly_review_demotes_when_points_leave_the_window,
    bad_tier_rules_name_every_bad_field,
    loyalty_promotes_customers_by_the_enabled_rules,
    evaluation_demotes_only_when_the_rule_says_so_and_never_a_locked_tier,
);

fn rule(name: &str, tier: Tier, metric: Metric, threshold: i64, enabled: bool) -> pb::TierRule {
    pb::TierRule {
        display_name: name.into(),
        tier: tier as i32,
        metric: metric as i32,
        threshold,
        window: Some(prost_types::Duration {
            seconds: 365 * 86_400,
            nanos: 0,
        }),
        enabled,
        ..Default::default()
    }
}

async fn create(
    app: &App,
    principal: &Principal,
    rule: pb::TierRule,
) -> Result<pb::TierRule, tonic::Status> {
    Ok(app
        .client
        .clone()
        .create_tier_rule(app.req(
            principal,
            pb::CreateTierRuleRequest {
                tier_rule: Some(rule),
                request_id: String::new(),
            },
        ))
        .await?
        .into_inner()
        .tier_rule
        .unwrap())
}

async fn tier_rules_are_created_listed_updated_and_deleted(db: TestDatabase) {
    let app = spawn_app(db).await;
    let premium = create(
        &app,
        &admin(),
        rule(
            "Premium at 500 points",
            Tier::Premium,
            Metric::PointsEarned,
            500,
            true,
        ),
    )
    .await
    .unwrap();
    assert!(premium.name.starts_with("tierRules/"));
    assert_eq!(premium.window.as_ref().unwrap().seconds, 365 * 86_400);
    let vip = create(
        &app,
        &lead(),
        rule(
            "VIP at 10 000 EUR",
            Tier::Vip,
            Metric::Spend,
            1_000_000,
            false,
        ),
    )
    .await
    .unwrap();
    let potential = create(
        &app,
        &admin(),
        rule("Potential", Tier::Potential, Metric::PointsEarned, 10, true),
    )
    .await
    .unwrap();
    let status = create(
        &app,
        &admin(),
        rule("Second premium", Tier::Premium, Metric::Spend, 5, true),
    )
    .await
    .unwrap_err();
    assert_eq!(
        status.code(),
        Code::FailedPrecondition,
        "one enabled rule per tier"
    );
    let status = create(
        &app,
        &agent("eu-west"),
        rule("x", Tier::Vip, Metric::Spend, 5, false),
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);

    let mut client = app.client.clone();
    let mut names = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_tier_rules(app.req(
                &agent("eu-west"),
                pb::ListTierRulesRequest {
                    page_size: 2,
                    page_token: token,
                    filter: String::new(),
                },
            ))
            .await
            .unwrap()
            .into_inner();
        names.extend(page.tier_rules.into_iter().map(|r| r.name));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(
        names,
        [
            vip.name.clone(),
            premium.name.clone(),
            potential.name.clone()
        ]
    );
    let enabled = client
        .list_tier_rules(app.req(
            &admin(),
            pb::ListTierRulesRequest {
                filter: "enabled = true AND metric = POINTS_EARNED".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .tier_rules;
    assert_eq!(enabled.len(), 2);

    let mut change = premium.clone();
    change.threshold = 800;
    change.display_name = "ignored".into();
    let updated = client
        .update_tier_rule(app.req(
            &admin(),
            pb::UpdateTierRuleRequest {
                tier_rule: Some(change.clone()),
                update_mask: Some(FieldMask {
                    paths: vec!["threshold".into()],
                }),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .tier_rule
        .unwrap();
    assert_eq!(
        (updated.threshold, updated.display_name.as_str()),
        (800, "Premium at 500 points")
    );
    let status = client
        .update_tier_rule(app.req(
            &admin(),
            pb::UpdateTierRuleRequest {
                tier_rule: Some(change),
                update_mask: Some(FieldMask {
                    paths: vec!["threshold".into()],
                }),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "stale etag");
    let got = client
        .get_tier_rule(app.req(
            &agent("eu-west"),
            pb::GetTierRuleRequest {
                name: premium.name.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .tier_rule
        .unwrap();
    assert_eq!(got, updated);
    let someone = app.create(customer("Someone")).await;
    let status = client
        .get_tier_rule(app.req(
            &as_customer(&someone.name),
            pb::GetTierRuleRequest {
                name: premium.name.clone(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    client
        .delete_tier_rule(app.req(
            &admin(),
            pb::DeleteTierRuleRequest {
                name: premium.name.clone(),
                etag: updated.etag.clone(),
            },
        ))
        .await
        .unwrap();
    let status = client
        .get_tier_rule(app.req(
            &admin(),
            pb::GetTierRuleRequest {
                name: premium.name.clone(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
}

async fn bad_tier_rules_name_every_bad_field(db: TestDatabase) {
    let app = spawn_app(db).await;
    let mut bad = rule("", Tier::Standard, Metric::Unspecified, 0, true);
    bad.window = Some(prost_types::Duration {
        seconds: -1,
        nanos: 0,
    });
    let status = create(&app, &admin(), bad).await.unwrap_err();
    assert_eq!(
        bad_fields(&status),
        [
            "tier_rule.display_name",
            "tier_rule.tier",
            "tier_rule.metric",
            "tier_rule.threshold",
            "tier_rule.window"
        ]
    );
    let mut too_long = rule("Ten years", Tier::Vip, Metric::Spend, 1, false);
    too_long.window = Some(prost_types::Duration {
        seconds: 3661 * 86_400,
        nanos: 0,
    });
    let status = create(&app, &admin(), too_long).await.unwrap_err();
    assert_eq!(bad_fields(&status), ["tier_rule.window"]);
    assert_eq!(app.count("tier_rules").await, 0);
}

async fn earn(
    app: &App,
    customer: &str,
    points: i64,
    spend_minor: i64,
) -> pb::RecordLoyaltyEntryResponse {
    app.client
        .clone()
        .record_loyalty_entry(app.req(
            &Principal::service("orders"),
            pb::RecordLoyaltyEntryRequest {
                parent: customer.into(),
                entry: Some(pb::LoyaltyEntry {
                    kind: pb::LoyaltyEntryKind::Earn as i32,
                    points,
                    reason: "Purchase".into(),
                    spend_minor,
                    ..Default::default()
                }),
                request_id: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
}

async fn evaluate(app: &App, customer: &str, validate_only: bool) -> pb::EvaluateTierResponse {
    app.client
        .clone()
        .evaluate_tier(app.req(
            &admin(),
            pb::EvaluateTierRequest {
                name: customer.into(),
                validate_only,
            },
        ))
        .await
        .unwrap()
        .into_inner()
}

async fn loyalty_promotes_customers_by_the_enabled_rules(db: TestDatabase) {
    let app = spawn_app(db).await;
    let premium = create(
        &app,
        &admin(),
        rule("Premium", Tier::Premium, Metric::PointsEarned, 500, true),
    )
    .await
    .unwrap();
    let vip = create(
        &app,
        &admin(),
        rule("VIP (draft)", Tier::Vip, Metric::Spend, 100_000, false),
    )
    .await
    .unwrap();
    let li = app.create(customer("Li Wei")).await;
    let first = earn(&app, &li.name, 300, 60_000).await;
    assert_eq!(first.new_tier, Tier::Unspecified as i32);
    let second = earn(&app, &li.name, 300, 60_000).await;
    assert_eq!(second.new_tier, Tier::Premium as i32);
    assert_eq!(second.balance.unwrap().tier, Tier::Premium as i32);
    assert_eq!(app.get(&li.name).await.unwrap().tier, Tier::Premium as i32);
    assert_eq!(app.events("CustomerTierChanged").await, 1);

    let preview = evaluate(&app, &li.name, true).await;
    assert_eq!(
        (preview.previous_tier, preview.tier),
        (Tier::Premium as i32, Tier::Vip as i32)
    );
    assert!(preview.changed);
    assert_eq!(preview.tier_rule, vip.name);
    let spend = preview
        .evaluations
        .iter()
        .find(|e| e.tier_rule == vip.name)
        .unwrap();
    assert_eq!((spend.value, spend.met), (120_000, true));
    assert_eq!(
        app.get(&li.name).await.unwrap().tier,
        Tier::Premium as i32,
        "a preview changes nothing"
    );

    let now = evaluate(&app, &li.name, false).await;
    assert!(!now.changed, "the VIP rule is disabled");
    assert_eq!(now.evaluations.len(), 1);
    assert_eq!(now.evaluations[0].tier_rule, premium.name);
}

async fn evaluation_demotes_only_when_the_rule_says_so_and_never_a_locked_tier(db: TestDatabase) {
    let app = spawn_app(db).await;
    let mut demoting = rule(
        "Premium, kept only while earned",
        Tier::Premium,
        Metric::PointsEarned,
        500,
        true,
    );
    demoting.demote = true;
    create(&app, &admin(), demoting).await.unwrap();
    let mut premium = customer("Was premium");
    premium.tier = Tier::Premium as i32;
    let premium = app.create(premium).await;
    let mut locked = customer("Granted by hand");
    locked.tier = Tier::Vip as i32;
    locked.tier_locked = true;
    let locked = app.create(locked).await;
    let mut vip = customer("VIP without a rule");
    vip.tier = Tier::Vip as i32;
    let vip = app.create(vip).await;

    let outcome = evaluate(&app, &premium.name, false).await;
    assert_eq!(
        (outcome.tier, outcome.changed),
        (Tier::Standard as i32, true)
    );
    assert_eq!(
        app.get(&premium.name).await.unwrap().tier,
        Tier::Standard as i32
    );
    let outcome = evaluate(&app, &locked.name, false).await;
    assert!(outcome.tier_locked && !outcome.changed);
    let outcome = evaluate(&app, &vip.name, false).await;
    assert!(!outcome.changed, "no VIP rule demotes: the tier is kept");
}

async fn concurrent_retries_of_a_tier_rule_create_make_one_rule(db: TestDatabase) {
    let app = spawn_app(db).await;
    let request_id = uuid::Uuid::new_v4().to_string();
    let admin = admin();
    let calls = (0..4).map(|_| {
        let mut client = app.client.clone();
        let request = app.req(
            &admin,
            pb::CreateTierRuleRequest {
                tier_rule: Some(rule("VIP", Tier::Vip, Metric::Spend, 1_000, true)),
                request_id: request_id.clone(),
            },
        );
        async move { client.create_tier_rule(request).await }
    });
    let names: std::collections::HashSet<String> = futures::future::join_all(calls)
        .await
        .into_iter()
        .map(|r| {
            r.expect("every retry succeeds")
                .into_inner()
                .tier_rule
                .unwrap()
                .name
        })
        .collect();
    assert_eq!(names.len(), 1);
    assert_eq!(app.count("tier_rules").await, 1);
}

async fn the_nightly_review_demotes_when_points_leave_the_window(db: TestDatabase) {
    let app = spawn_app(db).await;
    let mut yearly = rule(
        "Premium for 500 points a year",
        Tier::Premium,
        Metric::PointsEarned,
        500,
        true,
    );
    yearly.demote = true;
    create(&app, &admin(), yearly).await.unwrap();
    let li = app.create(customer("Li Wei")).await;
    let bystander = app.create(customer("Never earned")).await;
    assert_eq!(
        earn(&app, &li.name, 600, 0).await.new_tier,
        Tier::Premium as i32
    );

    let db = app.service.db();
    let relay = aftercare_platform::events::Relay::new(
        db.clone(),
        app.service.bus(),
        10,
        std::time::Duration::from_secs(60),
    );
    assert_eq!(
        aftercare_customers::review_tiers(db, &relay.waker())
            .await
            .unwrap(),
        0,
        "nothing moved yet"
    );

    // Thirteen months later the points have left the rolling window.
    let thirteen_months = 396 * 86_400 * 1_000_000_i64;
    sqlx::query("UPDATE loyalty_entries SET create_time = create_time - $1")
        .bind(thirteen_months)
        .execute(db.writer())
        .await
        .unwrap();
    assert_eq!(
        aftercare_customers::review_tiers(db, &relay.waker())
            .await
            .unwrap(),
        1
    );
    assert_eq!(app.get(&li.name).await.unwrap().tier, Tier::Standard as i32);
    assert_eq!(
        app.get(&bystander.name).await.unwrap().tier,
        Tier::Standard as i32
    );
    assert_eq!(app.events("CustomerTierChanged").await, 2);
}
