//! Workforce routing (issue 10): a team of washing-machine agents on an around-the-clock
//! Shanghai shift, one of them certified by a course. Tickets needing the skill go to the
//! certified agent on shift with room; an agent at capacity is passed over; once the
//! certification is revoked the next ticket goes to a colleague; a certification that
//! expires stops counting at its expiry instant. A ticket whose region has nobody on shift
//! follows the sun to another region's agent on shift; a ticket nobody can take waits in the
//! workforce queue and is taken by the agent who comes online. Resolving a ticket shows in
//! the agent's own performance.

use std::time::Duration;

use aftercare_journeys::{Databases, Sandbox};
use aftercare_platform::auth::Role;
use aftercare_platform::testing::poll_until;
use aftercare_proto::aftercare::common::v1::{Channel as IntakeChannel, ChannelIdentity};
use aftercare_proto::aftercare::tickets::v1 as tk;
use aftercare_proto::aftercare::workforce::v1 as wf;
use tonic::transport::Channel;
use wf::performance_service_client::PerformanceServiceClient;
use wf::training_service_client::TrainingServiceClient;
use wf::workforce_service_client::WorkforceServiceClient;

use super::{EVENTUALLY, get_ticket, tickets};

/// How long after it is recorded the expiring certification lapses: long enough for the
/// routing before it to be asked in time on a busy machine.
const LAPSES_IN: Duration = Duration::from_secs(10);

pub(super) fn workforce(channel: &Channel) -> WorkforceServiceClient<Channel> {
    WorkforceServiceClient::new(channel.clone())
}

pub(super) fn training(channel: &Channel) -> TrainingServiceClient<Channel> {
    TrainingServiceClient::new(channel.clone())
}

pub(super) fn duration(seconds: i64) -> prost_types::Duration {
    prost_types::Duration { seconds, nanos: 0 }
}

fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

/// A shift in `time_zone` for `region`: around the clock every day, or never (no intervals).
pub(super) async fn shift(
    channel: &Channel,
    admin: &str,
    display_name: &str,
    time_zone: &str,
    region: &str,
    always: bool,
) -> wf::Shift {
    let intervals = if always {
        (1..=7)
            .map(|weekday| wf::ShiftInterval {
                weekday,
                start_minute: 0,
                duration: Some(duration(86_400)),
            })
            .collect()
    } else {
        Vec::new()
    };
    workforce(channel)
        .create_shift(Sandbox::request(
            admin,
            wf::CreateShiftRequest {
                shift: Some(wf::Shift {
                    display_name: display_name.into(),
                    time_zone: time_zone.into(),
                    region: region.into(),
                    intervals,
                    ..Default::default()
                }),
                request_id: uuid::Uuid::now_v7().to_string(),
            },
        ))
        .await
        .expect("an admin creates the shift")
        .into_inner()
        .shift
        .expect("a shift")
}

/// A product-line skill with `code`.
pub(super) async fn skill(
    channel: &Channel,
    admin: &str,
    code: &str,
    display_name: &str,
) -> wf::Skill {
    workforce(channel)
        .create_skill(Sandbox::request(
            admin,
            wf::CreateSkillRequest {
                skill: Some(wf::Skill {
                    display_name: display_name.into(),
                    category: wf::SkillCategory::ProductLine as i32,
                    code: code.into(),
                    ..Default::default()
                }),
                request_id: uuid::Uuid::now_v7().to_string(),
            },
        ))
        .await
        .expect("an admin creates the skill")
        .into_inner()
        .skill
        .expect("a skill")
}

/// Who an agent is, for [`agent`].
pub(super) struct Staff<'a> {
    pub(super) display_name: &'a str,
    pub(super) mailbox: &'a str,
    pub(super) role: wf::AgentRole,
    pub(super) region: &'a str,
    pub(super) language: &'a str,
    pub(super) skill: Option<&'a wf::Skill>,
    pub(super) capacity: i32,
    pub(super) shift: &'a wf::Shift,
}

