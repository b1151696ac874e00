//! Contact consents.

use aftercare_platform::auth::Principal;
use aftercare_platform::testing::TestDatabase;
use aftercare_platform::time::{now_micros, to_timestamp};
use aftercare_proto::aftercare::common::v1::Channel;
use aftercare_proto::aftercare::customers::v1 as pb;
use pb::{ConsentPurpose as Purpose, ConsentState as State};
use tonic::Code;

use super::harness::{App, admin, agent, as_customer, bad_fields, customer, lead, spawn_app};

aftercare_platform::on_both_databases!(
    the_latest_consent_decision_wins_and_state_changes_are_published,
    bad_consent_input_names_every_bad_field_and_writes_nothing,
    consents_list_by_channel_and_purpose_with_filters_and_pages,
    a_merge_keeps_the_latest_decision_of_either_customer,
);

fn decision(
    customer: &str,
    channel: Channel,
    purpose: Purpose,
    state: State,
    at: Option<i64>,
) -> pb::SetConsentRequest {
    pb::SetConsentRequest {
        parent: customer.into(),
        channel: channel as i32,
        purpose: purpose as i32,
        state: state as i32,
        source: "portal preferences page".into(),
        decide_time: at.map(to_timestamp),
    }
}

async fn set(
    app: &App,
    principal: &Principal,
    request: pb::SetConsentRequest,
) -> Result<pb::Consent, tonic::Status> {
    Ok(app
        .client
        .clone()
        .set_consent(app.req(principal, request))
        .await?
        .into_inner()
        .consent
        .unwrap())
}

async fn list(
    app: &App,
    principal: &Principal,
    customer: &str,
    filter: &str,
) -> Result<Vec<pb::Consent>, tonic::Status> {
    Ok(app
        .client
        .clone()
        .list_consents(app.req(
            principal,
            pb::ListConsentsRequest {
                parent: customer.into(),
                filter: filter.into(),
                ..Default::default()
            },
        ))
        .await?
        .into_inner()
        .consents)
}

