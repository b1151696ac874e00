//! Feedback item handlers, and reclassification of any feedback.

use aftercare_platform::auth::Principal;
use aftercare_platform::request::{
    Etag, FieldViolations, PageToken, optional_text, required_text, resource_id,
};
use aftercare_platform::time::now_micros;
use aftercare_proto::aftercare::feedback::v1 as pb;
use uuid::Uuid;

use super::parse::{
    channel, feedback_enum, language, optional_name, page, region, request_key, time,
};
use super::responses::rules_classification;
use super::{Api, actor_of};
use crate::convert;
use crate::domain::access::{Reach, read_reach, write_reach};
use crate::domain::classify::{Classification, detect_language};
use crate::domain::follow_up::is_severe;
use crate::domain::records::{FeedbackItem, PendingFollowUp, StoredClassification};
use crate::domain::survey::DAY;
use crate::domain::values::{Actor, Channel, Method, Reason, Sentiment, Severity, Topic};
use crate::error::{Error, FEEDBACK_ITEM, RESPONSE, Result, finish};
use crate::events::Context;
use crate::store::ITEM_FIELDS;
use crate::store::query::Where;

/// `CreateFeedbackItem`.
pub async fn create(
    api: &Api,
    principal: &Principal,
    request: pb::CreateFeedbackItemRequest,
) -> Result<pb::CreateFeedbackItemResponse> {
    let mut v = FieldViolations::new();
    let message = request.feedback_item.clone().unwrap_or_default();
    if request.feedback_item.is_none() {
        v.add("feedback_item", "is required");
    }
    let channel = channel(&mut v, "feedback_item.channel", message.channel);
    if message.channel == 0 {
        v.add("feedback_item.channel", "is required");
    }
    let customer = optional_name(
        &mut v,
        "feedback_item.customer",
        &message.customer,
        "customers",
    );
    let identity = match (&message.customer_identity, &customer) {
        (Some(identity), None) => {
            if super::parse::channel(
                &mut v,
                "feedback_item.customer_identity.channel",
                identity.channel,
            )
            .is_none()
                && identity.channel == 0
            {
                v.add("feedback_item.customer_identity.channel", "is required");
            }
            required_text(
                &mut v,
                "feedback_item.customer_identity.handle",
                &identity.handle,
                320,
            );
            Some(identity.clone())
        }
        (Some(_), Some(_)) => {
            v.add(
                "feedback_item.customer_identity",
                "give either `customer` or `customer_identity`, not both",
            );
            None
        }
        _ => None,
    };
    let ticket = optional_name(&mut v, "feedback_item.ticket", &message.ticket, "tickets");
    let product =
        optional_text(&mut v, "feedback_item.product", &message.product, 64).unwrap_or_default();
    let item_region = region(&mut v, "feedback_item.region", &message.region);
    let subject =
        optional_text(&mut v, "feedback_item.subject", &message.subject, 200).unwrap_or_default();
    let text = required_text(&mut v, "feedback_item.text", &message.text, 10_000);
    let item_language = language(&mut v, "feedback_item.language", &message.language);
    let source_uri = optional_text(
        &mut v,
        "feedback_item.source_uri",
        &message.source_uri,
        2048,
    )
    .unwrap_or_default();
    let now = now_micros();
    let receive_time = time(
        &mut v,
        "feedback_item.receive_time",
        message.receive_time.as_ref(),
    );
    if receive_time.is_some_and(|t| t > now + 60_000_000) {
        v.add("feedback_item.receive_time", "must not be in the future");
    }
    if receive_time.is_some_and(|t| t < now - 365 * DAY) {
        v.add(
            "feedback_item.receive_time",
            "must be at most 365 days in the past",
        );
    }
    let key = request_key(
        &mut v,
        &principal.subject,
        "CreateFeedbackItem",
        "",
        &request.request_id,
        &message,
    );
    finish(v)?;
    let reach = write_reach(principal).ok_or(Error::PermissionDenied(
        "the caller may not record feedback",
    ))?;
    let customer = match (&reach, customer) {
        (Reach::Customer(own), Some(given)) if *own != given => {
            return Err(Error::PermissionDenied(
                "a customer records feedback only as themselves",
            ));
        }
        (Reach::Customer(own), _) => own.clone(),
        (_, Some(given)) => given,
        (_, None) => match identity {
            Some(identity) => {
                api.customers
                    .resolve(principal, identity, "feedback_item.customer_identity")
                    .await?
            }
            None => String::new(),
        },
    };
    let region = match (&reach, item_region) {
        (Reach::Region(own), Some(given)) if *own != given => {
            return Err(Error::PermissionDenied(
                "staff record feedback of their own region",
            ));
        }
        (Reach::Region(own), None) => own.clone(),
        (_, given) => given.unwrap_or_default(),
    };
    if let Some(existing) = api.store.replay(key.as_ref(), FEEDBACK_ITEM).await? {
        return Ok(pb::CreateFeedbackItemResponse {
            feedback_item: Some(convert::item(&visible(api, &reach, &existing).await?)),
        });
    }
    let text = text.unwrap_or_default();
    let classification = rules_classification(&text, now);
    let item = FeedbackItem {
        id: Uuid::now_v7(),
        channel: channel.unwrap_or(Channel::Web),
        customer,
        ticket: ticket.unwrap_or_default(),
        product,
        region,
        subject,
        language: item_language.unwrap_or_else(|| detect_language(&text).to_owned()),
        text,
        source_uri,
        receive_time: receive_time.unwrap_or(now),
        triggered_follow_up: String::new(),
        recorder: actor_of(principal),
        version: 1,
        create_time: now,
        update_time: now,
        classification: Some(classification),
    };
    let pending = pending_for_item(api, &item, &actor_of(principal));
    api.store
        .create_item(&item, pending.as_ref(), key.as_ref())
        .await?;
    if pending.is_some()
        && let Some(pending) = api.store.pending_for(&item.name()).await?
    {
        api.tickets.open(&api.store, &pending).await?;
    }
    Ok(pb::CreateFeedbackItemResponse {
        feedback_item: Some(convert::item(&api.store.item(item.id).await?)),
    })
}