pub(super) async fn agent(channel: &Channel, admin: &str, staff: Staff<'_>) -> wf::Agent {
    workforce(channel)
        .create_agent(Sandbox::request(
            admin,
            wf::CreateAgentRequest {
                agent: Some(wf::Agent {
                    display_name: staff.display_name.into(),
                    email: format!("{}@example.com", staff.mailbox),
                    roles: vec![staff.role as i32],
                    region: staff.region.into(),
                    languages: vec![staff.language.into()],
                    skills: staff
                        .skill
                        .map(|s| wf::AgentSkill {
                            skill: s.name.clone(),
                            level: 3,
                        })
                        .into_iter()
                        .collect(),
                    max_concurrent_tickets: staff.capacity,
                    shift: staff.shift.name.clone(),
                    ..Default::default()
                }),
                request_id: uuid::Uuid::now_v7().to_string(),
            },
        ))
        .await
        .expect("an admin creates the agent")
        .into_inner()
        .agent
        .expect("an agent")
}

/// `agent` signs in (`AVAILABLE`), as themself; the presence after it.
pub(super) async fn online(channel: &Channel, token: &str, agent: &wf::Agent) -> wf::Presence {
    workforce(channel)
        .set_presence(Sandbox::request(
            token,
            wf::SetPresenceRequest {
                name: format!("{}/presence", agent.name),
                state: wf::PresenceState::Available as i32,
                ..Default::default()
            },
        ))
        .await
        .expect("the agent signs in")
        .into_inner()
        .presence
        .expect("a presence")
}

/// `agent` passes the washing-machine repair course a trainer sets up (granting `skill` at
/// level 3) with `score` out of 100; the certification it issues.
pub(super) async fn washer_repair_certified(
    channel: &Channel,
    trainer: &str,
    skill: &wf::Skill,
    agent: &wf::Agent,
    score: i32,
) -> wf::Certification {
    let course = training(channel)
        .create_course(Sandbox::request(
            trainer,
            wf::CreateCourseRequest {
                course: Some(wf::Course {
                    title: "洗衣机维修认证".into(),
                    skills: vec![wf::CourseSkill {
                        skill: skill.name.clone(),
                        level: 3,
                    }],
                    certification_code: "washer-repair".into(),
                    certification_display_name: "Washing machine repair".into(),
                    certification_validity: Some(duration(365 * 86_400)),
                    completion: wf::CourseCompletion::Assessment as i32,
                    pass_mark: 70,
                    state: wf::CourseState::Active as i32,
                    ..Default::default()
                }),
                request_id: uuid::Uuid::now_v7().to_string(),
            },
        ))
        .await
        .expect("a trainer creates the course")
        .into_inner()
        .course
        .expect("a course");
    let enrolment = training(channel)
        .create_enrolment(Sandbox::request(
            trainer,
            wf::CreateEnrolmentRequest {
                parent: course.name.clone(),
                enrolment: Some(wf::Enrolment {
                    agent: agent.name.clone(),
                    ..Default::default()
                }),
                request_id: uuid::Uuid::now_v7().to_string(),
            },
        ))
        .await
        .expect("the trainer enrols the agent")
        .into_inner()
        .enrolment
        .expect("an enrolment");
    training(channel)
        .submit_assessment(Sandbox::request(
            trainer,
            wf::SubmitAssessmentRequest {
                enrolment: enrolment.name.clone(),
                score,
                max_score: 100,
                request_id: uuid::Uuid::now_v7().to_string(),
                ..Default::default()
            },
        ))
        .await
        .expect("the trainer records a passed assessment")
        .into_inner()
        .certification
        .expect("passing issues the certification")
}

async fn load_of(channel: &Channel, token: &str, agent: &wf::Agent) -> i32 {
    workforce(channel)
        .get_presence(Sandbox::request(
            token,
            wf::GetPresenceRequest {
                name: format!("{}/presence", agent.name),
            },
        ))
        .await
        .expect("read the presence")
        .into_inner()
        .presence
        .expect("a presence")
        .active_tickets
}

