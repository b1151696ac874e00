//! Which survey a resolved ticket gets (its region, kind and intake channel), in which
//! language (the customer's, from the customers service's events, with fallbacks), and what
//! the notifier is told so the customer receives the link.

use aftercare_platform::on_both_databases;
use aftercare_platform::testing::TestDatabase;
use aftercare_platform::time::{now_micros, to_timestamp};
use aftercare_proto::aftercare::common::v1 as common;
use aftercare_proto::aftercare::events::v1 as ev;
use aftercare_proto::aftercare::feedback::v1 as pb;
use aftercare_proto::aftercare::tickets::v1 as tickets_pb;
use tonic::Code;

use super::harness::{App, bad_fields, csat_survey, lead, resolved, spawn_app, uuid_for};

const ALICE: &str = "customers/0193a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a01";
const BOB: &str = "customers/0193a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a02";
const CAROL: &str = "customers/0193a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a03";
const DAVE: &str = "customers/0193a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a04";

/// A survey titled `title` (in English and Chinese) for tickets of `kinds` from `channels`.
fn targeted(
    title: &str,
    kinds: &[tickets_pb::TicketKind],
    channels: &[common::Channel],
) -> pb::Survey {
    let mut survey = csat_survey();
    survey.titles.insert("en".into(), title.into());
    survey
        .titles
        .insert("zh-CN".into(), format!("{title}（中文）"));
    survey.ticket_kinds = kinds.iter().map(|k| *k as i32).collect();
    survey.ticket_channels = channels.iter().map(|c| *c as i32).collect();
    survey
}

/// Resolves `label`'s ticket of `kind`, from `channel`, for `customer`.
async fn resolve(
    app: &App,
    label: &str,
    customer: &str,
    kind: tickets_pb::TicketKind,
    channel: common::Channel,
) -> String {
    let ticket = format!("tickets/{}", uuid_for(label));
    let mut event = resolved(&ticket, customer, "cn-east");
    if let Some(snapshot) = event.ticket.as_mut() {
        snapshot.kind = kind as i32;
        snapshot.channel = channel as i32;
    }
    app.deliver("tickets", &ticket, &event).await;
    ticket
}

async fn invitation_of(app: &App, ticket: &str) -> Option<pb::Invitation> {
    app.client
        .clone()
        .list_invitations(app.req(
            &lead(),
            pb::ListInvitationsRequest {
                parent: "surveys/-".into(),
                filter: format!("ticket = \"{ticket}\""),
                ..Default::default()
            },
        ))
        .await
        .expect("list invitations")
        .into_inner()
        .invitations
        .pop()
}

async fn the_survey_for_the_tickets_kind_and_channel_is_chosen(db: TestDatabase) {
    let app = spawn_app(db).await;
    use common::Channel::{Chat, Phone, Web};
    use tickets_pb::TicketKind::{AfterSales, Complaint, Inquiry};
    let repairs = app
        .create_survey(targeted("Your repair", &[AfterSales], &[]))
        .await;
    let complaints_by_phone = app
        .create_survey(targeted("Your complaint", &[Complaint], &[Phone]))
        .await;
    assert_eq!(repairs.ticket_kinds, [AfterSales as i32]);
    assert_eq!(complaints_by_phone.ticket_channels, [Phone as i32]);

    let repair = resolve(&app, "repair", ALICE, AfterSales, Web).await;
    let complaint_by_phone = resolve(&app, "complaint-phone", BOB, Complaint, Phone).await;
    let complaint_by_chat = resolve(&app, "complaint-chat", CAROL, Complaint, Chat).await;
    let inquiry = resolve(&app, "inquiry", DAVE, Inquiry, Web).await;
    app.wait_handled(4).await;
    let survey_of = |i: Option<pb::Invitation>| {
        i.map(|i| {
            i.name
                .split("/invitations/")
                .next()
                .unwrap_or_default()
                .to_owned()
        })
    };
    assert_eq!(
        survey_of(invitation_of(&app, &repair).await),
        Some(repairs.name.clone())
    );
    assert_eq!(
        survey_of(invitation_of(&app, &complaint_by_phone).await),
        Some(complaints_by_phone.name.clone())
    );
    // No survey targets complaints from chat, nor inquiries: nobody is invited.
    assert_eq!(invitation_of(&app, &complaint_by_chat).await, None);
    assert_eq!(invitation_of(&app, &inquiry).await, None);

    // An unscoped survey catches what the targeted ones leave; the targeted ones still win.
    app.create_survey(targeted("General", &[], &[])).await;
    let second_repair = resolve(&app, "repair-2", ALICE, AfterSales, Chat).await;
    let second_inquiry = resolve(&app, "inquiry-2", DAVE, Inquiry, Web).await;
    app.wait_handled(6).await;
    assert_eq!(
        survey_of(invitation_of(&app, &second_repair).await),
        Some(repairs.name.clone())
    );
    assert!(invitation_of(&app, &second_inquiry).await.is_some());
}

