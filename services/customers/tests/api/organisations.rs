//! Organisations.

use std::collections::HashSet;

use aftercare_platform::auth::Principal;
use aftercare_platform::testing::TestDatabase;
use aftercare_proto::aftercare::customers::v1 as pb;
use prost_types::FieldMask;
use tonic::Code;

use super::harness::{App, admin, agent, as_customer, bad_fields, customer, spawn_app};

aftercare_platform::on_both_databases!(
    organisations_group_customers_and_count_them,
    organisations_list_by_name_and_update_with_etags,
    organisations_with_members_are_not_deleted,
    bad_organisations_name_every_bad_field_and_write_nothing,
);

fn organisation(name: &str, domain: &str) -> pb::Organisation {
    pb::Organisation {
        display_name: name.into(),
        domain: domain.into(),
        ..Default::default()
    }
}

async fn create(
    app: &App,
    principal: &Principal,
    org: pb::Organisation,
    request_id: &str,
) -> Result<pb::Organisation, tonic::Status> {
    Ok(app
        .client
        .clone()
        .create_organisation(app.req(
            principal,
            pb::CreateOrganisationRequest {
                organisation: Some(org),
                request_id: request_id.into(),
            },
        ))
        .await?
        .into_inner()
        .organisation
        .unwrap())
}

async fn get(
    app: &App,
    principal: &Principal,
    name: &str,
) -> Result<pb::Organisation, tonic::Status> {
    Ok(app
        .client
        .clone()
        .get_organisation(app.req(principal, pb::GetOrganisationRequest { name: name.into() }))
        .await?
        .into_inner()
        .organisation
        .unwrap())
}

