//! `aftercare seed`: realistic demo data for two regions (`cn-east`, Asia/Shanghai and
//! `eu-west`, Europe/Berlin), written through the gateway like any client would: calendars
//! and holidays, SLA policies, teams, agents with skills, shifts and certifications, courses,
//! published articles in Chinese and English, a survey, customers, and tickets in every state
//! with their surveys answered.
//!
//! Idempotent: every create carries a request id derived from what it creates, so a second
//! run replays the first run's results and adds nothing; steps that move a resource (a
//! ticket's status, an article's workflow) look at where it stands first. It refuses to write
//! into a platform that holds customers or agents that are not demo data, unless forced.

mod data;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use aftercare_platform::auth::Role;
use aftercare_platform::config::GatewayConfig;
use aftercare_proto::aftercare::common::v1 as cm;
use aftercare_proto::aftercare::customers::v1 as cu;
use aftercare_proto::aftercare::feedback::v1 as fb;
use aftercare_proto::aftercare::knowledge::v1 as kb;
use aftercare_proto::aftercare::tickets::v1 as tk;
use aftercare_proto::aftercare::workforce::v1 as wf;
use anyhow::{Context as _, bail};
use cu::customer_service_client::CustomerServiceClient;
use fb::feedback_service_client::FeedbackServiceClient;
use kb::knowledge_service_client::KnowledgeServiceClient;
use tk::after_sales_service_client::AfterSalesServiceClient;
use tk::sla_service_client::SlaServiceClient;
use tk::ticket_service_client::TicketServiceClient;
use tonic::transport::Channel;
use wf::performance_service_client::PerformanceServiceClient;
use wf::training_service_client::TrainingServiceClient;
use wf::workforce_service_client::WorkforceServiceClient;

use data::{DEMO_DOMAIN, Region, Staff};

/// The subject every write of the seed is made as (so its request ids replay).
const SEED_ADMIN: &str = "agents/demo-seed";
/// Who writes the demo articles, and who reviews them (a second pair of eyes).
const SEED_AUTHOR: &str = "agents/demo-author";
const SEED_REVIEWER: &str = "agents/demo-reviewer";
/// The namespace of the seed's request ids.
const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6f1c_2a8e_5d0b_4c3a_9e7f_1b2c_3d4e_5f60);
/// How long the seed waits for the platform's own reactions (invitations after resolutions).
const REACTION: Duration = Duration::from_secs(20);

/// What to seed.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    /// Tickets to create (spread over both regions and every status).
    pub tickets: usize,
    /// Write even when the platform holds data that is not the demo's.
    pub force: bool,
}

impl Default for SeedOptions {
    fn default() -> Self {
        Self {
            tickets: 240,
            force: false,
        }
    }
}

/// How many resources of each kind the seed reached (created now or by an earlier run).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SeedReport {
    /// Counts by resource kind.
    pub counts: BTreeMap<&'static str, usize>,
}

impl SeedReport {
    fn add(&mut self, kind: &'static str) {
        *self.counts.entry(kind).or_default() += 1;
    }
}

impl std::fmt::Display for SeedReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (kind, count) in &self.counts {
            writeln!(f, "  {kind:<22} {count}")?;
        }
        Ok(())
    }
}

/// Writes the demo data through the gateway at `channel`, minting its tokens with the
/// gateway's development secret in `gateway`.
pub async fn seed(
    channel: Channel,
    gateway: &GatewayConfig,
    options: &SeedOptions,
) -> anyhow::Result<SeedReport> {
    let seeder = Seeder::new(channel, gateway)?;
    if !options.force {
        seeder.refuse_foreign_data().await?;
    }
    let mut report = SeedReport::default();
    let calendars = seeder.calendars(&mut report).await?;
    seeder.sla_policies(&calendars, &mut report).await?;
    let skills = seeder.skills(&mut report).await?;
    let staff = seeder.workforce(&skills, &mut report).await?;
    seeder.training(&skills, &staff, &mut report).await?;
    seeder.knowledge(&mut report).await?;
    let survey = seeder.survey(&mut report).await?;
    let customers = seeder.customers(&mut report).await?;
    let tickets = seeder
        .tickets(options.tickets, &customers, &staff, &mut report)
        .await?;
    seeder.after_sales(&tickets, &mut report).await?;
    seeder.feedback(&survey, &tickets, &mut report).await?;
    seeder.recognitions(&staff, &mut report).await?;
    Ok(report)
}

/// A seeded agent: its resource name and region.
#[derive(Debug, Clone)]
struct SeededAgent {
    name: String,
    region: &'static str,
    lead: bool,
}

/// A seeded customer.
#[derive(Debug, Clone)]
struct SeededCustomer {
    name: String,
    region: &'static Region,
}

/// A seeded ticket, as it stands after the seed.
#[derive(Debug, Clone)]
struct SeededTicket {
    ticket: tk::Ticket,
    language: &'static str,
}

struct Seeder {
    channel: Channel,
    gateway: GatewayConfig,
    admin: String,
}

/// The request id of the seed's create of `key` (the same key, the same id, every run).
fn request_id(key: &str) -> String {
    uuid::Uuid::new_v5(&NAMESPACE, key.as_bytes()).to_string()
}

fn duration(seconds: i64) -> prost_types::Duration {
    prost_types::Duration { seconds, nanos: 0 }
}

fn texts(en: &str, zh: &str) -> HashMap<String, String> {
    HashMap::from([("en".into(), en.into()), ("zh-CN".into(), zh.into())])
}

fn demo_address(local: &str) -> String {
    format!("{local}@{DEMO_DOMAIN}")
}

impl Seeder {
    fn new(channel: Channel, gateway: &GatewayConfig) -> anyhow::Result<Self> {
        let mut seeder = Self {
            channel,
            gateway: gateway.clone(),
            admin: String::new(),
        };
        seeder.admin = seeder.token(SEED_ADMIN, Role::Admin, None)?;
        Ok(seeder)
    }

