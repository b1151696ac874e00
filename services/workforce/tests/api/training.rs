//! Training: courses, enrolments, assessments, certifications, expiry, and routing that
//! honours them.

use std::time::Duration;

use aftercare_platform::auth::Role;
use aftercare_platform::testing::{TestDatabase, poll_until};
use aftercare_proto::aftercare::workforce::v1 as pb;
use aftercare_proto::aftercare::workforce::v1::training_service_client::TrainingServiceClient;
use aftercare_workforce::Settings;
use tonic::Code;
use tonic::transport::Channel;

use super::harness::{
    App, admin, agent, always, as_agent, bad_fields, customer, precondition, spawn_app,
    spawn_app_with, tickets_service,
};

aftercare_platform::on_both_databases!(
    courses_are_managed_by_trainers_and_bad_courses_name_every_field,
    passing_an_assessment_raises_skills_issues_a_certification_and_routing_counts_it,
    the_last_failed_attempt_fails_the_enrolment,
    progress_courses_complete_when_the_agent_reports_100_percent,
    the_sweep_expires_certifications_and_routing_drops_them,
    courses_update_by_mask_and_etag_and_enrolments_are_read_and_withdrawn,
);

fn training(app: &App) -> TrainingServiceClient<Channel> {
    TrainingServiceClient::new(app.service.channel())
}

fn trainer() -> aftercare_platform::auth::Principal {
    as_agent("trainers/1", Role::Trainer)
}

async fn outbox(app: &App, event_type: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM aftercare_outbox WHERE event_type = $1")
        .bind(format!("aftercare.events.v1.{event_type}"))
        .fetch_one(app.service.db().reader())
        .await
        .unwrap()
}

async fn create_course(app: &App, course: pb::Course) -> pb::Course {
    training(app)
        .create_course(app.req(
            &trainer(),
            pb::CreateCourseRequest {
                course: Some(course),
                request_id: String::new(),
            },
        ))
        .await
        .expect("a trainer creates a course")
        .into_inner()
        .course
        .unwrap()
}

