//! Organisations: companies with several contacts.

use aftercare_platform::auth::Principal;
use aftercare_proto::aftercare::customers::v1 as pb;

use super::Api;
use super::parse::{
    CreateOrganisation, DeleteOrganisation, GetOrganisation, ListOrganisations, UpdateOrganisation,
};
use super::{access, request_key};
use crate::convert;
use crate::domain::access::Action;
use crate::error::Error;
use crate::store::load_organisation as load;
use crate::store::{self, OrganisationQuery};
use aftercare_platform::request::PageToken;

fn write(principal: &Principal) -> Result<(), Error> {
    access(principal, Action::WriteCatalogue).map(drop)
}

fn read(principal: &Principal) -> Result<(), Error> {
    access(principal, Action::ReadCatalogue).map(drop)
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
    let (organisation, count) =
        store::create_organisation(&api.db, request.spec, key.as_ref()).await?;
    Ok(pb::CreateOrganisationResponse {
        organisation: Some(convert::organisation(&organisation, count)),
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
    let (organisation, count) =
        store::update_organisation_at(&api.db, request.id, request.version, request.changes)
            .await?;
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
    store::delete_organisation_at(&api.db, request.id, request.version).await?;
    Ok(pb::DeleteOrganisationResponse {})
}
