//! `RouteTicket` latency over 1,000 agents with mixed skills, shifts, certifications and
//! presence, through gRPC on 127.0.0.1, on SQLite and on PostgreSQL (when reachable).
//!
//! `cargo bench -p aftercare-workforce` (`ROUTING_BENCH_N` sets the number of routings per
//! measurement, default 500). Every loop is bounded; only 127.0.0.1 is contacted.

use std::time::{Duration, Instant};

use aftercare_platform::auth::{Principal, Role};
use aftercare_platform::testing::{TestDatabase, TestService};
use aftercare_platform::time::{now_micros, to_timestamp};
use aftercare_proto::aftercare::workforce::v1 as pb;
use aftercare_proto::aftercare::workforce::v1::training_service_client::TrainingServiceClient;
use aftercare_proto::aftercare::workforce::v1::workforce_service_client::WorkforceServiceClient;
use aftercare_workforce::WorkforceService;

const AGENTS: usize = 1_000;
const REGIONS: [&str; 3] = ["eu-west", "cn-east", "us-east"];
const LANGUAGES: [&str; 4] = ["en", "zh-CN", "de-DE", "fr"];
const PRODUCTS: [&str; 8] = [
    "washing-machines",
    "dryers",
    "fridges",
    "ovens",
    "dishwashers",
    "vacuums",
    "air-conditioners",
    "tvs",
];

fn admin() -> Principal {
    Principal {
        subject: "admins/bench".into(),
        roles: vec![Role::Admin],
        region: None,
        customer: None,
        scopes: vec![],
        display_name: None,
        via: None,
    }
}

