//! Organisations: companies with several contacts.

use aftercare_platform::auth::Principal;
use aftercare_platform::time::now_micros;
use aftercare_proto::aftercare::customers::v1 as pb;
use uuid::Uuid;

use super::Api;
use super::parse::{
    CreateOrganisation, DeleteOrganisation, GetOrganisation, ListOrganisations, UpdateOrganisation,
};
use super::{access, check_request, remember, request_key};
use crate::convert;
use crate::domain::access::Action;
use crate::domain::idempotency::RequestKey;
use crate::domain::names::organisation_name;
use crate::domain::organisation::Organisation;
use crate::error::{Error, ORGANISATION};
use crate::store::{self, Conn, OrganisationQuery};
use aftercare_platform::request::PageToken;

fn write(principal: &Principal) -> Result<(), Error> {
    access(principal, Action::WriteCatalogue).map(drop)
}

fn read(principal: &Principal) -> Result<(), Error> {
    access(principal, Action::ReadCatalogue).map(drop)
}

async fn load(conn: &mut Conn, id: Uuid) -> Result<(Organisation, i64), Error> {
    store::find_organisation(conn, id)
        .await?
        .ok_or_else(|| Error::not_found(ORGANISATION, organisation_name(id)))
}

/// Refuses a domain another organisation has.
async fn check_domain_free(conn: &mut Conn, organisation: &Organisation) -> Result<(), Error> {
    let Some(domain) = &organisation.spec.domain else {
        return Ok(());
    };
    match store::find_organisation_by_domain(conn, domain).await? {
        Some(owner) if owner != organisation.id => Err(Error::AlreadyExists {
            resource_type: ORGANISATION,
            name: organisation_name(owner),
            description: format!("the domain `{domain}` belongs to another organisation"),
        }),
        _ => Ok(()),
    }
}

pub async fn create(
    api: &Api,
    principal: &Principal,
    request: CreateOrganisation,
) -> Result<pb::CreateOrganisationResponse, Error> {
    write(principal)?;
    let key = request_key(
        principal,
        "CreateOrganisation",
        "",
        request.request_id.as_deref(),
        &request,
    );
    let scoped = key.as_ref().map(RequestKey::scoped);
    let request_id = scoped.as_deref();
    let mut tx = api.db.begin().await?;
    check_request(&mut tx, key.as_ref()).await?;
    if let Some(request_id) = request_id
        && let Some((existing, count)) =
            store::find_organisation_by_request(&mut tx, request_id).await?
    {
        return Ok(pb::CreateOrganisationResponse {
            organisation: Some(convert::organisation(&existing, count)),
        });
    }
    let now = now_micros();
    let organisation = Organisation {
        id: Uuid::now_v7(),
        spec: request.spec,
        version: 1,
        create_time: now,
        update_time: now,
    };
    if let Err(err) = check_domain_free(&mut tx, &organisation).await {
        // The domain may be taken by a concurrent retry of this very request.
        if let Some(request_id) = request_id
            && let Some((existing, count)) =
                store::find_organisation_by_request(&mut tx, request_id).await?
        {
            return Ok(pb::CreateOrganisationResponse {
                organisation: Some(convert::organisation(&existing, count)),
            });
        }
        return Err(err);
    }
    if !store::insert_organisation(&mut tx, &organisation, request_id).await? {
        // A concurrent create: the same request id (return it) or the same domain (refuse).
        tx.rollback().await?;
        let mut conn = api.db.reader().acquire().await?;
        check_request(&mut conn, key.as_ref()).await?;
        if let Some((existing, count)) = match request_id {
            Some(request_id) => store::find_organisation_by_request(&mut conn, request_id).await?,
            None => None,
        } {
            return Ok(pb::CreateOrganisationResponse {
                organisation: Some(convert::organisation(&existing, count)),
            });
        }
        check_domain_free(&mut conn, &organisation).await?;
        return Err(Error::state(
            "organisations",
            "a concurrent create failed; retry",
        ));
    }
    remember(&mut tx, key.as_ref()).await?;
    tx.commit().await?;
    tracing::info!(organisation = %organisation.id, "organisation created");
    Ok(pb::CreateOrganisationResponse {
        organisation: Some(convert::organisation(&organisation, 0)),
    })
}

pub async fn get(
    api: &Api,
    principal: &Principal,
    request: GetOrganisation,
) -> Result<pb::GetOrganisationResponse, Error> {
    read(principal)?;
    let mut conn = api.db.reader().acquire().await?;
    let (organisation, count) = load(&mut conn, request.id).await?;
    Ok(pb::GetOrganisationResponse {
        organisation: Some(convert::organisation(&organisation, count)),
    })
}

pub async fn list(
    api: &Api,
    principal: &Principal,
    request: ListOrganisations,
) -> Result<pb::ListOrganisationsResponse, Error> {
    read(principal)?;
    let query = OrganisationQuery {
        conditions: request.conditions,
        text: request.text,
        after: request.after,
        limit: request.page.size + 1,
    };
    let mut conn = api.db.reader().acquire().await?;
    let mut organisations = store::list_organisations(&mut conn, &query).await?;
    let next_page_token = request.page.finish(&mut organisations, |(last, _)| {
        PageToken::text(last.spec.display_name.clone(), last.id)
    });
    Ok(pb::ListOrganisationsResponse {
        organisations: organisations
            .iter()
            .map(|(organisation, count)| convert::organisation(organisation, *count))
            .collect(),
        next_page_token,
    })
}

pub async fn update(
    api: &Api,
    principal: &Principal,
    request: UpdateOrganisation,
) -> Result<pb::UpdateOrganisationResponse, Error> {
    write(principal)?;
    let mut tx = api.db.begin().await?;
    let (mut organisation, count) = load(&mut tx, request.id).await?;
    let name = organisation_name(organisation.id);
    if organisation.version != request.version {
        return Err(Error::StaleEtag(name));
    }
    if organisation.spec.apply(request.changes) {
        if organisation.spec.attributes.len() > 100 {
            return Err(Error::invalid(
                "organisation.attributes",
                "would have more than 100 entries",
            ));
        }
        check_domain_free(&mut tx, &organisation).await?;
        organisation.version += 1;
        organisation.update_time = now_micros();
        if !store::update_organisation(&mut tx, &organisation, request.version).await? {
            return Err(Error::StaleEtag(name));
        }
        tx.commit().await?;
        tracing::info!(organisation = %organisation.id, "organisation updated");
    }
    Ok(pb::UpdateOrganisationResponse {
        organisation: Some(convert::organisation(&organisation, count)),
    })
}

pub async fn delete(
    api: &Api,
    principal: &Principal,
    request: DeleteOrganisation,
) -> Result<pb::DeleteOrganisationResponse, Error> {
    write(principal)?;
    let mut tx = api.db.begin().await?;
    let (organisation, _) = load(&mut tx, request.id).await?;
    let name = organisation_name(organisation.id);
    if organisation.version != request.version {
        return Err(Error::StaleEtag(name));
    }
    if store::organisation_members(&mut tx, organisation.id).await? > 0 {
        return Err(Error::FailedPrecondition {
            violation: "DEPENDENTS",
            subject: name,
            description: "customers still belong to this organisation: move or detach them first"
                .into(),
        });
    }
    if !store::delete_organisation(&mut tx, organisation.id, request.version).await? {
        return Err(Error::StaleEtag(name));
    }
    tx.commit().await?;
    tracing::info!(organisation = %organisation.id, "organisation deleted");
    Ok(pb::DeleteOrganisationResponse {})
}