async fn bad_targeting_is_refused_naming_each_field(db: TestDatabase) {
    let app = spawn_app(db).await;
    let mut survey = csat_survey();
    survey.ticket_kinds = vec![
        tickets_pb::TicketKind::Complaint as i32,
        0,
        42,
        tickets_pb::TicketKind::Complaint as i32,
    ];
    survey.ticket_channels = vec![common::Channel::Phone as i32, 99];
    let status = app
        .client
        .clone()
        .create_survey(app.req(
            &lead(),
            pb::CreateSurveyRequest {
                survey: Some(survey),
                request_id: String::new(),
            },
        ))
        .await
        .expect_err("bad targeting is refused");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        bad_fields(&status),
        [
            "survey.ticket_kinds[1]",
            "survey.ticket_kinds[2]",
            "survey.ticket_kinds[3]",
            "survey.ticket_channels[1]",
        ]
    );
    assert_eq!(app.count("surveys").await, 0);

    // Targeting is updatable through the mask, and bad values there are refused too.
    let created = app.create_survey(csat_survey()).await;
    let mut change = created.clone();
    change.ticket_kinds = vec![tickets_pb::TicketKind::AfterSales as i32];
    let updated = app
        .client
        .clone()
        .update_survey(app.req(
            &lead(),
            pb::UpdateSurveyRequest {
                survey: Some(change.clone()),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["ticket_kinds".into()],
                }),
            },
        ))
        .await
        .expect("update the targeting")
        .into_inner()
        .survey
        .expect("a survey");
    assert_eq!(
        updated.ticket_kinds,
        [tickets_pb::TicketKind::AfterSales as i32]
    );
    change.etag = updated.etag.clone();
    change.ticket_channels = vec![-1];
    let status = app
        .client
        .clone()
        .update_survey(app.req(
            &lead(),
            pb::UpdateSurveyRequest {
                survey: Some(change),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["ticket_channels".into()],
                }),
            },
        ))
        .await
        .expect_err("a bad channel is refused");
    assert_eq!(bad_fields(&status), ["survey.ticket_channels[0]"]);
}

/// The customers service's view of `customer` with `locale`, changed at `seconds_ago`.
fn snapshot(customer: &str, locale: &str, seconds_ago: i64) -> ev::CustomerSnapshot {
    ev::CustomerSnapshot {
        name: customer.into(),
        locale: locale.into(),
        update_time: Some(to_timestamp(now_micros() - seconds_ago * 1_000_000)),
        ..Default::default()
    }
}