/// A read-only routing question (no ticket named: nothing is held).
async fn route(
    channel: &Channel,
    token: &str,
    request: wf::RouteTicketRequest,
) -> wf::RouteTicketResponse {
    workforce(channel)
        .route_ticket(Sandbox::request(token, request))
        .await
        .expect("route through the gateway")
        .into_inner()
}

fn ranked(routed: &wf::RouteTicketResponse) -> Vec<&str> {
    routed.candidates.iter().map(|c| c.agent.as_str()).collect()
}

fn excluded(routed: &wf::RouteTicketResponse, reason: wf::RoutingExclusionReason) -> i32 {
    routed
        .exclusions
        .iter()
        .filter(|e| e.reason == reason as i32)
        .map(|e| e.agent_count)
        .sum()
}

/// A customer's email about `product_line` in `region` and `language`, opened by `intake`;
/// the ticket as the create answered it (routing happens within the create).
async fn open_ticket(
    channel: &Channel,
    intake: &str,
    region: &str,
    language: &str,
    product_line: &str,
    subject: &str,
) -> tk::Ticket {
    let handle = format!("{}@example.com", uuid::Uuid::now_v7().simple());
    tickets(channel)
        .create_ticket(Sandbox::request(
            intake,
            tk::CreateTicketRequest {
                ticket: Some(tk::Ticket {
                    customer_identity: Some(ChannelIdentity {
                        channel: IntakeChannel::Email as i32,
                        handle,
                        ..Default::default()
                    }),
                    channel: IntakeChannel::Email as i32,
                    subject: subject.into(),
                    description: format!("{subject}. Please help."),
                    product: Some(tk::Product {
                        product_line: product_line.into(),
                        model: "M1".into(),
                        serial_number: "SN1".into(),
                    }),
                    region: region.into(),
                    language_code: language.into(),
                    ..Default::default()
                }),
                request_id: uuid::Uuid::now_v7().to_string(),
                customer_display_name: "Customer".into(),
                ..Default::default()
            },
        ))
        .await
        .expect("the intake agent opens the ticket")
        .into_inner()
        .ticket
        .expect("a ticket")
}

/// The washing-machine question `RouteTicket` is asked in Shanghai, within `team`.
fn washer_route(team: &wf::Team) -> wf::RouteTicketRequest {
    wf::RouteTicketRequest {
        product_line: "washing-machine".into(),
        language: "zh-CN".into(),
        region: "cn-east".into(),
        teams: vec![team.name.clone()],
        ..Default::default()
    }
}