fn day_intervals(start_minute: i32, minutes: i64) -> Vec<pb::ShiftInterval> {
    (1..=7)
        .map(|weekday| pb::ShiftInterval {
            weekday,
            start_minute,
            duration: Some(prost_types::Duration {
                seconds: minutes * 60,
                nanos: 0,
            }),
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

async fn run(label: &str, db: TestDatabase, n: usize) {
    let service = TestService::start(&WorkforceService::new(), &db).await;
    let mut wf = WorkforceServiceClient::new(service.channel());
    let mut training = TrainingServiceClient::new(service.channel());
    let who = admin();
    let mut skills = Vec::new();
    for code in PRODUCTS {
        let skill = wf
            .create_skill(service.request(
                &who,
                pb::CreateSkillRequest {
                    skill: Some(pb::Skill {
                        display_name: code.into(),
                        category: pb::SkillCategory::ProductLine as i32,
                        code: code.into(),
                        ..Default::default()
                    }),
                    request_id: String::new(),
                },
            ))
            .await
            .expect("skill")
            .into_inner()
            .skill
            .expect("skill");
        skills.push(skill.name);
    }
    let mut shifts = Vec::new();
    for (name, zone, intervals) in [
        ("Always", "UTC", day_intervals(0, 1440)),
        ("Berlin day", "Europe/Berlin", day_intervals(540, 480)),
        ("Shanghai day", "Asia/Shanghai", day_intervals(540, 540)),
        ("Never", "UTC", vec![]),
    ] {
        let shift = wf
            .create_shift(service.request(
                &who,
                pb::CreateShiftRequest {
                    shift: Some(pb::Shift {
                        display_name: name.into(),
                        time_zone: zone.into(),
                        intervals,
                        ..Default::default()
                    }),
                    request_id: String::new(),
                },
            ))
            .await
            .expect("shift")
            .into_inner()
            .shift
            .expect("shift");
        shifts.push(shift.name);
    }
    let seeded = Instant::now();
    let expiry = to_timestamp(now_micros() + 86_400_000_000);
    for i in 0..AGENTS {
        let agent = wf
            .create_agent(
                service.request(
                    &who,
                    pb::CreateAgentRequest {
                        agent: Some(pb::Agent {
                            display_name: format!("Agent {i:04}"),
                            email: format!("agent{i}@example.com"),
                            roles: vec![pb::AgentRole::Agent as i32],
                            region: REGIONS[i % REGIONS.len()].into(),
                            languages: match LANGUAGES[i % LANGUAGES.len()] {
                                "en" => vec!["en".into()],
                                other => vec![other.into(), "en".into()],
                            },
                            skills: (0..3)
                                .map(|k| pb::AgentSkill {
                                    skill: skills[(i + k * 3) % skills.len()].clone(),
                                    level: ((i + k) % 5 + 1) as i32,
                                })
                                .collect(),
                            max_concurrent_tickets: 5,
                            shift: shifts[i % shifts.len()].clone(),
                            ..Default::default()
                        }),
                        request_id: String::new(),
                    },
                ),
            )
            .await
            .expect("agent")
            .into_inner()
            .agent
            .expect("agent");
        let state = if i % 5 == 4 {
            pb::PresenceState::Away
        } else {
            pb::PresenceState::Available
        };
        wf.set_presence(service.request(
            &who,
            pb::SetPresenceRequest {
                name: format!("{}/presence", agent.name),
                state: state as i32,
                status_message: String::new(),
                active_tickets: Some((i % 6) as i32),
            },
        ))
        .await
        .expect("presence");
        if i % 3 == 0 {
            training
                .create_certification(service.request(
                    &who,
                    pb::CreateCertificationRequest {
                        parent: agent.name.clone(),
                        certification: Some(pb::Certification {
                            code: "washer-repair-l2".into(),
                            display_name: "Washer repair".into(),
                            expire_time: Some(expiry),
                            ..Default::default()
                        }),
                        request_id: String::new(),
                    },
                ))
                .await
                .expect("certification");
        }
    }
    println!("{label}: seeded {AGENTS} agents in {:?}", seeded.elapsed());
    let requests = [
        pb::RouteTicketRequest {
            product_line: "washing-machines".into(),
            language: "en".into(),
            region: "eu-west".into(),
            ..Default::default()
        },
        pb::RouteTicketRequest {
            product_line: "fridges".into(),
            language: "zh-CN".into(),
            region: "cn-east".into(),
            required_certifications: vec!["washer-repair-l2".into()],
            allow_off_shift: true,
            ..Default::default()
        },
        pb::RouteTicketRequest {
            region: "us-east".into(),
            priority: pb::RoutingPriority::Urgent as i32,
            max_candidates: 10,
            ..Default::default()
        },
    ];
    // Warm up, then measure.
    for request in requests.iter().cycle().take(20) {
        wf.route_ticket(service.request(&who, request.clone()))
            .await
            .expect("route");
    }
    let mut latencies = Vec::with_capacity(n);
    let mut candidates = 0usize;
    let started = Instant::now();
    for request in requests.iter().cycle().take(n) {
        let t = Instant::now();
        let response = wf
            .route_ticket(service.request(&who, request.clone()))
            .await
            .expect("route")
            .into_inner();
        latencies.push(t.elapsed());
        candidates += response.candidates.len();
    }
    let total = started.elapsed();
    latencies.sort();
    println!(
        "{label}: RouteTicket over {AGENTS} agents, {n} calls: p50 {:?}, p99 {:?}, max {:?}, {:.0} calls/s, {:.1} candidates per answer",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1],
        n as f64 / total.as_secs_f64(),
        candidates as f64 / n as f64,
    );
    // Real tickets: each call also holds the chosen agent (a write) and so moves the load
    // the next call reads.
    let mut latencies = Vec::with_capacity(n);
    let mut held = 0usize;
    let started = Instant::now();
    for request in requests.iter().cycle().take(n) {
        let request = pb::RouteTicketRequest {
            ticket: format!("tickets/{}", uuid::Uuid::now_v7()),
            ..request.clone()
        };
        let t = Instant::now();
        let response = wf
            .route_ticket(service.request(&who, request))
            .await
            .expect("route")
            .into_inner();
        latencies.push(t.elapsed());
        held += usize::from(!response.candidates.is_empty());
    }
    let total = started.elapsed();
    latencies.sort();
    println!(
        "{label}: RouteTicket holding real tickets, {n} calls: p50 {:?}, p99 {:?}, max {:?}, {:.0} calls/s, {held} held",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1],
        n as f64 / total.as_secs_f64(),
    );
    service.stop().await;
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n = std::env::var("ROUTING_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    run("sqlite", TestDatabase::sqlite(), n).await;
    if let Some(db) = TestDatabase::postgres().await {
        run("postgres", db, n).await;
    }
}