async fn invitations_go_out_in_the_customers_language_with_a_fallback(db: TestDatabase) {
    let app = spawn_app(db).await;
    app.create_survey(csat_survey()).await;
    // Alice prefers British English (the survey has `en`); Bob French (the survey has
    // neither, so the ticket's Chinese); Carol changed to Chinese after English, and an older
    // update arriving late does not undo it; Dave is unknown to the customers service's
    // events (the ticket's language).
    app.deliver(
        "customers",
        ALICE,
        &ev::CustomerCreated {
            customer: Some(snapshot(ALICE, "en-GB", 60)),
            ..Default::default()
        },
    )
    .await;
    app.deliver(
        "customers",
        BOB,
        &ev::CustomerCreated {
            customer: Some(snapshot(BOB, "fr-FR", 60)),
            ..Default::default()
        },
    )
    .await;
    app.deliver(
        "customers",
        CAROL,
        &ev::CustomerUpdated {
            customer: Some(snapshot(CAROL, "zh-CN", 10)),
            ..Default::default()
        },
    )
    .await;
    app.deliver(
        "customers",
        CAROL,
        &ev::CustomerUpdated {
            customer: Some(snapshot(CAROL, "en", 30)),
            ..Default::default()
        },
    )
    .await;
    let english_ticket = |label: &'static str, customer: &'static str| {
        let ticket = format!("tickets/{}", uuid_for(label));
        let mut event = resolved(&ticket, customer, "cn-east");
        if let Some(snapshot) = event.ticket.as_mut() {
            snapshot.language_code = if customer == DAVE { "zh-CN" } else { "en" }.into();
        }
        (ticket, event)
    };
    let (alice, alice_event) = english_ticket("alice", ALICE);
    let (carol, carol_event) = english_ticket("carol", CAROL);
    let (dave, dave_event) = english_ticket("dave", DAVE);
    let bob = format!("tickets/{}", uuid_for("bob"));
    app.deliver("tickets", &alice, &alice_event).await;
    app.deliver("tickets", &bob, &resolved(&bob, BOB, "cn-east"))
        .await;
    app.deliver("tickets", &carol, &carol_event).await;
    app.deliver("tickets", &dave, &dave_event).await;
    app.wait_handled(8).await;
    let language = |i: Option<pb::Invitation>| i.expect("an invitation").language;
    assert_eq!(language(invitation_of(&app, &alice).await), "en");
    assert_eq!(language(invitation_of(&app, &bob).await), "zh-CN");
    assert_eq!(language(invitation_of(&app, &carol).await), "zh-CN");
    assert_eq!(language(invitation_of(&app, &dave).await), "zh-CN");

    // The notifier is told, for each, whom to reach, on which channel, the title in the
    // invitation's language and the link with a token that answers the survey; the token is
    // in no other event.
    let deliveries = app.outbox::<ev::SurveyInvitationDelivery>().await;
    assert_eq!(deliveries.len(), 4);
    let for_alice = deliveries
        .iter()
        .find(|d| d.ticket == alice)
        .expect("Alice's delivery");
    assert_eq!(for_alice.customer, ALICE);
    assert_eq!(for_alice.channel, common::Channel::Chat as i32);
    assert_eq!(for_alice.title, "How did we do?");
    let for_bob = deliveries
        .iter()
        .find(|d| d.ticket == bob)
        .expect("Bob's delivery");
    assert_eq!(for_bob.title, "服务评价");
    let token = for_alice
        .survey_uri
        .rsplit_once("#token=")
        .map(|(_, token)| token.to_owned())
        .expect("a link with the token");
    let looked_up = app
        .client
        .clone()
        .lookup_invitation(tonic::Request::new(pb::LookupInvitationRequest {
            token: token.clone(),
        }))
        .await
        .expect("the delivered token finds the invitation")
        .into_inner();
    assert_eq!(looked_up.invitation, for_alice.invitation);
    assert_eq!(looked_up.language, "en");
    for sent in app.outbox::<ev::SurveyInvitationSent>().await {
        assert!(!format!("{sent:?}").contains(&token), "{sent:?}");
    }

    // An erased customer's language is forgotten.
    app.deliver(
        "customers",
        ALICE,
        &ev::CustomerErased {
            customer: ALICE.into(),
            ..Default::default()
        },
    )
    .await;
    app.wait_handled(9).await;
    assert_eq!(
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM customer_locales WHERE customer = $1")
            .bind(ALICE)
            .fetch_one(app.feedback.db().reader())
            .await
            .expect("count"),
        0
    );
}

on_both_databases!(
    the_survey_for_the_tickets_kind_and_channel_is_chosen,
    bad_targeting_is_refused_naming_each_field,
    invitations_go_out_in_the_customers_language_with_a_fallback,
);