async fn certified_routing(databases: Databases) {
    let Some(sandbox) = Sandbox::start(databases).await else {
        return;
    };
    let channel = sandbox.channel().await;
    let admin = sandbox.token("agents/wf-admin", Role::Admin, None);
    let trainer = sandbox.token("agents/wf-trainer", Role::Trainer, Some("cn-east"));
    let intake = sandbox.token("agents/wf-intake", Role::Agent, Some("cn-east"));

    // The team: two washing-machine agents at the same level on the around-the-clock shift
    // (the first with room for two tickets, the second for five), and their lead.
    let shanghai = shift(
        &channel,
        &admin,
        "Shanghai around the clock",
        "Asia/Shanghai",
        "cn-east",
        true,
    )
    .await;
    let washers = skill(&channel, &admin, "washing-machine", "Washing machines").await;
    let staff = |display_name, mailbox, role, skill, capacity| Staff {
        display_name,
        mailbox,
        role,
        region: "cn-east",
        language: "zh-CN",
        skill,
        capacity,
        shift: &shanghai,
    };
    let li = agent(
        &channel,
        &admin,
        staff("李明", "li.ming", wf::AgentRole::Agent, Some(&washers), 2),
    )
    .await;
    let zhao = agent(
        &channel,
        &admin,
        staff(
            "赵强",
            "zhao.qiang",
            wf::AgentRole::Agent,
            Some(&washers),
            5,
        ),
    )
    .await;
    let wang = agent(
        &channel,
        &admin,
        staff("王芳", "wang.fang", wf::AgentRole::TeamLead, None, 5),
    )
    .await;
    let team = workforce(&channel)
        .create_team(Sandbox::request(
            &admin,
            wf::CreateTeamRequest {
                team: Some(wf::Team {
                    display_name: "Shanghai washing machines".into(),
                    region: "cn-east".into(),
                    ..Default::default()
                }),
                request_id: uuid::Uuid::now_v7().to_string(),
            },
        ))
        .await
        .expect("an admin creates the team")
        .into_inner()
        .team
        .expect("a team");
    for member in [&li, &zhao, &wang] {
        workforce(&channel)
            .add_team_member(Sandbox::request(
                &admin,
                wf::AddTeamMemberRequest {
                    team: team.name.clone(),
                    agent: member.name.clone(),
                },
            ))
            .await
            .expect("an admin adds the member");
    }
    let team = workforce(&channel)
        .get_team(Sandbox::request(
            &admin,
            wf::GetTeamRequest {
                name: team.name.clone(),
            },
        ))
        .await
        .expect("get the team")
        .into_inner()
        .team
        .expect("a team");
    let team = workforce(&channel)
        .update_team(Sandbox::request(
            &admin,
            wf::UpdateTeamRequest {
                team: Some(wf::Team {
                    lead: wang.name.clone(),
                    ..team.clone()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["lead".into()],
                }),
            },
        ))
        .await
        .expect("王芳 leads the team")
        .into_inner()
        .team
        .expect("a team");
    assert_eq!((team.member_count, &team.lead), (3, &wang.name), "{team:?}");
    let li_token = sandbox.token(&li.name, Role::Agent, Some("cn-east"));
    let zhao_token = sandbox.token(&zhao.name, Role::Agent, Some("cn-east"));
    let wang_token = sandbox.token(&wang.name, Role::Lead, Some("cn-east"));
    for (token, member) in [(&li_token, &li), (&zhao_token, &zhao), (&wang_token, &wang)] {
        let presence = online(&channel, token, member).await;
        assert!(presence.on_shift, "{presence:?}");
    }

    // Only 李明 passes the repair course: its certification backs the washing-machine skill.
    let repair = washer_repair_certified(&channel, &trainer, &washers, &li, 88).await;
    assert_eq!(
        (repair.code.as_str(), repair.state),
        ("washer-repair", wf::CertificationState::Active as i32),
        "{repair:?}"
    );

    // A certification that expires counts for nothing from its expiry instant (before any
    // sweep): both hold a gas-safety certificate, 李明's lapsing in a few seconds.
    let expiring = training(&channel)
        .create_certification(Sandbox::request(
            &trainer,
            wf::CreateCertificationRequest {
                parent: li.name.clone(),
                certification: Some(wf::Certification {
                    code: "gas-safety".into(),
                    display_name: "Gas safety".into(),
                    expire_time: Some(prost_types::Timestamp {
                        seconds: now_seconds() + LAPSES_IN.as_secs() as i64,
                        nanos: 0,
                    }),
                    ..Default::default()
                }),
                request_id: uuid::Uuid::now_v7().to_string(),
            },
        ))
        .await
        .expect("the trainer records 李明's certificate")
        .into_inner()
        .certification
        .expect("a certification");
    training(&channel)
        .create_certification(Sandbox::request(
            &trainer,
            wf::CreateCertificationRequest {
                parent: zhao.name.clone(),
                certification: Some(wf::Certification {
                    code: "gas-safety".into(),
                    display_name: "Gas safety".into(),
                    ..Default::default()
                }),
                request_id: uuid::Uuid::now_v7().to_string(),
            },
        ))
        .await
        .expect("the trainer records 赵强's certificate");
    let gas = wf::RouteTicketRequest {
        required_certifications: vec!["gas-safety".into()],
        ..washer_route(&team)
    };
    let before = route(&channel, &admin, gas.clone()).await;
    assert_eq!(
        ranked(&before),
        [li.name.as_str(), zhao.name.as_str()],
        "{before:?}"
    );
    let after = poll_until(
        "李明's gas certificate lapses",
        LAPSES_IN + EVENTUALLY,
        || {
            let (channel, admin, gas) = (channel.clone(), admin.clone(), gas.clone());
            async move {
                let routed = route(&channel, &admin, gas).await;
                (routed.candidates.len() == 1).then_some(routed)
            }
        },
    )
    .await;
    assert_eq!(ranked(&after), [zhao.name.as_str()], "{after:?}");
    assert_eq!(
        excluded(&after, wf::RoutingExclusionReason::Certification),
        1,
        "{after:?}"
    );
    let lapsed = training(&channel)
        .get_certification(Sandbox::request(
            &li_token,
            wf::GetCertificationRequest {
                name: expiring.name.clone(),
            },
        ))
        .await
        .expect("李明 reads the certificate")
        .into_inner()
        .certification
        .expect("a certification");
    assert_eq!(
        lapsed.state,
        wf::CertificationState::Expired as i32,
        "{lapsed:?}"
    );

    // A washing-machine ticket goes to the certified agent on shift with room (the
    // uncertified colleague has the same level and no load); so does the second, the
    // certification outweighing 李明's load.
    let first = open_ticket(
        &channel,
        &intake,
        "cn-east",
        "zh-CN",
        "washing-machine",
        "洗衣机不脱水",
    )
    .await;
    assert_eq!(first.assignee, li.name, "not {}: {first:?}", zhao.name);
    let second = open_ticket(
        &channel,
        &intake,
        "cn-east",
        "zh-CN",
        "washing-machine",
        "洗衣机噪音很大",
    )
    .await;
    assert_eq!(second.assignee, li.name, "not {}: {second:?}", zhao.name);
    assert_eq!(load_of(&channel, &li_token, &li).await, 2);

    // At capacity (2 of 2), 李明 is not chosen: the third goes to 赵强.
    let full = route(&channel, &admin, washer_route(&team)).await;
    assert_eq!(ranked(&full), [zhao.name.as_str()], "{full:?}");
    assert_eq!(
        excluded(&full, wf::RoutingExclusionReason::AtCapacity),
        1,
        "{full:?}"
    );
    let third = open_ticket(
        &channel,
        &intake,
        "cn-east",
        "zh-CN",
        "washing-machine",
        "洗衣机门打不开",
    )
    .await;
    assert_eq!(third.assignee, zhao.name, "{third:?}");

    // 李明 answers and resolves the first: a place frees up and the certification makes
    // them the first choice again.
    tickets(&channel)
        .create_message(Sandbox::request(
            &li_token,
            tk::CreateMessageRequest {
                parent: first.name.clone(),
                message: Some(tk::TicketMessage {
                    visibility: tk::MessageVisibility::Public as i32,
                    body: "您好，请检查排水管是否堵塞，清理后即可正常脱水。".into(),
                    ..Default::default()
                }),
                request_id: uuid::Uuid::now_v7().to_string(),
                ..Default::default()
            },
        ))
        .await
        .expect("李明 replies");
    let current = get_ticket(&channel, &li_token, &first.name).await;
    tickets(&channel)
        .resolve_ticket(Sandbox::request(
            &li_token,
            tk::ResolveTicketRequest {
                name: current.name.clone(),
                etag: current.etag.clone(),
                resolution_summary: "排水管堵塞，已清理。".into(),
            },
        ))
        .await
        .expect("李明 resolves the first ticket");
    poll_until("李明's load after the resolution", EVENTUALLY, || {
        let (channel, token, li) = (channel.clone(), li_token.clone(), li.clone());
        async move { (load_of(&channel, &token, &li).await == 1).then_some(()) }
    })
    .await;
    let certified = route(&channel, &admin, washer_route(&team)).await;
    assert_eq!(
        ranked(&certified),
        [li.name.as_str(), zhao.name.as_str()],
        "{certified:?}"
    );

    // The certification is revoked: it no longer counts, and the next ticket goes to 赵强.
    let revoked = training(&channel)
        .revoke_certification(Sandbox::request(
            &trainer,
            wf::RevokeCertificationRequest {
                name: repair.name.clone(),
                etag: repair.etag.clone(),
                reason: "维修质量抽检不合格".into(),
            },
        ))
        .await
        .expect("the trainer revokes the certification")
        .into_inner()
        .certification
        .expect("a certification");
    assert_eq!(
        revoked.state,
        wf::CertificationState::Revoked as i32,
        "{revoked:?}"
    );
    let uncertified = route(&channel, &admin, washer_route(&team)).await;
    assert_eq!(
        ranked(&uncertified),
        [zhao.name.as_str(), li.name.as_str()],
        "{uncertified:?}"
    );
    let fourth = open_ticket(
        &channel,
        &intake,
        "cn-east",
        "zh-CN",
        "washing-machine",
        "洗衣机漏水",
    )
    .await;
    assert_eq!(fourth.assignee, zhao.name, "not {}: {fourth:?}", li.name);

    // 李明's own performance shows the two assignments and the resolution.
    let performance = poll_until("李明's performance", EVENTUALLY, || {
        let (channel, token, agent) = (channel.clone(), li_token.clone(), li.name.clone());
        async move {
            let metrics = PerformanceServiceClient::new(channel)
                .get_agent_performance(Sandbox::request(
                    &token,
                    wf::GetAgentPerformanceRequest {
                        agent,
                        ..Default::default()
                    },
                ))
                .await
                .expect("李明 reads their performance")
                .into_inner()
                .metrics?;
            (metrics.tickets_resolved >= 1 && metrics.tickets_assigned >= 2).then_some(metrics)
        }
    })
    .await;
    assert_eq!(
        (performance.tickets_resolved, performance.tickets_assigned),
        (1, 2),
        "{performance:?}"
    );
    sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certified_routing_on_sqlite() {
    certified_routing(Databases::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certified_routing_on_postgres() {
    certified_routing(Databases::Postgres).await;
}

/// Follow-the-sun and the queue: a Paris dishwasher ticket, with the Paris dishwasher agent
/// off shift, goes to the New York agent on shift (the default policy: any region on shift);
/// a Paris refrigerator ticket, with its only agent signed out, waits in the workforce queue
/// and is taken by that agent when they sign in.
async fn follow_the_sun_and_queue(databases: Databases) {
    let Some(sandbox) = Sandbox::start(databases).await else {
        return;
    };
    let channel = sandbox.channel().await;
    let admin = sandbox.token("agents/wf-admin", Role::Admin, None);
    let intake = sandbox.token("agents/wf-paris-intake", Role::Agent, Some("eu-west"));
    let lead = sandbox.token("agents/wf-paris-lead", Role::Lead, Some("eu-west"));

    let closed = shift(
        &channel,
        &admin,
        "Paris closed",
        "Europe/Paris",
        "eu-west",
        false,
    )
    .await;
    let paris = shift(
        &channel,
        &admin,
        "Paris around the clock",
        "Europe/Paris",
        "eu-west",
        true,
    )
    .await;
    let new_york = shift(
        &channel,
        &admin,
        "New York around the clock",
        "America/New_York",
        "na-east",
        true,
    )
    .await;
    let dishwashers = skill(&channel, &admin, "dishwasher", "Dishwashers").await;
    let fridges = skill(&channel, &admin, "refrigerator", "Refrigerators").await;
    let staff = |display_name, mailbox, region, skill, shift| Staff {
        display_name,
        mailbox,
        role: wf::AgentRole::Agent,
        region,
        language: "en",
        skill: Some(skill),
        capacity: 5,
        shift,
    };
    let amelie = agent(
        &channel,
        &admin,
        staff("Amélie", "amelie", "eu-west", &dishwashers, &closed),
    )
    .await;
    let grace = agent(
        &channel,
        &admin,
        staff("Grace", "grace", "na-east", &dishwashers, &new_york),
    )
    .await;
    let lukas = agent(
        &channel,
        &admin,
        staff("Lukas", "lukas", "eu-west", &fridges, &paris),
    )
    .await;
    let amelie_token = sandbox.token(&amelie.name, Role::Agent, Some("eu-west"));
    let grace_token = sandbox.token(&grace.name, Role::Agent, Some("na-east"));
    let lukas_token = sandbox.token(&lukas.name, Role::Agent, Some("eu-west"));
    let off = online(&channel, &amelie_token, &amelie).await;
    assert!(!off.on_shift, "{off:?}");
    let on = online(&channel, &grace_token, &grace).await;
    assert!(on.on_shift, "{on:?}");

    // Nobody on shift in Paris: the dishwasher ticket follows the sun to New York.
    let dishwasher = wf::RouteTicketRequest {
        product_line: "dishwasher".into(),
        language: "en".into(),
        region: "eu-west".into(),
        ..Default::default()
    };
    let sun = route(&channel, &admin, dishwasher).await;
    assert_eq!(ranked(&sun), [grace.name.as_str()], "{sun:?}");
    assert!(
        sun.candidates[0]
            .reasons
            .iter()
            .any(|r| r.contains("follow-the-sun")),
        "{sun:?}"
    );
    assert_eq!(
        (
            sun.candidates[0].region.as_str(),
            sun.candidates[0].on_shift
        ),
        ("na-east", true),
        "{sun:?}"
    );
    assert_eq!(
        excluded(&sun, wf::RoutingExclusionReason::OffShift),
        1,
        "{sun:?}"
    );
    let followed = open_ticket(
        &channel,
        &intake,
        "eu-west",
        "en",
        "dishwasher",
        "Dishwasher does not drain",
    )
    .await;
    assert_eq!(
        followed.assignee, grace.name,
        "not {}: {followed:?}",
        amelie.name
    );

    // The refrigerator's only agent is signed out: the ticket is not assigned, and waits.
    let fridge = wf::RouteTicketRequest {
        product_line: "refrigerator".into(),
        language: "en".into(),
        region: "eu-west".into(),
        ..Default::default()
    };
    let nobody = route(&channel, &admin, fridge).await;
    assert!(nobody.candidates.is_empty(), "{nobody:?}");
    assert_eq!(
        excluded(&nobody, wf::RoutingExclusionReason::NotAvailable),
        1,
        "{nobody:?}"
    );
    let waiting = open_ticket(
        &channel,
        &intake,
        "eu-west",
        "en",
        "refrigerator",
        "Refrigerator is warm inside",
    )
    .await;
    assert!(waiting.assignee.is_empty(), "{waiting:?}");
    assert_eq!(load_of(&channel, &lukas_token, &lukas).await, 0);

    // Lukas signs in and takes the queued ticket at once (it counts in his load).
    let signed_in = online(&channel, &lukas_token, &lukas).await;
    assert_eq!(
        (signed_in.on_shift, signed_in.active_tickets),
        (true, 1),
        "{signed_in:?}"
    );
    // The workforce service publishes the hold (`TicketRouted`) and the tickets service
    // assigns the ticket itself to Lukas, as routed, with nobody asking; counted once.
    let routed = poll_until("the queued ticket assigned to Lukas", EVENTUALLY, || {
        let (channel, lead, name, lukas) = (
            channel.clone(),
            lead.clone(),
            waiting.name.clone(),
            lukas.name.clone(),
        );
        async move {
            let ticket = get_ticket(&channel, &lead, &name).await;
            (ticket.assignee == lukas).then_some(ticket)
        }
    })
    .await;
    assert_eq!(routed.status, tk::TicketStatus::Open as i32, "{routed:?}");
    poll_until("Lukas's assignment counted", EVENTUALLY, || {
        let (channel, token, agent) = (channel.clone(), lukas_token.clone(), lukas.name.clone());
        async move {
            let metrics = PerformanceServiceClient::new(channel)
                .get_agent_performance(Sandbox::request(
                    &token,
                    wf::GetAgentPerformanceRequest {
                        agent,
                        ..Default::default()
                    },
                ))
                .await
                .expect("Lukas reads his performance")
                .into_inner()
                .metrics?;
            (metrics.tickets_assigned >= 1).then_some(())
        }
    })
    .await;
    assert_eq!(load_of(&channel, &lukas_token, &lukas).await, 1);
    sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_the_sun_and_queue_on_sqlite() {
    follow_the_sun_and_queue(Databases::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_the_sun_and_queue_on_postgres() {
    follow_the_sun_and_queue(Databases::Postgres).await;
}
