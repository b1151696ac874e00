//! Domain → proto: the only place the service builds proto messages.

use aftercare_platform::request::Etag;
use aftercare_platform::time::to_timestamp;
use aftercare_proto::aftercare::common::v1 as common;
use aftercare_proto::aftercare::feedback::v1 as pb;

use crate::domain::records::{FeedbackItem, FollowUp, Invitation, Response, StoredClassification};
use crate::domain::stats::Metrics;
use crate::domain::survey::{Survey, SurveyContent};
use crate::domain::values::{Actor, Channel, Reason};

/// A duration in microseconds as a protobuf duration.
pub fn duration(micros: i64) -> prost_types::Duration {
    prost_types::Duration {
        seconds: micros.div_euclid(1_000_000),
        nanos: i32::try_from(micros.rem_euclid(1_000_000) * 1_000).unwrap_or(0),
    }
}

/// An actor.
pub fn actor(actor: &Actor) -> common::Actor {
    common::Actor {
        r#type: actor.kind,
        id: actor.id.clone(),
        display_name: actor.name.clone(),
    }
}

fn channel(channel: Option<Channel>) -> i32 {
    channel.map_or(0, Channel::number)
}

fn questions(content: &SurveyContent) -> Vec<pb::SurveyQuestion> {
    content
        .questions
        .iter()
        .map(|q| pb::SurveyQuestion {
            r#type: q.kind,
            texts: q.texts.clone().into_iter().collect(),
            required: q.required,
        })
        .collect()
}

/// A survey.
pub fn survey(s: &Survey) -> pb::Survey {
    pb::Survey {
        name: format!("surveys/{}", s.id),
        titles: s.content.titles.clone().into_iter().collect(),
        default_language: s.content.default_language.clone(),
        questions: questions(&s.content),
        trigger: s.trigger.number(),
        channel: channel(s.channel),
        invitation_ttl: Some(duration(s.content.invitation_ttl)),
        send_delay: Some(duration(s.send_delay)),
        customer_cooldown: Some(duration(s.customer_cooldown)),
        regions: s.regions.clone(),
        enabled: s.enabled,
        ticket_kinds: s.ticket_kinds.iter().map(|k| k.number()).collect(),
        ticket_channels: s.ticket_channels.iter().map(|c| c.number()).collect(),
        creator: Some(actor(&s.creator)),
        etag: Etag::of(s.version),
        create_time: Some(to_timestamp(s.create_time)),
        update_time: Some(to_timestamp(s.update_time)),
    }
}

/// A survey as the anonymous survey page sees it: titles and questions of `content` only.
pub fn public_survey(survey_id: uuid::Uuid, content: &SurveyContent) -> pb::Survey {
    pb::Survey {
        name: format!("surveys/{survey_id}"),
        titles: content.titles.clone().into_iter().collect(),
        default_language: content.default_language.clone(),
        questions: questions(content),
        invitation_ttl: Some(duration(content.invitation_ttl)),
        ..Default::default()
    }
}

/// An invitation (with `token` when it was just made and the caller may deliver it).
pub fn invitation(i: &Invitation, now: i64, token: Option<&str>, portal: &str) -> pb::Invitation {
    pb::Invitation {
        name: i.name(),
        customer: i.customer.clone(),
        ticket: i.ticket.clone(),
        channel: i.channel.number(),
        language: i.language.clone(),
        follow_up: i.follow_up.clone(),
        token: token.unwrap_or_default().to_owned(),
        survey_uri: match token {
            Some(token) if i.channel != Channel::Api => format!("{portal}{token}"),
            _ => String::new(),
        },
        status: i.status_at(now).number(),
        schedule_time: Some(to_timestamp(i.schedule_time)),
        send_time: i.send_time.map(to_timestamp),
        expire_time: i.expire_time.map(to_timestamp),
        answer_time: i.answer_time.map(to_timestamp),
        response: if i.response_id.is_empty() {
            String::new()
        } else {
            format!("responses/{}", i.response_id)
        },
        region: i.region.clone(),
        team: i.team.clone(),
        agent: i.agent.clone(),
        creator: Some(actor(&i.creator)),
        etag: Etag::of(i.version),
        create_time: Some(to_timestamp(i.create_time)),
        update_time: Some(to_timestamp(i.update_time)),
    }
}

/// A classification.
pub fn classification(c: &StoredClassification) -> pb::Classification {
    pb::Classification {
        topic: c.value.topic().number(),
        topics: if c.value.topics.is_empty() {
            vec![c.value.topic().number()]
        } else {
            c.value.topics.iter().map(|t| t.number()).collect()
        },
        severity: c.value.severity.number(),
        sentiment: c.value.sentiment.number(),
        sentiment_score: c.value.score,
        confidence: c.value.confidence,
        method: c.method.number(),
        matched_terms: c.value.matched_terms.clone(),
        note: c.note.clone(),
        classifier: Some(actor(&c.classifier)),
        classify_time: Some(to_timestamp(c.classify_time)),
    }
}