    fn token(&self, subject: &str, role: Role, region: Option<&str>) -> anyhow::Result<String> {
        let customer = (role == Role::Customer).then_some(subject);
        aftercare_gateway::mint_dev_token(
            &self.gateway,
            subject,
            &[role],
            region,
            customer,
            Duration::from_secs(3_600),
        )
    }

    fn req<T>(&self, token: &str, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        let bearer = format!("Bearer {token}").parse().expect("a token is ASCII");
        request.metadata_mut().insert("authorization", bearer);
        request
    }

    fn admin<T>(&self, message: T) -> tonic::Request<T> {
        self.req(&self.admin, message)
    }

    fn customers_client(&self) -> CustomerServiceClient<Channel> {
        CustomerServiceClient::new(self.channel.clone())
    }
    fn tickets_client(&self) -> TicketServiceClient<Channel> {
        TicketServiceClient::new(self.channel.clone())
    }
    fn sla_client(&self) -> SlaServiceClient<Channel> {
        SlaServiceClient::new(self.channel.clone())
    }
    fn workforce_client(&self) -> WorkforceServiceClient<Channel> {
        WorkforceServiceClient::new(self.channel.clone())
    }
    fn training_client(&self) -> TrainingServiceClient<Channel> {
        TrainingServiceClient::new(self.channel.clone())
    }
    fn knowledge_client(&self) -> KnowledgeServiceClient<Channel> {
        KnowledgeServiceClient::new(self.channel.clone())
    }
    fn feedback_client(&self) -> FeedbackServiceClient<Channel> {
        FeedbackServiceClient::new(self.channel.clone())
    }

    /// Refuses a platform whose customers or agents are not all demo data.
    async fn refuse_foreign_data(&self) -> anyhow::Result<()> {
        let suffix = format!("@{DEMO_DOMAIN}");
        let customers = self
            .customers_client()
            .list_customers(self.admin(cu::ListCustomersRequest {
                page_size: 100,
                ..Default::default()
            }))
            .await
            .context("listing customers (is `aftercare up` running?)")?
            .into_inner()
            .customers;
        let foreign = customers.iter().find(|c| {
            !c.erased
                && c.merged_into.is_empty()
                && !c.emails.iter().any(|e| e.address.ends_with(&suffix))
        });
        if let Some(customer) = foreign {
            bail!(
                "the platform holds customers that are not demo data ({}); seed writes only into \
                 an empty or demo platform (`--force` writes anyway)",
                customer.name
            );
        }
        let agents = self
            .workforce_client()
            .list_agents(self.admin(wf::ListAgentsRequest {
                page_size: 100,
                ..Default::default()
            }))
            .await
            .context("listing agents")?
            .into_inner()
            .agents;
        if let Some(agent) = agents.iter().find(|a| !a.email.ends_with(&suffix)) {
            bail!(
                "the platform holds agents that are not demo data ({}); `--force` writes anyway",
                agent.name
            );
        }
        Ok(())
    }

