//! Channel identities: resolve (find or create, atomically), add, verify, remove, list.

use std::collections::HashSet;

use aftercare_platform::auth::Principal;
use aftercare_platform::testing::TestDatabase;
use aftercare_proto::aftercare::common::v1::{Channel, ChannelIdentity};
use aftercare_proto::aftercare::customers::v1 as pb;
use tonic::Code;

use super::harness::{
    App, admin, agent, as_customer, bad_fields, customer, identity, integration, lead, spawn_app,
};

aftercare_platform::on_both_databases!(
    concurrent_first_contacts_from_one_number_create_one_customer,
    resolve_normalises_the_handle_and_uses_hints_only_to_create,
    lookup_only_does_not_create,
    bad_resolve_input_names_every_bad_field_and_writes_nothing,
    only_services_managers_integrations_and_agents_of_the_region_resolve,
    an_added_identity_resolves_to_its_customer_and_belongs_to_one_customer_only,
    verifying_keeps_the_first_verification,
    a_removed_identity_frees_its_handle,
    identities_list_oldest_first_with_filters_and_pages,
    a_customer_cannot_hijack_an_address_and_learns_nothing_about_its_owner,
    a_relayed_user_has_only_their_own_rights,
);

/// AddIdentity of `handle` to `parent` as `principal`.
async fn add_as(
    app: &App,
    principal: &Principal,
    parent: &str,
    handle: &str,
) -> Result<pb::CustomerIdentity, tonic::Status> {
    Ok(app
        .client
        .clone()
        .add_identity(app.req(
            principal,
            pb::AddIdentityRequest {
                parent: parent.into(),
                identity: Some(pb::CustomerIdentity {
                    channel: Channel::Email as i32,
                    handle: handle.into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
        ))
        .await?
        .into_inner()
        .identity
        .unwrap())
}

async fn a_customer_cannot_hijack_an_address_and_learns_nothing_about_its_owner(db: TestDatabase) {
    let app = spawn_app(db).await;
    let victim = app
        .resolve(Channel::Email, "victim@example.com")
        .await
        .unwrap()
        .customer
        .unwrap();
    let attacker = app.create(customer("Mallory")).await;
    let mallory = as_customer(&attacker.name);
    // Relayed by the tickets service, as CreateTicket does.
    let relayed = Principal::on_behalf_of(&mallory, "tickets");

    // Claiming the victim's address and a free one: the same answer, unverified claims.
    let taken = add_as(&app, &relayed, &attacker.name, "victim@example.com")
        .await
        .unwrap();
    let free = add_as(&app, &relayed, &attacker.name, "free@example.com")
        .await
        .unwrap();
    for claim in [&taken, &free] {
        assert!(!claim.verified);
        assert!(claim.name.starts_with(&attacker.name));
    }
    // Claims never resolve a contact: the victim keeps their address, and a first contact
    // from the free one makes a new customer rather than reaching Mallory.
    let later = app
        .resolve(Channel::Email, "victim@example.com")
        .await
        .unwrap();
    assert_eq!(later.customer.unwrap().name, victim.name);
    assert!(!later.created);
    let first = app
        .resolve(Channel::Email, "free@example.com")
        .await
        .unwrap();
    assert!(first.created);
    assert_ne!(first.customer.unwrap().name, attacker.name);
    let identities_of_victim = app
        .client
        .clone()
        .list_identities(app.req(
            &admin(),
            pb::ListIdentitiesRequest {
                parent: victim.name.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .identities;
    assert_eq!(identities_of_victim.len(), 1);

    // Staff verifying the claim to an address someone else holds are told, and nothing
    // changes; verifying a claim nobody holds makes it a real identity.
    let verify = |name: &str| {
        let request = app.req(
            &lead(),
            pb::VerifyIdentityRequest {
                name: name.into(),
                method: pb::IdentityVerificationMethod::AgentConfirmed as i32,
            },
        );
        let mut client = app.client.clone();
        async move { client.verify_identity(request).await }
    };
    let status = verify(&taken.name).await.unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists);
    let later = app
        .resolve(Channel::Email, "victim@example.com")
        .await
        .unwrap();
    assert_eq!(later.customer.unwrap().name, victim.name);
    let claim = add_as(&app, &mallory, &attacker.name, "mine@example.com")
        .await
        .unwrap();
    verify(&claim.name).await.unwrap();
    let mine = app
        .resolve(Channel::Email, "mine@example.com")
        .await
        .unwrap();
    assert_eq!(mine.customer.unwrap().name, attacker.name);
}

async fn a_relayed_user_has_only_their_own_rights(db: TestDatabase) {
    let app = spawn_app(db).await;
    let someone = app.create(customer("Someone")).await;
    let events = app.count("aftercare_outbox").await;
    // An agent or an integration with only tickets' scopes, relayed by tickets, cannot
    // attach identities to customers nor create them, as they cannot directly.
    for user in [agent("eu-west"), integration(&["tickets.write"])] {
        let relayed = Principal::on_behalf_of(&user, "tickets");
        let status = add_as(&app, &relayed, &someone.name, "x@example.com")
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
        let status = app
            .client
            .clone()
            .create_customer(app.req(
                &relayed,
                pb::CreateCustomerRequest {
                    customer: Some(customer("Made up")),
                    request_id: String::new(),
                },
            ))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);
    }
    // A relayed customer cannot resolve identities.
    let relayed = Principal::on_behalf_of(&as_customer(&someone.name), "tickets");
    let status = app
        .client
        .clone()
        .resolve_identity(app.req(
            &relayed,
            pb::ResolveIdentityRequest {
                identity: Some(identity(Channel::Email, "y@example.com")),
                hints: None,
                lookup_only: false,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(app.count("customers").await, 1);
    assert_eq!(app.count("identities").await, 0);
    assert_eq!(app.count("aftercare_outbox").await, events);
}

async fn concurrent_first_contacts_from_one_number_create_one_customer(db: TestDatabase) {
    let app = spawn_app(db).await;
    let formats = [
        "138 0013 8000",
        "+86 138-0013-8000",
        "008613800138000",
        "+8613800138000",
    ];
    let calls = (0..24).map(|i| {
        let app = &app;
        async move {
            app.resolve(Channel::Phone, formats[i % formats.len()])
                .await
        }
    });
    let responses: Vec<pb::ResolveIdentityResponse> = futures::future::join_all(calls)
        .await
        .into_iter()
        .map(|r| r.expect("resolve"))
        .collect();
    let owners: HashSet<_> = responses
        .iter()
        .map(|r| r.customer.as_ref().unwrap().name.clone())
        .collect();
    assert_eq!(owners.len(), 1, "one customer for one number");
    assert_eq!(
        responses.iter().filter(|r| r.created).count(),
        1,
        "exactly one creator"
    );
    assert!(
        responses
            .iter()
            .all(|r| r.identity.as_ref().unwrap().handle == "+8613800138000")
    );
    assert_eq!(app.count("customers").await, 1);
    assert_eq!(app.count("identities").await, 1);
    assert_eq!(app.events("CustomerCreated").await, 1);
}

async fn resolve_normalises_the_handle_and_uses_hints_only_to_create(db: TestDatabase) {
    let app = spawn_app(db).await;
    let mut client = app.client.clone();
    let hinted = |handle: &str, name: &str| {
        app.req(
            &Principal::service("tickets"),
            pb::ResolveIdentityRequest {
                identity: Some(identity(Channel::Email, handle)),
                hints: Some(pb::ResolveIdentityHints {
                    display_name: name.into(),
                    locale: "de-DE".into(),
                    region: "eu-west".into(),
                    lifecycle_stage: pb::CustomerLifecycleStage::Prospect as i32,
                    ..Default::default()
                }),
                lookup_only: false,
            },
        )
    };
    let first = client
        .resolve_identity(hinted(" Anna.Schmidt@Example.DE ", "Anna Schmidt"))
        .await
        .unwrap()
        .into_inner();
    assert!(first.created);
    let created = first.customer.unwrap();
    assert_eq!(created.display_name, "Anna Schmidt");
    assert_eq!(created.region, "eu-west");
    assert_eq!(created.locale, "de-DE");
    assert_eq!(created.origin_channel, Channel::Email as i32);
    assert_eq!(
        created.lifecycle_stage,
        pb::CustomerLifecycleStage::Prospect as i32
    );
    assert_eq!(first.identity.unwrap().handle, "anna.schmidt@example.de");

    let again = client
        .resolve_identity(hinted("anna.schmidt@example.de", "Someone Else"))
        .await
        .unwrap()
        .into_inner();
    assert!(!again.created);
    assert_eq!(again.customer.unwrap(), created, "hints never overwrite");

    let unnamed = app.resolve(Channel::Chat, "  visitor-42 ").await.unwrap();
    assert_eq!(unnamed.customer.unwrap().display_name, "visitor-42");
}

async fn lookup_only_does_not_create(db: TestDatabase) {
    let app = spawn_app(db).await;
    let lookup = |handle: &str| {
        app.req(
            &Principal::service("feedback"),
            pb::ResolveIdentityRequest {
                identity: Some(identity(Channel::Email, handle)),
                hints: None,
                lookup_only: true,
            },
        )
    };
    let mut client = app.client.clone();
    let status = client
        .resolve_identity(lookup("nobody@example.com"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(app.count("customers").await, 0);
    let made = app
        .resolve(Channel::Email, "somebody@example.com")
        .await
        .unwrap();
    let found = client
        .resolve_identity(lookup("SOMEBODY@example.com"))
        .await
        .unwrap()
        .into_inner();
    assert!(!found.created);
    assert_eq!(found.customer, made.customer);
}

async fn bad_resolve_input_names_every_bad_field_and_writes_nothing(db: TestDatabase) {
    let app = spawn_app(db).await;
    let mut client = app.client.clone();
    let request = |identity: ChannelIdentity, hints: Option<pb::ResolveIdentityHints>| {
        app.req(
            &Principal::service("tickets"),
            pb::ResolveIdentityRequest {
                identity: Some(identity),
                hints,
                lookup_only: false,
            },
        )
    };
    let status = client
        .resolve_identity(request(
            ChannelIdentity {
                channel: Channel::Email as i32,
                handle: "li@@example".into(),
                provider: "gmail".into(),
            },
            Some(pb::ResolveIdentityHints {
                display_name: "x".repeat(201),
                time_zone: "Nowhere/Land".into(),
                region: "Shanghai!".into(),
                organisation: "organisations/nope".into(),
                lifecycle_stage: 77,
                ..Default::default()
            }),
        ))
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&status),
        [
            "identity.handle",
            "identity.provider",
            "hints.display_name",
            "hints.time_zone",
            "hints.region",
            "hints.organisation",
            "hints.lifecycle_stage",
        ]
    );
    for (channel, handle, field) in [
        (Channel::Unspecified, "li@example.com", "identity.channel"),
        (Channel::Phone, "555-2671", "identity.handle"),
        (Channel::Phone, "+86 138 0013 800", "identity.handle"),
        (Channel::Social, "   ", "identity.handle"),
    ] {
        let status = client
            .resolve_identity(request(identity(channel, handle), None))
            .await
            .unwrap_err();
        assert_eq!(bad_fields(&status), [field], "{handle}");
    }
    let status = client
        .resolve_identity(app.req(&admin(), pb::ResolveIdentityRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["identity.channel"]);
    assert_eq!(app.count("customers").await, 0);
    assert_eq!(app.count("identities").await, 0);
    assert_eq!(app.count("aftercare_outbox").await, 0);
}

async fn only_services_managers_integrations_and_agents_of_the_region_resolve(db: TestDatabase) {
    let app = spawn_app(db).await;
    let someone = app.create(customer("Someone")).await;
    let resolve = |principal: Principal, handle: &str, region: &str| {
        let request = app.req(
            &principal,
            pb::ResolveIdentityRequest {
                identity: Some(identity(Channel::Email, handle)),
                hints: Some(pb::ResolveIdentityHints {
                    region: region.into(),
                    ..Default::default()
                }),
                lookup_only: false,
            },
        );
        let mut client = app.client.clone();
        async move { client.resolve_identity(request).await }
    };
    let no_scope = integration(&["tickets.write"]);
    for (principal, region) in [
        (as_customer(&someone.name), ""),
        (no_scope, ""),
        // An agent's intake stays in the agent's region.
        (agent("eu-west"), "cn-east"),
    ] {
        let status = resolve(principal, "new@example.com", region)
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    }
    assert_eq!(app.count("customers").await, 1);
    assert_eq!(app.count("aftercare_outbox").await, 1);

    // An agent opening a ticket from a channel finds or creates the customer in their region.
    let made = resolve(agent("eu-west"), "new@example.com", "")
        .await
        .unwrap()
        .into_inner();
    assert!(made.created);
    assert_eq!(made.customer.unwrap().region, "eu-west");
    // A customer of another region is outside the agent's reach, found or not.
    resolve(admin(), "far@example.com", "cn-east")
        .await
        .unwrap();
    let status = resolve(agent("eu-west"), "far@example.com", "")
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(app.count("customers").await, 3);
}

async fn add(
    app: &super::harness::App,
    parent: &str,
    channel: Channel,
    handle: &str,
) -> Result<pb::CustomerIdentity, tonic::Status> {
    Ok(app
        .client
        .clone()
        .add_identity(app.req(
            &admin(),
            pb::AddIdentityRequest {
                parent: parent.into(),
                identity: Some(pb::CustomerIdentity {
                    channel: channel as i32,
                    handle: handle.into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
        ))
        .await?
        .into_inner()
        .identity
        .unwrap())
}

async fn an_added_identity_resolves_to_its_customer_and_belongs_to_one_customer_only(
    db: TestDatabase,
) {
    let app = spawn_app(db).await;
    let li = app.create(customer("Li Wei")).await;
    let anna = app.create(customer("Anna")).await;
    let added = add(&app, &li.name, Channel::Phone, "+86 138 0013 8000")
        .await
        .unwrap();
    assert_eq!(added.handle, "+8613800138000");
    assert!(added.name.starts_with(&format!("{}/identities/", li.name)));
    assert!(!added.verified);
    let again = add(&app, &li.name, Channel::Phone, "13800138000")
        .await
        .unwrap();
    assert_eq!(again, added, "adding it twice returns the same identity");
    let status = add(&app, &anna.name, Channel::Phone, "008613800138000")
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists);
    let resolved = app.resolve(Channel::Phone, "138-0013-8000").await.unwrap();
    assert!(!resolved.created);
    assert_eq!(resolved.customer.unwrap().name, li.name);
    assert_eq!(app.events("CustomerIdentityAdded").await, 1);

    let status = add(&app, &li.name, Channel::Web, "").await.unwrap_err();
    assert_eq!(bad_fields(&status), ["identity.handle"]);
    let missing = format!("customers/{}", uuid::Uuid::now_v7());
    let status = add(&app, &missing, Channel::Email, "x@example.com")
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    let status = app
        .client
        .clone()
        .add_identity(app.req(
            &as_customer(&anna.name),
            pb::AddIdentityRequest {
                parent: li.name.clone(),
                identity: Some(pb::CustomerIdentity {
                    channel: Channel::Email as i32,
                    handle: "sneaky@example.com".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(app.count("identities").await, 1);
}

async fn verifying_keeps_the_first_verification(db: TestDatabase) {
    let app = spawn_app(db).await;
    let resolved = app.resolve(Channel::Email, "li@example.com").await.unwrap();
    let name = resolved.identity.unwrap().name;
    let verify = |method: pb::IdentityVerificationMethod| {
        app.req(
            &admin(),
            pb::VerifyIdentityRequest {
                name: name.clone(),
                method: method as i32,
            },
        )
    };
    let mut client = app.client.clone();
    let first = client
        .verify_identity(verify(pb::IdentityVerificationMethod::OneTimeCode))
        .await
        .unwrap()
        .into_inner()
        .identity
        .unwrap();
    assert!(first.verified);
    assert_eq!(
        first.verification_method,
        pb::IdentityVerificationMethod::OneTimeCode as i32
    );
    let second = client
        .verify_identity(verify(pb::IdentityVerificationMethod::AgentConfirmed))
        .await
        .unwrap()
        .into_inner()
        .identity
        .unwrap();
    assert_eq!(second, first);
    let status = client
        .verify_identity(verify(pb::IdentityVerificationMethod::Unspecified))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["method"]);
    let status = client
        .verify_identity(app.req(
            &agent("eu-west"),
            pb::VerifyIdentityRequest {
                name: name.clone(),
                method: 1,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
}

async fn a_removed_identity_frees_its_handle(db: TestDatabase) {
    let app = spawn_app(db).await;
    let first = app
        .resolve(Channel::Email, "shared@example.com")
        .await
        .unwrap();
    let identity = first.identity.unwrap().name;
    let remove = |name: &str| app.req(&admin(), pb::RemoveIdentityRequest { name: name.into() });
    let mut client = app.client.clone();
    client.remove_identity(remove(&identity)).await.unwrap();
    let status = client.remove_identity(remove(&identity)).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    let status = client
        .remove_identity(remove("customers/x/identities/y"))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["name"]);
    let next = app
        .resolve(Channel::Email, "shared@example.com")
        .await
        .unwrap();
    assert!(next.created);
    assert_ne!(next.customer.unwrap().name, first.customer.unwrap().name);
}

async fn identities_list_oldest_first_with_filters_and_pages(db: TestDatabase) {
    let app = spawn_app(db).await;
    let li = app.create(customer("Li Wei")).await;
    let mut added = Vec::new();
    for (channel, handle) in [
        (Channel::Email, "li@example.com"),
        (Channel::Phone, "13800138000"),
        (Channel::Email, "li.wei@work.example"),
        (Channel::Chat, "li-chat"),
    ] {
        added.push(add(&app, &li.name, channel, handle).await.unwrap().name);
    }
    let list = |page_size: i32, page_token: String, filter: &str| {
        app.req(
            &agent("eu-west"),
            pb::ListIdentitiesRequest {
                parent: li.name.clone(),
                page_size,
                page_token,
                filter: filter.into(),
            },
        )
    };
    let mut client = app.client.clone();
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_identities(list(3, token, ""))
            .await
            .unwrap()
            .into_inner();
        seen.extend(page.identities.into_iter().map(|i| i.name));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen, added);
    let emails = client
        .list_identities(list(
            0,
            String::new(),
            "channel = EMAIL AND verified = false",
        ))
        .await
        .unwrap()
        .into_inner()
        .identities;
    assert_eq!(emails.len(), 2);
    let status = client
        .list_identities(list(0, String::new(), "channel = FAX"))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["filter"]);
}