async fn enrol(app: &App, course: &str, agent: &str) -> pb::Enrolment {
    training(app)
        .create_enrolment(app.req(
            &trainer(),
            pb::CreateEnrolmentRequest {
                parent: course.into(),
                enrolment: Some(pb::Enrolment {
                    agent: agent.into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
        ))
        .await
        .expect("a trainer enrols an agent")
        .into_inner()
        .enrolment
        .unwrap()
}

async fn submit(
    app: &App,
    enrolment: &str,
    score: i32,
    request_id: &str,
) -> pb::SubmitAssessmentResponse {
    training(app)
        .submit_assessment(app.req(
            &trainer(),
            pb::SubmitAssessmentRequest {
                enrolment: enrolment.into(),
                score,
                max_score: 100,
                notes: "checked".into(),
                request_id: request_id.into(),
            },
        ))
        .await
        .expect("a trainer grades")
        .into_inner()
}

async fn courses_are_managed_by_trainers_and_bad_courses_name_every_field(db: TestDatabase) {
    let app = spawn_app(db).await;
    let course = create_course(
        &app,
        pb::Course {
            title: "Washer repair, level 2".into(),
            description: "<script>alert(1)</script> **bold**".into(),
            certification_code: "washer-repair-l2".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(course.pass_mark, 70);
    assert_eq!(course.completion, pb::CourseCompletion::Assessment as i32);
    assert_eq!(course.certification_display_name, "Washer repair, level 2");
    assert_eq!(course.description, "<script>alert(1)</script> **bold**");
    let bad = training(&app)
        .create_course(app.req(
            &trainer(),
            pb::CreateCourseRequest {
                course: Some(pb::Course {
                    title: String::new(),
                    skills: vec![pb::CourseSkill {
                        skill: "skills/nope".into(),
                        level: 0,
                    }],
                    certification_code: "Bad Code".into(),
                    certification_validity: Some(prost_types::Duration {
                        seconds: 60,
                        nanos: 0,
                    }),
                    pass_mark: 101,
                    max_attempts: -1,
                    ..Default::default()
                }),
                request_id: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&bad),
        [
            "course.title",
            "course.skills[0].skill",
            "course.skills[0].level",
            "course.certification_code",
            "course.certification_validity",
            "course.pass_mark",
            "course.max_attempts",
        ]
    );
    let by_agent = training(&app)
        .create_course(app.req(
            &as_agent("agents/x", Role::Agent),
            pb::CreateCourseRequest {
                course: Some(pb::Course {
                    title: "Mine".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(by_agent.code(), Code::PermissionDenied);
    let listed = training(&app)
        .list_courses(app.req(
            &as_agent("agents/x", Role::Agent),
            pb::ListCoursesRequest {
                query: "washer".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.courses.len(), 1);
    let ada = app
        .create_agent(agent("Ada", "ada@example.com", "eu-west"))
        .await;
    enrol(&app, &course.name, &ada.name).await;
    let twice = training(&app)
        .create_enrolment(app.req(
            &trainer(),
            pb::CreateEnrolmentRequest {
                parent: course.name.clone(),
                enrolment: Some(pb::Enrolment {
                    agent: ada.name.clone(),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(twice.code(), Code::AlreadyExists);
    let refused = training(&app)
        .delete_course(app.req(
            &trainer(),
            pb::DeleteCourseRequest {
                name: course.name.clone(),
                etag: course.etag.clone(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(precondition(&refused), "DEPENDENTS");
    let denied = training(&app)
        .get_course(app.req(
            &customer(),
            pb::GetCourseRequest {
                name: course.name.clone(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
}

async fn passing_an_assessment_raises_skills_issues_a_certification_and_routing_counts_it(
    db: TestDatabase,
) {
    let app = spawn_app(db).await;
    let washers = app
        .create_skill(
            pb::SkillCategory::ProductLine,
            "washing-machines",
            "Washers",
        )
        .await;
    let shift = app.create_shift("Always", "UTC", always()).await;
    let mut a = agent("Ada", "ada@example.com", "eu-west");
    a.shift = shift.name.clone();
    let ada = app.create_agent(a).await;
    app.set_presence(&ada.name, pb::PresenceState::Available)
        .await;
    let course = create_course(
        &app,
        pb::Course {
            title: "Washer repair, level 2".into(),
            skills: vec![pb::CourseSkill {
                skill: washers.name.clone(),
                level: 3,
            }],
            certification_code: "washer-repair-l2".into(),
            certification_validity: Some(prost_types::Duration {
                seconds: 365 * 86_400,
                nanos: 0,
            }),
            pass_mark: 80,
            ..Default::default()
        },
    )
    .await;
    let enrolment = enrol(&app, &course.name, &ada.name).await;
    assert_eq!(enrolment.status, pb::EnrolmentStatus::Enrolled as i32);
    let route = || pb::RouteTicketRequest {
        product_line: "washing-machines".into(),
        required_certifications: vec!["washer-repair-l2".into()],
        ..Default::default()
    };
    let before = app
        .client()
        .route_ticket(app.req(&tickets_service(), route()))
        .await
        .unwrap()
        .into_inner();
    assert!(before.candidates.is_empty());
    let low = submit(&app, &enrolment.name, 79, "").await;
    assert!(!low.assessment.as_ref().unwrap().passed);
    assert_eq!(
        low.enrolment.unwrap().status,
        pb::EnrolmentStatus::InProgress as i32
    );
    let key = "0192f0c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b";
    let pass = submit(&app, &enrolment.name, 85, key).await;
    let again = submit(&app, &enrolment.name, 85, key).await;
    assert_eq!(pass.assessment, again.assessment);
    let done = pass.enrolment.unwrap();
    assert_eq!(done.status, pb::EnrolmentStatus::Completed as i32);
    assert_eq!(done.attempts, 2);
    let certification = pass.certification.unwrap();
    assert_eq!(certification.code, "washer-repair-l2");
    assert_eq!(certification.state, pb::CertificationState::Active as i32);
    assert!(certification.expire_time.is_some());
    assert_eq!(done.certification, certification.name);
    let ada_after = app.get_agent(&ada.name).await;
    assert_eq!(ada_after.skills[0].level, 3);
    assert_eq!(outbox(&app, "EnrolmentCompleted").await, 1);
    assert_eq!(outbox(&app, "CertificationIssued").await, 1);
    let routed = app
        .client()
        .route_ticket(app.req(&tickets_service(), route()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(routed.candidates.len(), 1);
    assert_eq!(routed.candidates[0].agent, ada.name);
    assert_eq!(
        routed.candidates[0].factors[1].points, 10.0,
        "the skill is certified"
    );
    // The agent reads their own record; another agent does not.
    let own = training(&app)
        .list_certifications(app.req(
            &as_agent(&ada.name, Role::Agent),
            pb::ListCertificationsRequest {
                parent: "agents/-".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(own.certifications.len(), 1);
    let other = training(&app)
        .get_certification(app.req(
            &as_agent("agents/0192f0c4-0000-7000-8000-000000000001", Role::Agent),
            pb::GetCertificationRequest {
                name: certification.name.clone(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(other.code(), Code::PermissionDenied);
    let attempts = training(&app)
        .list_assessments(app.req(
            &as_agent(&ada.name, Role::Agent),
            pb::ListAssessmentsRequest {
                parent: enrolment.name.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(attempts.assessments.len(), 2);
    // Revoking removes eligibility at once.
    let revoked = training(&app)
        .revoke_certification(app.req(
            &trainer(),
            pb::RevokeCertificationRequest {
                name: certification.name.clone(),
                etag: certification.etag.clone(),
                reason: "failed a quality review".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .certification
        .unwrap();
    assert_eq!(revoked.state, pb::CertificationState::Revoked as i32);
    let after = app
        .client()
        .route_ticket(app.req(&tickets_service(), route()))
        .await
        .unwrap()
        .into_inner();
    assert!(after.candidates.is_empty());
    assert_eq!(
        after.exclusions[0].reason,
        pb::RoutingExclusionReason::Certification as i32
    );
}

async fn the_last_failed_attempt_fails_the_enrolment(db: TestDatabase) {
    let app = spawn_app(db).await;
    let ada = app
        .create_agent(agent("Ada", "ada@example.com", "eu-west"))
        .await;
    let course = create_course(
        &app,
        pb::Course {
            title: "Complaints handling".into(),
            max_attempts: 2,
            ..Default::default()
        },
    )
    .await;
    let enrolment = enrol(&app, &course.name, &ada.name).await;
    submit(&app, &enrolment.name, 10, "").await;
    let last = submit(&app, &enrolment.name, 20, "").await;
    let failed = last.enrolment.unwrap();
    assert_eq!(failed.status, pb::EnrolmentStatus::Failed as i32);
    assert!(last.certification.is_none());
    let more = training(&app)
        .submit_assessment(app.req(
            &trainer(),
            pb::SubmitAssessmentRequest {
                enrolment: enrolment.name.clone(),
                score: 100,
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(precondition(&more), "STATE");
    let bad = training(&app)
        .submit_assessment(app.req(
            &trainer(),
            pb::SubmitAssessmentRequest {
                enrolment: "courses/x".into(),
                score: 101,
                max_score: 0,
                notes: String::new(),
                request_id: "no".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&bad), ["enrolment", "score", "request_id"]);
    // After a failure the agent may enrol again.
    enrol(&app, &course.name, &ada.name).await;
}

async fn progress_courses_complete_when_the_agent_reports_100_percent(db: TestDatabase) {
    let app = spawn_app(db).await;
    let ada = app
        .create_agent(agent("Ada", "ada@example.com", "eu-west"))
        .await;
    let bo = app
        .create_agent(agent("Bo", "bo@example.com", "eu-west"))
        .await;
    let course = create_course(
        &app,
        pb::Course {
            title: "Data protection basics".into(),
            completion: pb::CourseCompletion::Progress as i32,
            certification_code: "gdpr-basics".into(),
            ..Default::default()
        },
    )
    .await;
    let enrolment = enrol(&app, &course.name, &ada.name).await;
    enrol(&app, &course.name, &bo.name).await;
    let me = as_agent(&ada.name, Role::Agent);
    let progress = |etag: &str, percent: i32, path: &str| pb::UpdateEnrolmentRequest {
        enrolment: Some(pb::Enrolment {
            name: enrolment.name.clone(),
            etag: etag.into(),
            progress_percent: percent,
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec![path.into()],
        }),
    };
    let half = training(&app)
        .update_enrolment(app.req(&me, progress(&enrolment.etag, 50, "progress_percent")))
        .await
        .unwrap()
        .into_inner();
    let half = half.enrolment.unwrap();
    assert_eq!(half.status, pb::EnrolmentStatus::InProgress as i32);
    let due = training(&app)
        .update_enrolment(app.req(&me, progress(&half.etag, 50, "due_time")))
        .await
        .unwrap_err();
    assert_eq!(due.code(), Code::PermissionDenied);
    let assessed = training(&app)
        .submit_assessment(app.req(
            &trainer(),
            pb::SubmitAssessmentRequest {
                enrolment: enrolment.name.clone(),
                score: 100,
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(precondition(&assessed), "STATE");
    let done = training(&app)
        .update_enrolment(app.req(&me, progress(&half.etag, 100, "progress_percent")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        done.enrolment.unwrap().status,
        pb::EnrolmentStatus::Completed as i32
    );
    assert_eq!(done.certification.unwrap().code, "gdpr-basics");
    let mine = training(&app)
        .list_enrolments(app.req(
            &me,
            pb::ListEnrolmentsRequest {
                parent: "courses/-".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(mine.enrolments.len(), 1);
    let all = training(&app)
        .list_enrolments(app.req(
            &trainer(),
            pb::ListEnrolmentsRequest {
                parent: course.name.clone(),
                filter: "status = ENROLLED".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.enrolments.len(), 1);
    assert_eq!(all.enrolments[0].agent, bo.name);
}

async fn the_sweep_expires_certifications_and_routing_drops_them(db: TestDatabase) {
    let settings = Settings {
        sweep_interval: Duration::from_millis(100),
        ..Settings::default()
    };
    let app = spawn_app_with(db, settings).await;
    let shift = app.create_shift("Always", "UTC", always()).await;
    let mut a = agent("Ada", "ada@example.com", "eu-west");
    a.shift = shift.name.clone();
    let ada = app.create_agent(a).await;
    app.set_presence(&ada.name, pb::PresenceState::Available)
        .await;
    let expires = aftercare_platform::time::now_micros() + 1_500_000;
    let recorded = training(&app)
        .create_certification(app.req(
            &admin(),
            pb::CreateCertificationRequest {
                parent: ada.name.clone(),
                certification: Some(pb::Certification {
                    code: "dryer-safety".into(),
                    display_name: "Dryer safety".into(),
                    expire_time: Some(aftercare_platform::time::to_timestamp(expires)),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .certification
        .unwrap();
    assert_eq!(recorded.state, pb::CertificationState::Active as i32);
    let route = || pb::RouteTicketRequest {
        required_certifications: vec!["dryer-safety".into()],
        ..Default::default()
    };
    let now = app
        .client()
        .route_ticket(app.req(&tickets_service(), route()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(now.candidates.len(), 1);
    let soon = training(&app)
        .list_certifications(app.req(
            &admin(),
            pb::ListCertificationsRequest {
                parent: "agents/-".into(),
                expire_within: Some(prost_types::Duration {
                    seconds: 86_400,
                    nanos: 0,
                }),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(soon.certifications.len(), 1);
    poll_until(
        "the sweep expires the certification",
        Duration::from_secs(8),
        || async { (outbox(&app, "CertificationExpired").await == 1).then_some(()) },
    )
    .await;
    let got = training(&app)
        .get_certification(app.req(
            &admin(),
            pb::GetCertificationRequest {
                name: recorded.name.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .certification
        .unwrap();
    assert_eq!(got.state, pb::CertificationState::Expired as i32);
    let later = app
        .client()
        .route_ticket(app.req(&tickets_service(), route()))
        .await
        .unwrap()
        .into_inner();
    assert!(later.candidates.is_empty());
    let bad = training(&app)
        .create_certification(app.req(
            &admin(),
            pb::CreateCertificationRequest {
                parent: "agents/x".into(),
                certification: Some(pb::Certification::default()),
                request_id: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&bad),
        ["parent", "certification.code", "certification.display_name"]
    );
}

async fn courses_update_by_mask_and_etag_and_enrolments_are_read_and_withdrawn(db: TestDatabase) {
    let app = spawn_app(db).await;
    let course = create_course(
        &app,
        pb::Course {
            title: "Dryer basics".into(),
            ..Default::default()
        },
    )
    .await;
    let update = |course: pb::Course, paths: &[&str]| pb::UpdateCourseRequest {
        course: Some(course),
        update_mask: Some(prost_types::FieldMask {
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        }),
    };
    // Only the masked field changes; the etag moves.
    let updated = training(&app)
        .update_course(app.req(
            &trainer(),
            update(
                pb::Course {
                    title: "Dryer basics, 2nd edition".into(),
                    pass_mark: 90,
                    ..course.clone()
                },
                &["title"],
            ),
        ))
        .await
        .expect("a trainer updates a course")
        .into_inner()
        .course
        .unwrap();
    assert_eq!(updated.title, "Dryer basics, 2nd edition");
    assert_eq!(updated.pass_mark, course.pass_mark);
    assert_ne!(updated.etag, course.etag);
    // The stale etag, a bad value, an unknown path and an agent are refused; nothing moves.
    let stale = training(&app)
        .update_course(app.req(
            &trainer(),
            update(
                pb::Course {
                    pass_mark: 80,
                    ..course.clone()
                },
                &["pass_mark"],
            ),
        ))
        .await
        .unwrap_err();
    assert_eq!(precondition(&stale), "ETAG");
    let bad = training(&app)
        .update_course(app.req(
            &trainer(),
            update(
                pb::Course {
                    pass_mark: 101,
                    ..updated.clone()
                },
                &["pass_mark", "colour"],
            ),
        ))
        .await
        .unwrap_err();
    assert!(!bad_fields(&bad).is_empty());
    let denied = training(&app)
        .update_course(app.req(
            &as_agent("agents/x", Role::Agent),
            update(updated.clone(), &["title"]),
        ))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let now = training(&app)
        .get_course(app.req(
            &trainer(),
            pb::GetCourseRequest {
                name: course.name.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .course
        .unwrap();
    assert_eq!(now, updated);

    // An enrolment is read by its trainer and its agent, not by another agent or a
    // customer, and withdrawn with its etag.
    let ada = app
        .create_agent(agent("Ada", "ada@example.com", "eu-west"))
        .await;
    let bo = app
        .create_agent(agent("Bo", "bo@example.com", "eu-west"))
        .await;
    let enrolment = enrol(&app, &course.name, &ada.name).await;
    let get = |principal: aftercare_platform::auth::Principal, name: String| {
        let mut client = training(&app);
        let request = app.req(&principal, pb::GetEnrolmentRequest { name });
        async move { client.get_enrolment(request).await }
    };
    let read = get(trainer(), enrolment.name.clone())
        .await
        .expect("the trainer reads it")
        .into_inner()
        .enrolment
        .unwrap();
    assert_eq!(read, enrolment);
    let own = get(as_agent(&ada.name, Role::Agent), enrolment.name.clone())
        .await
        .expect("the agent reads their own")
        .into_inner()
        .enrolment
        .unwrap();
    assert_eq!(own.agent, ada.name);
    for outsider in [as_agent(&bo.name, Role::Agent), customer()] {
        let refused = get(outsider, enrolment.name.clone()).await.unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied);
    }
    let malformed = get(trainer(), "enrolments/1".into()).await.unwrap_err();
    assert_eq!(bad_fields(&malformed), ["name"]);
    let delete = |etag: String| pb::DeleteEnrolmentRequest {
        name: enrolment.name.clone(),
        etag,
    };
    let stale = training(&app)
        .delete_enrolment(app.req(&trainer(), delete("\"99\"".into())))
        .await
        .unwrap_err();
    assert_eq!(precondition(&stale), "ETAG");
    let by_bo = training(&app)
        .delete_enrolment(app.req(
            &as_agent(&bo.name, Role::Agent),
            delete(enrolment.etag.clone()),
        ))
        .await
        .unwrap_err();
    assert_eq!(by_bo.code(), Code::PermissionDenied);
    training(&app)
        .delete_enrolment(app.req(&trainer(), delete(enrolment.etag.clone())))
        .await
        .expect("the trainer withdraws the enrolment");
    let gone = get(trainer(), enrolment.name.clone()).await.unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
}