/// A response.
pub fn response(r: &Response) -> pb::Response {
    pb::Response {
        name: r.name(),
        invitation: format!("surveys/{}/invitations/{}", r.survey_id, r.invitation_id),
        survey: format!("surveys/{}", r.survey_id),
        customer: r.customer.clone(),
        ticket: r.ticket.clone(),
        csat_score: r.csat,
        nps_score: r.nps,
        ces_score: r.ces,
        comment: r.comment.clone(),
        language: r.language.clone(),
        channel: r.channel.number(),
        nps_category: crate::domain::follow_up::nps_category(r.nps),
        detractor: r.detractor,
        classification: r.classification.as_ref().map(classification),
        triggered_follow_up: r.triggered_follow_up.clone(),
        answered_follow_up: r.answered_follow_up.clone(),
        previous_response: r.previous_response.clone(),
        region: r.region.clone(),
        team: r.team.clone(),
        agent: r.agent.clone(),
        recorder: Some(actor(&r.recorder)),
        etag: Etag::of(r.version),
        create_time: Some(to_timestamp(r.create_time)),
        update_time: Some(to_timestamp(r.update_time)),
    }
}

/// A feedback item.
pub fn item(i: &FeedbackItem) -> pb::FeedbackItem {
    pb::FeedbackItem {
        name: i.name(),
        channel: i.channel.number(),
        customer: i.customer.clone(),
        customer_identity: None,
        ticket: i.ticket.clone(),
        product: i.product.clone(),
        region: i.region.clone(),
        subject: i.subject.clone(),
        text: i.text.clone(),
        language: i.language.clone(),
        source_uri: i.source_uri.clone(),
        receive_time: Some(to_timestamp(i.receive_time)),
        classification: i.classification.as_ref().map(classification),
        triggered_follow_up: i.triggered_follow_up.clone(),
        recorder: Some(actor(&i.recorder)),
        etag: Etag::of(i.version),
        create_time: Some(to_timestamp(i.create_time)),
        update_time: Some(to_timestamp(i.update_time)),
    }
}

/// Reasons as the contract carries them (the contract has no reason for a high CES).
pub fn reasons(reasons: &[Reason]) -> Vec<i32> {
    reasons
        .iter()
        .filter(|r| r.number() < 100)
        .map(|r| r.number())
        .collect()
}

/// A follow-up.
pub fn follow_up(f: &FollowUp) -> pb::FollowUp {
    pb::FollowUp {
        name: f.name(),
        reasons: reasons(&f.reasons),
        source_feedback: f.source_feedback.clone(),
        customer: f.customer.clone(),
        ticket: f.ticket.clone(),
        original_ticket: f.original_ticket.clone(),
        assignee: f.assignee.clone(),
        due_time: Some(to_timestamp(f.due_time)),
        original_due_time: Some(to_timestamp(f.original_due_time)),
        status: f.status.number(),
        overdue: f.overdue,
        contact_time: f.contact_time.map(to_timestamp),
        contact_channel: channel(f.contact_channel),
        on_time: f.on_time,
        outcome: f.outcome.map_or(0, |o| o.number()),
        notes: f.notes.clone(),
        resurvey_invitation: f.resurvey_invitation.clone(),
        region: f.region.clone(),
        team: f.team.clone(),
        agent: f.agent.clone(),
        closer: f.closer.as_ref().map(actor),
        close_time: f.close_time.map(to_timestamp),
        etag: Etag::of(f.version),
        create_time: Some(to_timestamp(f.create_time)),
        update_time: Some(to_timestamp(f.update_time)),
    }
}

/// Metrics.
pub fn metrics(m: &Metrics) -> pb::FeedbackMetrics {
    let classified = m.classified();
    pb::FeedbackMetrics {
        invitations_sent: m.invitations_sent,
        invitations_answered: m.invitations_answered,
        response_rate: Metrics::ratio(m.invitations_answered, m.invitations_sent),
        responses: m.responses,
        csat_count: m.csat_count,
        csat_average: Metrics::ratio(m.csat_sum, m.csat_count),
        csat_satisfied_ratio: Metrics::ratio(m.csat_satisfied, m.csat_count),
        csat_distribution: m.csat_distribution.to_vec(),
        nps_count: m.nps_count,
        nps_promoters: m.nps_promoters,
        nps_passives: m.nps_passives,
        nps_detractors: m.nps_detractors,
        nps: m.nps(),
        ces_count: m.ces_count,
        ces_average: Metrics::ratio(m.ces_sum, m.ces_count),
        feedback_items: m.feedback_items,
        sentiment_negative: m.sentiment_negative,
        sentiment_neutral: m.sentiment_neutral,
        sentiment_positive: m.sentiment_positive,
        sentiment_average: (classified > 0).then(|| m.sentiment_sum / classified as f64),
        follow_ups_opened: m.follow_ups_opened,
        follow_ups_due: m.follow_ups_due,
        follow_ups_on_time: m.follow_ups_on_time,
        follow_up_on_time_ratio: Metrics::ratio(m.follow_ups_on_time, m.follow_ups_due),
    }
}