/// The follow-up a severe complaint from a known customer needs.
fn pending_for_item(api: &Api, item: &FeedbackItem, actor: &Actor) -> Option<PendingFollowUp> {
    let classification = item.classification.as_ref()?;
    if item.customer.is_empty() || !is_severe(&classification.value) {
        return None;
    }
    Some(PendingFollowUp {
        id: Uuid::now_v7(),
        source_feedback: item.name(),
        reasons: vec![Reason::SevereComplaint],
        customer: item.customer.clone(),
        original_ticket: item.ticket.clone(),
        survey_id: String::new(),
        channel: item.channel,
        region: item.region.clone(),
        team: String::new(),
        agent: String::new(),
        language: item.language.clone(),
        summary: item.text.clone(),
        due_time: api
            .rules
            .due_time(item.receive_time.max(item.create_time - DAY)),
        actor: actor.clone(),
        attempts: 0,
        create_time: item.create_time,
    })
}

async fn visible(api: &Api, reach: &Reach, name: &str) -> Result<FeedbackItem> {
    let id = name
        .rsplit('/')
        .next()
        .and_then(|id| Uuid::parse_str(id).ok())
        .unwrap_or_default();
    let item = api.store.item(id).await?;
    if !reach.covers(&item.region, &item.customer) {
        return Err(Error::not_found(FEEDBACK_ITEM, name));
    }
    Ok(item)
}

/// `GetFeedbackItem`.
pub async fn get(
    api: &Api,
    principal: &Principal,
    request: pb::GetFeedbackItemRequest,
) -> Result<pb::GetFeedbackItemResponse> {
    let mut v = FieldViolations::new();
    let id = resource_id(&mut v, "name", &request.name, "feedbackItems");
    finish(v)?;
    let reach =
        read_reach(principal).ok_or(Error::PermissionDenied("the caller may not read feedback"))?;
    let item = visible(
        api,
        &reach,
        &format!("feedbackItems/{}", id.unwrap_or_default()),
    )
    .await?;
    Ok(pb::GetFeedbackItemResponse {
        feedback_item: Some(convert::item(&item)),
    })
}

/// `ListFeedbackItems`.
pub async fn list(
    api: &Api,
    principal: &Principal,
    request: pb::ListFeedbackItemsRequest,
) -> Result<pb::ListFeedbackItemsResponse> {
    let mut v = FieldViolations::new();
    let page = page(
        &mut v,
        request.page_size,
        &request.page_token,
        &[&request.filter],
    );
    let mut filter = Where::new();
    if let Err(message) = filter.filter(&request.filter, ITEM_FIELDS) {
        v.add("filter", message);
    }
    finish(v)?;
    let reach =
        read_reach(principal).ok_or(Error::PermissionDenied("the caller may not read feedback"))?;
    filter.reach(&reach, "i.region", "i.customer");
    let after = page
        .after
        .as_ref()
        .and_then(|t| t.int_key().map(|k| (k, t.id.clone())));
    let mut items = api.store.list_items(filter, after, page.limit()).await?;
    let next = page.finish(&mut items, |i| PageToken::int(i.receive_time, i.id));
    Ok(pb::ListFeedbackItemsResponse {
        feedback_items: items.iter().map(convert::item).collect(),
        next_page_token: next,
    })
}