async fn organisations_group_customers_and_count_them(db: TestDatabase) {
    let app = spawn_app(db).await;
    let request_id = uuid::Uuid::new_v4().to_string();
    let admin = admin();
    let calls = (0..4).map(|_| {
        create(
            &app,
            &admin,
            organisation("Contoso GmbH", "Contoso.DE"),
            &request_id,
        )
    });
    let created: HashSet<String> = futures::future::join_all(calls)
        .await
        .into_iter()
        .map(|r| r.expect("create").name)
        .collect();
    assert_eq!(created.len(), 1, "one organisation for one request id");
    let contoso = get(&app, &agent("eu-west"), created.iter().next().unwrap())
        .await
        .unwrap();
    assert_eq!(contoso.domain, "contoso.de");
    assert_eq!(contoso.tier, pb::CustomerTier::Standard as i32);

    let status = create(&app, &admin, organisation("Contoso AG", "contoso.de"), "")
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists);

    for name in ["Anna", "Ben"] {
        let mut member = customer(name);
        member.organisation = contoso.name.clone();
        app.create(member).await;
    }
    app.create(customer("Not a member")).await;
    assert_eq!(
        get(&app, &admin, &contoso.name)
            .await
            .unwrap()
            .customer_count,
        2
    );
    let members = app
        .client
        .clone()
        .list_customers(app.req(
            &admin,
            pb::ListCustomersRequest {
                filter: format!("organisation = \"{}\"", contoso.name),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .customers;
    assert_eq!(members.len(), 2);

    let someone = app.create(customer("Someone")).await;
    let status = get(&app, &as_customer(&someone.name), &contoso.name)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = create(&app, &agent("eu-west"), organisation("Agents Inc", ""), "")
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
}

async fn organisations_list_by_name_and_update_with_etags(db: TestDatabase) {
    let app = spawn_app(db).await;
    for (name, domain) in [
        ("Zeta", "zeta.cn"),
        ("Alpha", "alpha.de"),
        ("Mu", ""),
        ("Beta", "beta.de"),
    ] {
        create(&app, &admin(), organisation(name, domain), "")
            .await
            .unwrap();
    }
    let mut names = Vec::new();
    let mut token = String::new();
    loop {
        let page = app
            .client
            .clone()
            .list_organisations(app.req(
                &agent("eu-west"),
                pb::ListOrganisationsRequest {
                    page_size: 3,
                    page_token: token,
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner();
        names.extend(page.organisations.into_iter().map(|o| o.display_name));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(names, ["Alpha", "Beta", "Mu", "Zeta"]);
    let german = app
        .client
        .clone()
        .list_organisations(app.req(
            &admin(),
            pb::ListOrganisationsRequest {
                query: ".DE".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .organisations;
    assert_eq!(german.len(), 2);
    let by_domain = app
        .client
        .clone()
        .list_organisations(app.req(
            &admin(),
            pb::ListOrganisationsRequest {
                filter: r#"domain = "zeta.cn""#.into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .organisations;
    assert_eq!(by_domain.len(), 1);
    let zeta = by_domain[0].clone();

    let mut change = zeta.clone();
    change.tier = pb::CustomerTier::Vip as i32;
    change.attributes = [("contract".to_owned(), "C-2025-7".to_owned())].into();
    let update = |org: pb::Organisation| {
        app.req(
            &admin(),
            pb::UpdateOrganisationRequest {
                organisation: Some(org),
                update_mask: Some(FieldMask {
                    paths: vec!["tier".into(), "attributes.contract".into()],
                }),
            },
        )
    };
    let updated = app
        .client
        .clone()
        .update_organisation(update(change.clone()))
        .await
        .unwrap()
        .into_inner()
        .organisation
        .unwrap();
    assert_eq!(updated.tier, pb::CustomerTier::Vip as i32);
    assert_eq!(updated.attributes["contract"], "C-2025-7");
    assert_ne!(updated.etag, zeta.etag);
    let status = app
        .client
        .clone()
        .update_organisation(update(change))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    let mut taken = updated.clone();
    taken.domain = "alpha.de".into();
    let status = app
        .client
        .clone()
        .update_organisation(app.req(
            &admin(),
            pb::UpdateOrganisationRequest {
                organisation: Some(taken),
                update_mask: Some(FieldMask {
                    paths: vec!["domain".into()],
                }),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists);
}

async fn organisations_with_members_are_not_deleted(db: TestDatabase) {
    let app = spawn_app(db).await;
    let org = create(&app, &admin(), organisation("Contoso", ""), "")
        .await
        .unwrap();
    let mut member = customer("Anna");
    member.organisation = org.name.clone();
    let member = app.create(member).await;
    let delete = || {
        app.req(
            &admin(),
            pb::DeleteOrganisationRequest {
                name: org.name.clone(),
                etag: org.etag.clone(),
            },
        )
    };
    let status = app
        .client
        .clone()
        .delete_organisation(delete())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    let mut detach = member.clone();
    detach.organisation = String::new();
    app.client
        .clone()
        .update_customer(app.req(
            &admin(),
            pb::UpdateCustomerRequest {
                customer: Some(detach),
                update_mask: Some(FieldMask {
                    paths: vec!["organisation".into()],
                }),
            },
        ))
        .await
        .unwrap();
    app.client
        .clone()
        .delete_organisation(delete())
        .await
        .unwrap();
    let status = get(&app, &admin(), &org.name).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
}

async fn bad_organisations_name_every_bad_field_and_write_nothing(db: TestDatabase) {
    let app = spawn_app(db).await;
    let bad = pb::Organisation {
        display_name: String::new(),
        domain: "https://contoso.de/".into(),
        region: "EU".into(),
        tier: 17,
        attributes: [("Bad".to_owned(), "x".to_owned())].into(),
        ..Default::default()
    };
    let status = create(&app, &admin(), bad, "nope").await.unwrap_err();
    assert_eq!(
        bad_fields(&status),
        [
            "request_id",
            "organisation.display_name",
            "organisation.domain",
            "organisation.region",
            "organisation.tier",
            "organisation.attributes.Bad"
        ]
    );
    assert_eq!(app.count("organisations").await, 0);
}