async fn the_latest_consent_decision_wins_and_state_changes_are_published(db: TestDatabase) {
    let app = spawn_app(db).await;
    let li = app.create(customer("Li Wei")).await;
    let me = as_customer(&li.name);
    let now = now_micros();
    let granted = set(
        &app,
        &me,
        decision(
            &li.name,
            Channel::Email,
            Purpose::Marketing,
            State::Granted,
            Some(now - 10_000_000),
        ),
    )
    .await
    .unwrap();
    assert_eq!(
        granted.name,
        format!("{}/consents/email-marketing", li.name)
    );
    assert_eq!(granted.state, State::Granted as i32);
    assert_eq!(app.events("ConsentChanged").await, 1);

    let mut again = decision(
        &li.name,
        Channel::Email,
        Purpose::Marketing,
        State::Granted,
        None,
    );
    again.source = "phone call, agent confirmed".into();
    let same = set(&app, &admin(), again).await.unwrap();
    assert_eq!(same.source, "phone call, agent confirmed");
    assert_eq!(
        app.events("ConsentChanged").await,
        1,
        "same state: no event"
    );

    let status = set(
        &app,
        &me,
        decision(
            &li.name,
            Channel::Email,
            Purpose::Marketing,
            State::Withdrawn,
            Some(now - 5_000_000),
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(
        status.code(),
        Code::FailedPrecondition,
        "older than the recorded decision"
    );
    let status = set(
        &app,
        &me,
        decision(
            &li.name,
            Channel::Email,
            Purpose::Marketing,
            State::Withdrawn,
            Some(now + 3_600_000_000),
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(bad_fields(&status), ["decide_time"]);

    set(
        &app,
        &me,
        decision(
            &li.name,
            Channel::Email,
            Purpose::Marketing,
            State::Withdrawn,
            None,
        ),
    )
    .await
    .unwrap();
    assert_eq!(app.events("ConsentChanged").await, 2);
    let consents = list(&app, &me, &li.name, "").await.unwrap();
    assert_eq!(consents.len(), 1);
    assert_eq!(consents[0].state, State::Withdrawn as i32);

    let other = app.create(customer("Other")).await;
    let status = set(
        &app,
        &as_customer(&other.name),
        decision(
            &li.name,
            Channel::Email,
            Purpose::Survey,
            State::Granted,
            None,
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = set(
        &app,
        &agent("eu-west"),
        decision(
            &li.name,
            Channel::Email,
            Purpose::Survey,
            State::Granted,
            None,
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
}

async fn bad_consent_input_names_every_bad_field_and_writes_nothing(db: TestDatabase) {
    let app = spawn_app(db).await;
    let li = app.create(customer("Li Wei")).await;
    let status = set(
        &app,
        &admin(),
        pb::SetConsentRequest {
            parent: li.name.clone(),
            source: " ".into(),
            decide_time: Some(prost_types::Timestamp {
                seconds: 0,
                nanos: -5,
            }),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(
        bad_fields(&status),
        ["channel", "purpose", "state", "source", "decide_time"]
    );
    assert_eq!(app.count("consents").await, 0);
    assert_eq!(
        app.count("aftercare_outbox").await,
        1,
        "only the creation event"
    );
}

async fn consents_list_by_channel_and_purpose_with_filters_and_pages(db: TestDatabase) {
    let app = spawn_app(db).await;
    let mut li = customer("Li Wei");
    li.region = "cn-east".into();
    let li = app.create(li).await;
    for (channel, purpose, state) in [
        (Channel::Phone, Purpose::Survey, State::Withdrawn),
        (Channel::Email, Purpose::Marketing, State::Granted),
        (Channel::Email, Purpose::Survey, State::Granted),
    ] {
        set(
            &app,
            &admin(),
            decision(&li.name, channel, purpose, state, None),
        )
        .await
        .unwrap();
    }
    let mut ids = Vec::new();
    let mut token = String::new();
    loop {
        let page = app
            .client
            .clone()
            .list_consents(app.req(
                &agent("cn-east"),
                pb::ListConsentsRequest {
                    parent: li.name.clone(),
                    page_size: 2,
                    page_token: token,
                    filter: String::new(),
                },
            ))
            .await
            .unwrap()
            .into_inner();
        ids.extend(
            page.consents
                .iter()
                .map(|c| c.name.rsplit('/').next().unwrap().to_owned()),
        );
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(ids, ["phone-survey", "email-survey", "email-marketing"]);
    let surveys = list(
        &app,
        &admin(),
        &li.name,
        "purpose = SURVEY AND state = GRANTED",
    )
    .await
    .unwrap();
    assert_eq!(surveys.len(), 1);
    let status = list(&app, &admin(), &li.name, "purpose = SPAM")
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["filter"]);
    let status = list(&app, &agent("eu-west"), &li.name, "")
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
}

async fn a_merge_keeps_the_latest_decision_of_either_customer(db: TestDatabase) {
    let app = spawn_app(db).await;
    let survivor = app.create(customer("Li Wei")).await;
    let duplicate = app.create(customer("Wei Li")).await;
    let now = now_micros();
    set(
        &app,
        &admin(),
        decision(
            &survivor.name,
            Channel::Email,
            Purpose::Marketing,
            State::Granted,
            Some(now - 20_000_000),
        ),
    )
    .await
    .unwrap();
    set(
        &app,
        &admin(),
        decision(
            &duplicate.name,
            Channel::Email,
            Purpose::Marketing,
            State::Withdrawn,
            Some(now - 10_000_000),
        ),
    )
    .await
    .unwrap();
    set(
        &app,
        &admin(),
        decision(
            &duplicate.name,
            Channel::Phone,
            Purpose::Survey,
            State::Granted,
            None,
        ),
    )
    .await
    .unwrap();
    app.client
        .clone()
        .merge_customers(app.req(
            &lead(),
            pb::MergeCustomersRequest {
                survivor: survivor.name.clone(),
                merged: duplicate.name.clone(),
                survivor_etag: survivor.etag.clone(),
                merged_etag: duplicate.etag.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    let consents = list(&app, &admin(), &survivor.name, "").await.unwrap();
    let states: Vec<(String, i32)> = consents
        .iter()
        .map(|c| (c.name.rsplit('/').next().unwrap().to_owned(), c.state))
        .collect();
    assert_eq!(
        states,
        [
            ("phone-survey".to_owned(), State::Granted as i32),
            ("email-marketing".to_owned(), State::Withdrawn as i32),
        ]
    );
    assert!(
        list(&app, &admin(), &duplicate.name, "")
            .await
            .unwrap()
            .is_empty()
    );
}