    /// A working-hours calendar per region, with its holidays.
    async fn calendars(
        &self,
        report: &mut SeedReport,
    ) -> anyhow::Result<HashMap<&'static str, String>> {
        let mut names = HashMap::new();
        for region in &data::REGIONS {
            let weekly_hours = (1..=5)
                .map(|weekday| tk::BusinessDayHours {
                    weekday,
                    intervals: vec![tk::BusinessHoursInterval {
                        start_time_of_day: region.hours.0.into(),
                        end_time_of_day: region.hours.1.into(),
                    }],
                })
                .collect();
            let holidays = region
                .holidays
                .iter()
                .map(|(date, name)| tk::Holiday {
                    date: (*date).into(),
                    display_name: (*name).into(),
                })
                .collect();
            let calendar = self
                .sla_client()
                .create_business_calendar(self.admin(tk::CreateBusinessCalendarRequest {
                    business_calendar: Some(tk::BusinessCalendar {
                        display_name: format!("{} service centre hours", region.centre),
                        region: region.code.into(),
                        service_centre: region.centre.into(),
                        time_zone: region.time_zone.into(),
                        weekly_hours,
                        holidays,
                        ..Default::default()
                    }),
                    request_id: request_id(&format!("calendar/{}", region.code)),
                }))
                .await
                .with_context(|| format!("creating the {} calendar", region.code))?
                .into_inner()
                .business_calendar
                .context("a calendar")?;
            report.add("business calendars");
            names.insert(region.code, calendar.name);
        }
        Ok(names)
    }

    /// Per region: VIP and premium customers get faster targets; complaints and urgent
    /// tickets too; everything else the standard.
    async fn sla_policies(
        &self,
        calendars: &HashMap<&'static str, String>,
        report: &mut SeedReport,
    ) -> anyhow::Result<()> {
        let hour = 3_600;
        for region in &data::REGIONS {
            let policies = [
                (
                    "VIP",
                    10,
                    tk::SlaPolicyConditions {
                        customer_tiers: vec!["VIP".into(), "PREMIUM".into()],
                        regions: vec![region.code.into()],
                        ..Default::default()
                    },
                    hour / 2,
                    8 * hour,
                ),
                (
                    "urgent and complaints",
                    20,
                    tk::SlaPolicyConditions {
                        kinds: vec![tk::TicketKind::Complaint as i32],
                        priorities: vec![
                            tk::TicketPriority::High as i32,
                            tk::TicketPriority::Urgent as i32,
                        ],
                        regions: vec![region.code.into()],
                        ..Default::default()
                    },
                    hour,
                    16 * hour,
                ),
                (
                    "standard",
                    90,
                    tk::SlaPolicyConditions {
                        regions: vec![region.code.into()],
                        ..Default::default()
                    },
                    4 * hour,
                    27 * hour,
                ),
            ];
            for (label, rank, conditions, first_response, resolution) in policies {
                self.sla_client()
                    .create_sla_policy(self.admin(tk::CreateSlaPolicyRequest {
                        sla_policy: Some(tk::SlaPolicy {
                            display_name: format!("{} {label}", region.code),
                            description: format!(
                                "Demo standard for {label} tickets in {}, in the service \
                                 centre's business hours",
                                region.code
                            ),
                            rank,
                            conditions: Some(conditions),
                            first_response_target: Some(duration(first_response)),
                            resolution_target: Some(duration(resolution)),
                            at_risk_threshold_percent: 80,
                            business_calendar: calendars[region.code].clone(),
                            ..Default::default()
                        }),
                        request_id: request_id(&format!("sla/{}/{label}", region.code)),
                    }))
                    .await
                    .with_context(|| format!("creating the {} {label} policy", region.code))?;
                report.add("SLA policies");
            }
        }
        Ok(())
    }

    /// A skill per product line, per language and for after-sales work.
    async fn skills(
        &self,
        report: &mut SeedReport,
    ) -> anyhow::Result<HashMap<&'static str, String>> {
        let mut skills = HashMap::new();
        let mut wanted: Vec<(&'static str, &str, wf::SkillCategory)> = data::PRODUCT_LINES
            .iter()
            .map(|(code, name, _)| (*code, *name, wf::SkillCategory::ProductLine))
            .collect();
        wanted.push(("zh", "Chinese", wf::SkillCategory::Language));
        wanted.push(("en", "English", wf::SkillCategory::Language));
        wanted.push((
            "after-sales",
            "After-sales service",
            wf::SkillCategory::TicketKind,
        ));
        for (code, display_name, category) in wanted {
            let skill = self
                .workforce_client()
                .create_skill(self.admin(wf::CreateSkillRequest {
                    skill: Some(wf::Skill {
                        display_name: display_name.into(),
                        category: category as i32,
                        code: code.into(),
                        ..Default::default()
                    }),
                    request_id: request_id(&format!("skill/{code}")),
                }))
                .await
                .with_context(|| format!("creating the skill {code}"))?
                .into_inner()
                .skill
                .context("a skill")?;
            report.add("skills");
            skills.insert(code, skill.name);
        }
        Ok(skills)
    }

    /// Per region: a shift, a first-line and a specialist team, and their staff, online.
    async fn workforce(
        &self,
        skills: &HashMap<&'static str, String>,
        report: &mut SeedReport,
    ) -> anyhow::Result<Vec<SeededAgent>> {
        let mut seeded = Vec::new();
        for (region, staff) in [
            (&data::REGIONS[0], &data::CN_STAFF[..]),
            (&data::REGIONS[1], &data::EU_STAFF[..]),
        ] {
            let start: i32 = region.hours.0[..2].parse().expect("an hour");
            let end: i32 = region.hours.1[..2].parse().expect("an hour");
            let shift = self
                .workforce_client()
                .create_shift(
                    self.admin(wf::CreateShiftRequest {
                        shift: Some(wf::Shift {
                            display_name: format!("{} weekdays", region.centre),
                            time_zone: region.time_zone.into(),
                            region: region.code.into(),
                            intervals: (1..=5)
                                .map(|weekday| wf::ShiftInterval {
                                    weekday,
                                    start_minute: start * 60,
                                    duration: Some(duration(i64::from(end - start) * 3_600)),
                                })
                                .collect(),
                            ..Default::default()
                        }),
                        request_id: request_id(&format!("shift/{}", region.code)),
                    }),
                )
                .await
                .with_context(|| format!("creating the {} shift", region.code))?
                .into_inner()
                .shift
                .context("a shift")?;
            report.add("shifts");
            let mut teams = Vec::new();
            for (label, tier) in [
                ("first line", wf::EscalationTier::FirstLine),
                ("specialists", wf::EscalationTier::TechnicalSpecialist),
            ] {
                let team = self
                    .workforce_client()
                    .create_team(self.admin(wf::CreateTeamRequest {
                        team: Some(wf::Team {
                            display_name: format!("{} {label}", region.centre),
                            description: format!("Demo {label} team of {}", region.code),
                            region: region.code.into(),
                            service_centre: region.centre.into(),
                            escalation_tier: tier as i32,
                            ..Default::default()
                        }),
                        request_id: request_id(&format!("team/{}/{label}", region.code)),
                    }))
                    .await
                    .with_context(|| format!("creating the {} {label} team", region.code))?
                    .into_inner()
                    .team
                    .context("a team")?;
                report.add("teams");
                teams.push(team.name);
            }
            for person in staff {
                let agent = self.agent(region, person, skills, &shift.name).await?;
                report.add("agents");
                let team = if person.specialist {
                    &teams[1]
                } else {
                    &teams[0]
                };
                if !agent.teams.contains(team) {
                    self.workforce_client()
                        .add_team_member(self.admin(wf::AddTeamMemberRequest {
                            team: team.clone(),
                            agent: agent.name.clone(),
                        }))
                        .await
                        .with_context(|| format!("adding {} to {team}", agent.name))?;
                }
                self.workforce_client()
                    .set_presence(self.admin(wf::SetPresenceRequest {
                        name: format!("{}/presence", agent.name),
                        state: wf::PresenceState::Available as i32,
                        ..Default::default()
                    }))
                    .await
                    .with_context(|| format!("setting {}'s presence", agent.name))?;
                seeded.push(SeededAgent {
                    name: agent.name,
                    region: region.code,
                    lead: person.lead,
                });
            }
        }
        Ok(seeded)
    }

    async fn agent(
        &self,
        region: &Region,
        person: &Staff,
        skills: &HashMap<&'static str, String>,
        shift: &str,
    ) -> anyhow::Result<wf::Agent> {
        let mut roles = vec![wf::AgentRole::Agent as i32];
        if person.lead {
            roles.push(wf::AgentRole::TeamLead as i32);
        }
        if person.specialist {
            roles.push(wf::AgentRole::TechnicalSpecialist as i32);
        }
        let language = if region.language.starts_with("zh") {
            "zh"
        } else {
            "en"
        };
        let mut agent_skills: Vec<wf::AgentSkill> = data::PRODUCT_LINES
            .iter()
            .zip(person.levels)
            .filter(|(_, level)| *level > 0)
            .map(|((code, _, _), level)| wf::AgentSkill {
                skill: skills[code].clone(),
                level,
            })
            .collect();
        agent_skills.push(wf::AgentSkill {
            skill: skills[language].clone(),
            level: 5,
        });
        agent_skills.push(wf::AgentSkill {
            skill: skills["en"].clone(),
            level: if language == "en" { 5 } else { 3 },
        });
        agent_skills.dedup_by(|a, b| a.skill == b.skill);
        let languages = if language == "en" {
            vec!["en".into(), "de".into()]
        } else {
            vec!["zh-CN".into(), "en".into()]
        };
        self.workforce_client()
            .create_agent(self.admin(wf::CreateAgentRequest {
                agent: Some(wf::Agent {
                    display_name: person.display_name.into(),
                    email: demo_address(person.mailbox),
                    roles,
                    region: region.code.into(),
                    service_centre: region.centre.into(),
                    languages,
                    skills: agent_skills,
                    max_concurrent_tickets: person.capacity,
                    shift: shift.into(),
                    ..Default::default()
                }),
                request_id: request_id(&format!("agent/{}", person.mailbox)),
            }))
            .await
            .with_context(|| format!("creating the agent {}", person.mailbox))?
            .into_inner()
            .agent
            .context("an agent")
    }

    /// A repair course per product line; each agent is enrolled in one of them and holds
    /// its certification.
    async fn training(
        &self,
        skills: &HashMap<&'static str, String>,
        staff: &[SeededAgent],
        report: &mut SeedReport,
    ) -> anyhow::Result<()> {
        let mut courses = Vec::new();
        for (code, name, _) in &data::PRODUCT_LINES {
            let course = self
                .training_client()
                .create_course(self.admin(wf::CreateCourseRequest {
                    course: Some(wf::Course {
                        title: format!("{name}: repair and diagnosis"),
                        description: format!("Diagnosing and repairing {name} on site."),
                        skills: vec![wf::CourseSkill {
                            skill: skills[code].clone(),
                            level: 3,
                        }],
                        certification_code: format!("{code}-repair"),
                        certification_display_name: format!("{name} repair"),
                        certification_validity: Some(duration(365 * 86_400)),
                        completion: wf::CourseCompletion::Assessment as i32,
                        pass_mark: 70,
                        max_attempts: 3,
                        state: wf::CourseState::Active as i32,
                        ..Default::default()
                    }),
                    request_id: request_id(&format!("course/{code}")),
                }))
                .await
                .with_context(|| format!("creating the {code} course"))?
                .into_inner()
                .course
                .context("a course")?;
            report.add("courses");
            courses.push((*code, course));
        }
        for (index, agent) in staff.iter().enumerate() {
            let (code, course) = &courses[index % courses.len()];
            let enrolment = self
                .training_client()
                .create_enrolment(self.admin(wf::CreateEnrolmentRequest {
                    parent: course.name.clone(),
                    enrolment: Some(wf::Enrolment {
                        agent: agent.name.clone(),
                        ..Default::default()
                    }),
                    request_id: request_id(&format!("enrolment/{code}/{}", agent.name)),
                }))
                .await
                .with_context(|| format!("enrolling {} in {code}", agent.name))?
                .into_inner()
                .enrolment
                .context("an enrolment")?;
            report.add("enrolments");
            self.training_client()
                .submit_assessment(self.admin(wf::SubmitAssessmentRequest {
                    enrolment: enrolment.name.clone(),
                    score: 78 + (index as i32 % 4) * 5,
                    max_score: 100,
                    notes: "Practical: drain pump and door seal replaced unaided.".into(),
                    request_id: request_id(&format!("assessment/{}", enrolment.name)),
                }))
                .await
                .with_context(|| format!("assessing {}", agent.name))?;
            report.add("assessments");
            self.training_client()
                .create_certification(self.admin(wf::CreateCertificationRequest {
                    parent: agent.name.clone(),
                    certification: Some(wf::Certification {
                        code: format!("{code}-repair"),
                        display_name: format!("{code} repair"),
                        ..Default::default()
                    }),
                    request_id: request_id(&format!("certification/{code}/{}", agent.name)),
                }))
                .await
                .with_context(|| format!("certifying {} for {code}", agent.name))?;
            report.add("certifications");
        }
        Ok(())
    }

    /// Categories per product line and the articles, written, reviewed and published.
    async fn knowledge(&self, report: &mut SeedReport) -> anyhow::Result<()> {
        let author = self.token(SEED_AUTHOR, Role::Agent, None)?;
        let reviewer = self.token(SEED_REVIEWER, Role::Lead, None)?;
        let mut categories = Vec::new();
        for (code, en, zh) in &data::PRODUCT_LINES {
            let category = self
                .knowledge_client()
                .create_category(self.admin(kb::CreateCategoryRequest {
                    category: Some(kb::Category {
                        display_names: texts(en, zh),
                        ..Default::default()
                    }),
                    request_id: request_id(&format!("category/{code}")),
                }))
                .await
                .with_context(|| format!("creating the {code} category"))?
                .into_inner()
                .category
                .context("a category")?;
            report.add("article categories");
            categories.push(category.name);
        }
        let mut published = Vec::new();
        for (language, line, title, body) in &data::ARTICLES {
            let mut article = self
                .knowledge_client()
                .create_article(self.req(
                    &author,
                    kb::CreateArticleRequest {
                        article: Some(kb::Article {
                            kind: kb::ArticleKind::TroubleshootingGuide as i32,
                            visibility: kb::ArticleVisibility::Public as i32,
                            category: categories[*line].clone(),
                            product_lines: vec![data::PRODUCT_LINES[*line].0.into()],
                            ..Default::default()
                        }),
                        initial_version: Some(kb::ArticleVersion {
                            language: (*language).into(),
                            title: (*title).into(),
                            body: (*body).into(),
                            ..Default::default()
                        }),
                        request_id: request_id(&format!("article/{title}")),
                    },
                ))
                .await
                .with_context(|| format!("writing the article {title}"))?
                .into_inner()
                .article
                .context("an article")?;
            article = self
                .knowledge_client()
                .get_article(self.admin(kb::GetArticleRequest {
                    name: article.name.clone(),
                }))
                .await
                .context("reading an article")?
                .into_inner()
                .article
                .context("an article")?;
            if article.state == kb::ArticleState::Draft as i32 {
                article = self
                    .knowledge_client()
                    .submit_article_for_review(self.req(
                        &author,
                        kb::SubmitArticleForReviewRequest {
                            name: article.name.clone(),
                            etag: article.etag.clone(),
                            ..Default::default()
                        },
                    ))
                    .await
                    .context("submitting an article")?
                    .into_inner()
                    .article
                    .context("an article")?;
            }
            if article.state == kb::ArticleState::InReview as i32 {
                article = self
                    .knowledge_client()
                    .approve_article(self.req(
                        &reviewer,
                        kb::ApproveArticleRequest {
                            name: article.name.clone(),
                            etag: article.etag.clone(),
                            comment: "Checked against the service manual.".into(),
                        },
                    ))
                    .await
                    .context("approving an article")?
                    .into_inner()
                    .article
                    .context("an article")?;
            }
            if article.state == kb::ArticleState::Approved as i32 {
                self.knowledge_client()
                    .publish_article(self.admin(kb::PublishArticleRequest {
                        name: article.name.clone(),
                        etag: article.etag.clone(),
                    }))
                    .await
                    .context("publishing an article")?;
            }
            report.add("published articles");
            published.push(article.name);
        }
        // A reader found the first guide helpful; a search for what nobody has written yet is
        // an open content gap.
        let ratings = self
            .knowledge_client()
            .list_article_ratings(self.admin(kb::ListArticleRatingsRequest {
                parent: published[0].clone(),
                ..Default::default()
            }))
            .await
            .context("listing ratings")?
            .into_inner()
            .ratings;
        if ratings.is_empty() {
            self.knowledge_client()
                .rate_article(self.admin(kb::RateArticleRequest {
                    name: published[0].clone(),
                    helpfulness: kb::ArticleHelpfulness::Helpful as i32,
                    comment: "按步骤拧紧了排水管，不再漏水了。".into(),
                    ..Default::default()
                }))
                .await
                .context("rating an article")?;
        }
        report.add("article ratings");
        let gaps = self
            .knowledge_client()
            .list_content_gaps(self.admin(kb::ListContentGapsRequest::default()))
            .await
            .context("listing content gaps")?
            .into_inner()
            .content_gaps;
        if gaps.is_empty() {
            self.knowledge_client()
                .search_articles(self.admin(kb::SearchArticlesRequest {
                    query: "espresso grinder calibration".into(),
                    ..Default::default()
                }))
                .await
                .context("searching for a missing article")?;
        }
        report.add("content gaps");
        Ok(())
    }

    /// A CSAT survey with a free-text question, sent when a ticket is resolved.
    async fn survey(&self, report: &mut SeedReport) -> anyhow::Result<fb::Survey> {
        let survey = self
            .feedback_client()
            .create_survey(self.admin(fb::CreateSurveyRequest {
                survey: Some(fb::Survey {
                    titles: texts("How did we do?", "服务评价"),
                    default_language: "en".into(),
                    questions: vec![
                        fb::SurveyQuestion {
                            r#type: fb::QuestionType::Csat as i32,
                            texts: texts("How satisfied are you?", "您对本次服务满意吗？"),
                            required: true,
                        },
                        fb::SurveyQuestion {
                            r#type: fb::QuestionType::FreeText as i32,
                            texts: texts("Tell us more", "请告诉我们更多"),
                            required: false,
                        },
                    ],
                    trigger: fb::SurveyTrigger::TicketResolved as i32,
                    enabled: true,
                    ..Default::default()
                }),
                request_id: request_id("survey/csat"),
            }))
            .await
            .context("creating the survey")?
            .into_inner()
            .survey
            .context("a survey")?;
        report.add("surveys");
        Ok(survey)
    }

    /// An organisation per region and its customers, each with an email address and a
    /// phone, survey consent and a loyalty entry.
    async fn customers(&self, report: &mut SeedReport) -> anyhow::Result<Vec<SeededCustomer>> {
        let mut seeded = Vec::new();
        for (region, people) in [
            (&data::REGIONS[0], &data::CN_CUSTOMERS[..]),
            (&data::REGIONS[1], &data::EU_CUSTOMERS[..]),
        ] {
            let organisation = self
                .customers_client()
                .create_organisation(self.admin(cu::CreateOrganisationRequest {
                    organisation: Some(cu::Organisation {
                        display_name: format!("{} demo housing cooperative", region.centre),
                        domain: format!("{}.{DEMO_DOMAIN}", region.centre),
                        region: region.code.into(),
                        ..Default::default()
                    }),
                    request_id: request_id(&format!("organisation/{}", region.code)),
                }))
                .await
                .with_context(|| format!("creating the {} organisation", region.code))?
                .into_inner()
                .organisation
                .context("an organisation")?;
            report.add("organisations");
            for (index, (given, family)) in people.iter().enumerate() {
                let key = format!("customer/{}/{index}", region.code);
                let display_name = if region.language.starts_with("zh") {
                    format!("{family}{given}")
                } else {
                    format!("{given} {family}")
                };
                let tier = match index % 6 {
                    0 => cu::CustomerTier::Vip,
                    1 => cu::CustomerTier::Premium,
                    _ => cu::CustomerTier::Standard,
                };
                let customer = self
                    .customers_client()
                    .create_customer(self.admin(cu::CreateCustomerRequest {
                        customer: Some(cu::Customer {
                            display_name,
                            given_name: (*given).into(),
                            family_name: (*family).into(),
                            locale: region.language.into(),
                            time_zone: region.time_zone.into(),
                            region: region.code.into(),
                            emails: vec![cu::CustomerEmail {
                                address: demo_address(&format!(
                                    "customer{index:02}.{}",
                                    region.code
                                )),
                                label: "home".into(),
                                primary: true,
                            }],
                            phones: vec![cu::CustomerPhone {
                                number: if region.code == "cn-east" {
                                    format!("+86 138 0000 {:04}", 1_000 + index)
                                } else {
                                    format!("+49 30 5550 {:04}", 1_000 + index)
                                },
                                label: "mobile".into(),
                                primary: true,
                            }],
                            organisation: if index % 3 == 0 {
                                organisation.name.clone()
                            } else {
                                String::new()
                            },
                            tier: tier as i32,
                            origin_channel: cm::Channel::Web as i32,
                            ..Default::default()
                        }),
                        request_id: request_id(&key),
                    }))
                    .await
                    .with_context(|| format!("creating {key}"))?
                    .into_inner()
                    .customer
                    .context("a customer")?;
                report.add("customers");
                // The address they write from, so their emails resolve to them.
                self.customers_client()
                    .add_identity(self.admin(cu::AddIdentityRequest {
                        parent: customer.name.clone(),
                        identity: Some(cu::CustomerIdentity {
                            channel: cm::Channel::Email as i32,
                            handle: demo_address(&format!("customer{index:02}.{}", region.code)),
                            ..Default::default()
                        }),
                        request_id: request_id(&format!("{key}/identity")),
                    }))
                    .await
                    .with_context(|| format!("adding {key}'s email identity"))?;
                report.add("identities");
                self.customers_client()
                    .set_consent(self.admin(cu::SetConsentRequest {
                        parent: customer.name.clone(),
                        channel: cm::Channel::Email as i32,
                        purpose: cu::ConsentPurpose::Survey as i32,
                        state: cu::ConsentState::Granted as i32,
                        source: "demo sign-up form".into(),
                        ..Default::default()
                    }))
                    .await
                    .with_context(|| format!("recording {key}'s consent"))?;
                self.customers_client()
                    .record_loyalty_entry(self.admin(cu::RecordLoyaltyEntryRequest {
                        parent: customer.name.clone(),
                        entry: Some(cu::LoyaltyEntry {
                            kind: cu::LoyaltyEntryKind::Earn as i32,
                            points: 100 * (1 + index as i64 % 5),
                            reason: "appliance registered".into(),
                            ..Default::default()
                        }),
                        request_id: request_id(&format!("{key}/loyalty")),
                    }))
                    .await
                    .with_context(|| format!("recording {key}'s points"))?;
                report.add("loyalty entries");
                seeded.push(SeededCustomer {
                    name: customer.name,
                    region,
                });
            }
        }
        for region in &data::REGIONS {
            self.customers_client()
                .create_segment(self.admin(cu::CreateSegmentRequest {
                    segment: Some(cu::Segment {
                        display_name: format!("VIP customers of {}", region.code),
                        description: "For proactive call-backs after every repair.".into(),
                        filter: format!("tier = VIP AND region = \"{}\"", region.code),
                        ..Default::default()
                    }),
                    request_id: request_id(&format!("segment/{}", region.code)),
                }))
                .await
                .with_context(|| format!("creating the {} segment", region.code))?;
            report.add("segments");
        }
        self.customers_client()
            .create_tier_rule(self.admin(cu::CreateTierRuleRequest {
                tier_rule: Some(cu::TierRule {
                    display_name: "Premium from 1,000 points a year".into(),
                    tier: cu::CustomerTier::Premium as i32,
                    metric: cu::TierRuleMetric::PointsEarned as i32,
                    threshold: 1_000,
                    window: Some(duration(365 * 86_400)),
                    ..Default::default()
                }),
                request_id: request_id("tier-rule/premium"),
            }))
            .await
            .context("creating the tier rule")?;
        report.add("tier rules");
        Ok(seeded)
    }

    /// `count` tickets over both regions, cycling through every status.
    async fn tickets(
        &self,
        count: usize,
        customers: &[SeededCustomer],
        staff: &[SeededAgent],
        report: &mut SeedReport,
    ) -> anyhow::Result<Vec<SeededTicket>> {
        use tk::TicketStatus as S;
        const TARGETS: [S; 6] = [
            S::New,
            S::Open,
            S::Pending,
            S::OnHold,
            S::Resolved,
            S::Closed,
        ];
        let mut seeded = Vec::new();
        for index in 0..count {
            let customer = &customers[index % customers.len()];
            let region = customer.region;
            let requests = if region.code == "cn-east" {
                &data::CN_REQUESTS
            } else {
                &data::EU_REQUESTS
            };
            let (line, subject, description) = requests[(index / customers.len()) % requests.len()];
            let agents: Vec<&SeededAgent> = staff
                .iter()
                .filter(|a| a.region == region.code && !a.lead)
                .collect();
            let agent = agents[index % agents.len()];
            let target = TARGETS[(index / 2) % TARGETS.len()];
            let key = format!("ticket/{index}");
            let created = self
                .tickets_client()
                .create_ticket(self.admin(tk::CreateTicketRequest {
                    ticket: Some(tk::Ticket {
                        customer: customer.name.clone(),
                        channel: [cm::Channel::Email, cm::Channel::Phone, cm::Channel::Web]
                            [index % 3] as i32,
                        subject: subject.into(),
                        description: description.into(),
                        product: Some(tk::Product {
                            product_line: data::PRODUCT_LINES[line].0.into(),
                            model: format!("DEMO-{}{:03}", line + 1, index % 40),
                            serial_number: format!("SN{:08}", 10_000 + index),
                        }),
                        region: region.code.into(),
                        service_centre: region.centre.into(),
                        language_code: region.language.into(),
                        tags: vec!["demo".into()],
                        ..Default::default()
                    }),
                    request_id: request_id(&key),
                    skip_routing: true,
                    ..Default::default()
                }))
                .await
                .with_context(|| format!("creating {key}"))?
                .into_inner()
                .ticket
                .context("a ticket")?;
            let ticket = self.drive(&created.name, target, &agent.name, &key).await?;
            report.add("tickets");
            seeded.push(SeededTicket {
                ticket,
                language: region.language,
            });
        }
        // The same customer's tickets about one appliance are related.
        for pair in seeded
            .chunks(2 * customers.len())
            .filter_map(|c| c.first().zip(c.get(customers.len())))
        {
            let (first, second) = (&pair.0.ticket, &pair.1.ticket);
            let links = self
                .tickets_client()
                .list_ticket_links(self.admin(tk::ListTicketLinksRequest {
                    parent: first.name.clone(),
                    ..Default::default()
                }))
                .await
                .context("listing ticket links")?
                .into_inner()
                .links;
            if links.is_empty() {
                self.tickets_client()
                    .link_tickets(self.admin(tk::LinkTicketsRequest {
                        name: first.name.clone(),
                        linked_ticket: second.name.clone(),
                        link_type: tk::TicketLinkType::Related as i32,
                    }))
                    .await
                    .with_context(|| format!("linking {} and {}", first.name, second.name))?;
            }
            report.add("ticket links");
        }
        Ok(seeded)
    }

    async fn get_ticket(&self, name: &str) -> anyhow::Result<tk::Ticket> {
        self.tickets_client()
            .get_ticket(self.admin(tk::GetTicketRequest { name: name.into() }))
            .await
            .with_context(|| format!("reading {name}"))?
            .into_inner()
            .ticket
            .context("a ticket")
    }

    /// Moves the ticket `name` to `target` from wherever it stands (nothing when it is
    /// there already): assigned, answered, parked, resolved, closed.
    async fn drive(
        &self,
        name: &str,
        target: tk::TicketStatus,
        agent: &str,
        key: &str,
    ) -> anyhow::Result<tk::Ticket> {
        use tk::TicketStatus as S;
        let mut ticket = self.get_ticket(name).await?;
        let status = |t: &tk::Ticket| S::try_from(t.status).unwrap_or(S::Unspecified);
        if target == S::New {
            return Ok(ticket);
        }
        if ticket.assignee.is_empty() && !matches!(status(&ticket), S::Resolved | S::Closed) {
            ticket = self
                .tickets_client()
                .assign_ticket(self.admin(tk::AssignTicketRequest {
                    name: name.into(),
                    etag: ticket.etag.clone(),
                    assignee: agent.into(),
                    reason: "demo assignment".into(),
                    ..Default::default()
                }))
                .await
                .with_context(|| format!("assigning {key}"))?
                .into_inner()
                .ticket
                .context("a ticket")?;
        }
        if status(&ticket) == S::New {
            ticket = self.change(&ticket, S::Open, key).await?;
        }
        if matches!(target, S::Pending | S::OnHold) && status(&ticket) == S::Open {
            ticket = self.change(&ticket, target, key).await?;
        }
        if matches!(target, S::Resolved | S::Closed)
            && matches!(status(&ticket), S::Open | S::Pending | S::OnHold)
        {
            self.tickets_client()
                .create_message(
                    self.admin(tk::CreateMessageRequest {
                        parent: name.into(),
                        message: Some(tk::TicketMessage {
                            visibility: tk::MessageVisibility::Public as i32,
                            body: "We have arranged a technician; the fault is fixed. Thank you \
                               for your patience."
                                .into(),
                            format: tk::MessageFormat::PlainText as i32,
                            ..Default::default()
                        }),
                        request_id: request_id(&format!("{key}/reply")),
                        ..Default::default()
                    }),
                )
                .await
                .with_context(|| format!("replying to {key}"))?;
            let current = self.get_ticket(name).await?;
            ticket = self
                .tickets_client()
                .resolve_ticket(self.admin(tk::ResolveTicketRequest {
                    name: name.into(),
                    etag: current.etag,
                    resolution_summary: "Repaired on site by the demo technician.".into(),
                }))
                .await
                .with_context(|| format!("resolving {key}"))?
                .into_inner()
                .ticket
                .context("a ticket")?;
        }
        if target == S::Closed && status(&ticket) == S::Resolved {
            ticket = self
                .tickets_client()
                .close_ticket(self.admin(tk::CloseTicketRequest {
                    name: name.into(),
                    etag: ticket.etag.clone(),
                    reason: String::new(),
                }))
                .await
                .with_context(|| format!("closing {key}"))?
                .into_inner()
                .ticket
                .context("a ticket")?;
        }
        Ok(ticket)
    }

    async fn change(
        &self,
        ticket: &tk::Ticket,
        status: tk::TicketStatus,
        key: &str,
    ) -> anyhow::Result<tk::Ticket> {
        self.tickets_client()
            .change_ticket_status(self.admin(tk::ChangeTicketStatusRequest {
                name: ticket.name.clone(),
                etag: ticket.etag.clone(),
                status: status as i32,
                reason: "demo".into(),
            }))
            .await
            .with_context(|| format!("moving {key} to {status:?}"))?
            .into_inner()
            .ticket
            .context("a ticket")
    }

    /// A repair case for the washing-machine tickets still being worked on.
    async fn after_sales(
        &self,
        tickets: &[SeededTicket],
        report: &mut SeedReport,
    ) -> anyhow::Result<()> {
        let open = tickets.iter().filter(|t| {
            t.ticket
                .product
                .as_ref()
                .is_some_and(|p| p.product_line == "washing-machine")
                && t.ticket.status == tk::TicketStatus::Open as i32
        });
        for seeded in open.take(10) {
            let product = seeded.ticket.product.clone();
            AfterSalesServiceClient::new(self.channel.clone())
                .create_after_sales_case(self.admin(tk::CreateAfterSalesCaseRequest {
                    parent: seeded.ticket.name.clone(),
                    after_sales_case: Some(tk::AfterSalesCase {
                        application: Some(tk::AfterSalesApplication {
                            requested_service_type: tk::AfterSalesServiceType::Repair as i32,
                            product,
                            purchase_date: "2026-03-14".into(),
                            purchase_reference: format!("DEMO-ORDER-{}", seeded.ticket.number),
                            problem_description: seeded.ticket.description.clone(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                    request_id: request_id(&format!("case/{}", seeded.ticket.name)),
                }))
                .await
                .with_context(|| format!("opening a repair case for {}", seeded.ticket.name))?;
            report.add("after-sales cases");
        }
        Ok(())
    }

    /// Customers answer the invitations of resolved tickets: most are pleased, one in five
    /// is a detractor (which opens a follow-up); a few comments arrive unsolicited.
    async fn feedback(
        &self,
        survey: &fb::Survey,
        tickets: &[SeededTicket],
        report: &mut SeedReport,
    ) -> anyhow::Result<()> {
        let resolved: Vec<&SeededTicket> = tickets
            .iter()
            .filter(|t| {
                t.ticket.status == tk::TicketStatus::Resolved as i32
                    || t.ticket.status == tk::TicketStatus::Closed as i32
            })
            .collect();
        if resolved.is_empty() {
            return Ok(());
        }
        // The feedback service invites after each TicketResolved event: wait for them.
        let deadline = tokio::time::Instant::now() + REACTION;
        let invitations = loop {
            let invitations = self.invitations(&survey.name).await?;
            if invitations.len() >= resolved.len().min(10) || tokio::time::Instant::now() > deadline
            {
                break invitations;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let language: HashMap<&str, &str> = tickets
            .iter()
            .map(|t| (t.ticket.name.as_str(), t.language))
            .collect();
        for (index, invitation) in invitations.iter().enumerate() {
            report.add("survey invitations");
            if index % 3 == 2 || invitation.status != fb::InvitationStatus::Sent as i32 {
                continue;
            }
            let lang = language
                .get(invitation.ticket.as_str())
                .copied()
                .unwrap_or("en");
            let detractor = index % 5 == 0;
            let pool = if detractor {
                &data::COMPLAINTS
            } else {
                &data::PRAISE
            };
            let comment = pool
                .iter()
                .find(|(l, _)| *l == lang)
                .map_or(pool[1].1, |(_, text)| *text);
            let customer = self.token(&invitation.customer, Role::Customer, None)?;
            self.feedback_client()
                .create_response(self.req(
                    &customer,
                    fb::CreateResponseRequest {
                        response: Some(fb::Response {
                            invitation: invitation.name.clone(),
                            csat_score: Some(if detractor { 1 } else { 4 + (index % 2) as i32 }),
                            comment: comment.into(),
                            ..Default::default()
                        }),
                        request_id: request_id(&format!("response/{}", invitation.name)),
                    },
                ))
                .await
                .with_context(|| format!("answering {}", invitation.name))?;
            report.add("survey responses");
        }
        for (index, seeded) in resolved.iter().take(6).enumerate() {
            let (lang, text) = if index % 2 == 0 {
                data::PRAISE[usize::from(seeded.language == "en")]
            } else {
                data::COMPLAINTS[usize::from(seeded.language == "en")]
            };
            self.feedback_client()
                .create_feedback_item(self.admin(fb::CreateFeedbackItemRequest {
                    feedback_item: Some(fb::FeedbackItem {
                        channel: cm::Channel::Social as i32,
                        customer: seeded.ticket.customer.clone(),
                        ticket: seeded.ticket.name.clone(),
                        region: seeded.ticket.region.clone(),
                        text: text.into(),
                        language: lang.into(),
                        ..Default::default()
                    }),
                    request_id: request_id(&format!("feedback-item/{}", seeded.ticket.name)),
                }))
                .await
                .with_context(|| format!("recording feedback on {}", seeded.ticket.name))?;
            report.add("feedback items");
        }
        Ok(())
    }

    async fn invitations(&self, survey: &str) -> anyhow::Result<Vec<fb::Invitation>> {
        let mut all = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = self
                .feedback_client()
                .list_invitations(self.admin(fb::ListInvitationsRequest {
                    parent: survey.into(),
                    page_size: 100,
                    page_token,
                    ..Default::default()
                }))
                .await
                .context("listing invitations")?
                .into_inner();
            all.extend(page.invitations);
            if page.next_page_token.is_empty() {
                return Ok(all);
            }
            page_token = page.next_page_token;
        }
    }

    /// Each team lead recognises one of their agents.
    async fn recognitions(
        &self,
        staff: &[SeededAgent],
        report: &mut SeedReport,
    ) -> anyhow::Result<()> {
        for lead in staff.iter().filter(|a| a.lead) {
            let Some(agent) = staff.iter().find(|a| a.region == lead.region && !a.lead) else {
                continue;
            };
            PerformanceServiceClient::new(self.channel.clone())
                .create_recognition(self.admin(wf::CreateRecognitionRequest {
                    recognition: Some(wf::Recognition {
                        agent: agent.name.clone(),
                        badge: wf::RecognitionBadge::CustomerHero as i32,
                        reason: "Fixed a leaking washing machine on the first visit.".into(),
                        ..Default::default()
                    }),
                    request_id: request_id(&format!("recognition/{}", agent.name)),
                }))
                .await
                .with_context(|| format!("recognising {}", agent.name))?;
            report.add("recognitions");
        }
        Ok(())
    }
}