/// `ReclassifyFeedback`: a person's correction, kept (and never overwritten by the rules).
pub async fn reclassify(
    api: &Api,
    principal: &Principal,
    request: pb::ReclassifyFeedbackRequest,
) -> Result<pb::ReclassifyFeedbackResponse> {
    let mut v = FieldViolations::new();
    let is_response = request.name.starts_with("responses/");
    let id = if is_response {
        resource_id(&mut v, "name", &request.name, "responses")
    } else if request.name.starts_with("feedbackItems/") {
        resource_id(&mut v, "name", &request.name, "feedbackItems")
    } else {
        v.add("name", "must be `responses/{id}` or `feedbackItems/{id}`");
        None
    };
    let expected = Etag::parse(&mut v, "etag", &request.etag);
    let topic = feedback_enum::<pb::FeedbackTopic>(&mut v, "topic", request.topic)
        .and_then(|t| Topic::from_number(i64::from(t as i32)));
    let severity = feedback_enum::<pb::FeedbackSeverity>(&mut v, "severity", request.severity)
        .and_then(|s| Severity::from_number(i64::from(s as i32)));
    let sentiment = feedback_enum::<pb::Sentiment>(&mut v, "sentiment", request.sentiment)
        .and_then(|s| Sentiment::from_number(i64::from(s as i32)));
    if let Some(score) = request.sentiment_score {
        if !(-1.0..=1.0).contains(&score) || score.is_nan() {
            v.add("sentiment_score", "must be from -1.0 to 1.0");
        } else if sentiment.is_some_and(|s| Sentiment::of(score) != s) {
            v.add("sentiment_score", "must fall in the bucket of `sentiment`");
        }
    }
    if topic.is_none()
        && severity.is_none()
        && sentiment.is_none()
        && request.sentiment_score.is_none()
        && request.topic == 0
        && request.severity == 0
        && request.sentiment == 0
    {
        v.add(
            "topic",
            "give at least one of topic, severity, sentiment, sentiment_score",
        );
    }
    let note = optional_text(&mut v, "note", &request.note, 1000).unwrap_or_default();
    finish(v)?;
    let reach = write_reach(principal)
        .filter(|r| !matches!(r, Reach::Customer(_)))
        .ok_or(Error::PermissionDenied(
            "only staff correct classifications",
        ))?;
    let id = id.unwrap_or_default();
    let now = now_micros();
    let (name, version, current, context, pending_base) = if is_response {
        let r = api.store.response(id).await?;
        if !reach.covers(&r.region, &r.customer) {
            return Err(Error::not_found(RESPONSE, r.name()));
        }
        let Some(current) = r.classification.clone() else {
            return Err(Error::state(
                r.name(),
                "the response has no comment to classify",
            ));
        };
        let context = Context {
            customer: r.customer.clone(),
            ticket: r.ticket.clone(),
            region: r.region.clone(),
            team: r.team.clone(),
            agent: r.agent.clone(),
            channel: r.channel,
        };
        let base = (
            r.survey_id.to_string(),
            r.language.clone(),
            r.comment.clone(),
            r.create_time,
        );
        (r.name(), r.version, current, context, base)
    } else {
        let item = visible(api, &reach, &format!("feedbackItems/{id}")).await?;
        let current = item
            .classification
            .clone()
            .unwrap_or_else(|| rules_classification(&item.text, now));
        let context = Context {
            customer: item.customer.clone(),
            ticket: item.ticket.clone(),
            region: item.region.clone(),
            team: String::new(),
            agent: String::new(),
            channel: item.channel,
        };
        let base = (
            String::new(),
            item.language.clone(),
            item.text.clone(),
            item.receive_time,
        );
        (item.name(), item.version, current, context, base)
    };
    if Some(version) != expected {
        return Err(Error::StaleEtag(name));
    }
    let score = request
        .sentiment_score
        .or_else(|| sentiment.map(Sentiment::default_score))
        .unwrap_or(current.value.score);
    let mut topics = current.value.topics.clone();
    if let Some(topic) = topic {
        topics.retain(|t| *t != topic);
        topics.insert(0, topic);
    }
    let stored = StoredClassification {
        value: Classification {
            topics,
            severity: severity.unwrap_or(current.value.severity),
            sentiment: Sentiment::of(score),
            score,
            confidence: 1.0,
            matched_terms: Vec::new(),
        },
        method: Method::Manual,
        note,
        classifier: actor_of(principal),
        classifier_version: "manual".to_owned(),
        classify_time: now,
    };
    let pending = (!context.customer.is_empty()).then(|| PendingFollowUp {
        id: Uuid::now_v7(),
        source_feedback: name.clone(),
        reasons: vec![Reason::SevereComplaint],
        customer: context.customer.clone(),
        original_ticket: context.ticket.clone(),
        survey_id: pending_base.0.clone(),
        channel: context.channel,
        region: context.region.clone(),
        team: context.team.clone(),
        agent: context.agent.clone(),
        language: pending_base.1.clone(),
        summary: pending_base.2.clone(),
        due_time: api.rules.due_time(now),
        actor: actor_of(principal),
        attempts: 0,
        create_time: now,
    });
    let queued = api
        .store
        .reclassify(
            &name,
            version,
            &stored,
            &current,
            &context,
            pending.as_ref(),
            now,
        )
        .await?;
    let mut opened = String::new();
    if queued
        && let Some(pending) = api.store.pending_for(&name).await?
        && let Some(f) = api.tickets.open(&api.store, &pending).await?
    {
        opened = f.name();
    }
    let feedback = if is_response {
        pb::reclassify_feedback_response::Feedback::Response(convert::response(
            &api.store.response(id).await?,
        ))
    } else {
        pb::reclassify_feedback_response::Feedback::FeedbackItem(convert::item(
            &api.store.item(id).await?,
        ))
    };
    Ok(pb::ReclassifyFeedbackResponse {
        feedback: Some(feedback),
        opened_follow_up: opened,
    })
}
