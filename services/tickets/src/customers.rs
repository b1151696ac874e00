//! The customers service, as the tickets service uses it: resolving a channel identity to
//! a customer (found or created), attaching an identity, reading a customer.
//!
//! Every call made while serving a user's request relays that user
//! (`Principal::on_behalf_of(user, "tickets")`, signed for the customers service), so the
//! customers service authorises the user exactly as if they had called it: a customer's
//! identity becomes an unverified claim on their own record, an agent resolves customers of
//! their own region only, an integration needs `customers.write`. The tickets service's own
//! principal is for background work only, and nothing here uses it.

use aftercare_platform::auth::{Principal, PrincipalVerifier};
use aftercare_platform::telemetry::TracedChannel;
use aftercare_proto::aftercare::common::v1 as common;
use aftercare_proto::aftercare::customers::v1 as pb;
use aftercare_proto::aftercare::customers::v1::customer_service_client::CustomerServiceClient;
use tonic::Code;

use crate::convert;
use crate::domain::{ChannelIdentity, CustomerName, Region, TicketCustomer};
use crate::error::{Error, Result};

/// A client of the customers service.
#[derive(Debug, Clone)]
pub struct CustomerDirectory {
    client: CustomerServiceClient<TracedChannel>,
    principals: PrincipalVerifier,
}

impl CustomerDirectory {
    /// A directory calling through `channel`, signing relayed principals with `principals`.
    pub fn new(channel: TracedChannel, principals: PrincipalVerifier) -> Self {
        Self {
            client: CustomerServiceClient::new(channel),
            principals,
        }
    }

    /// `message` as a request made for `user`, relayed by the tickets service.
    fn request<T>(&self, user: &Principal, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        self.principals.attach(
            &Principal::on_behalf_of(user, "tickets"),
            "customers",
            request.metadata_mut(),
        );
        request
    }

    /// Attaches `identity` to `customer` for `user` (nothing to do when it is already
    /// theirs; for a customer, an unverified claim); `FAILED_PRECONDITION` when another
    /// customer owns it (said only to staff and integrations).
    pub async fn attach_for(
        &self,
        user: &Principal,
        customer: &CustomerName,
        identity: &ChannelIdentity,
    ) -> Result<()> {
        let request = self.request(
            user,
            pb::AddIdentityRequest {
                parent: customer.to_string(),
                identity: Some(pb::CustomerIdentity {
                    channel: convert::wire(identity.channel),
                    handle: identity.handle.clone(),
                    provider: identity.provider.clone(),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
        );
        match self.client.clone().add_identity(request).await {
            Ok(_) => Ok(()),
            Err(status) => Err(match status.code() {
                Code::AlreadyExists => Error::FailedPrecondition {
                    violation: "IDENTITY_OWNER",
                    subject: customer.to_string(),
                    description: "the customer identity belongs to another customer".into(),
                },
                Code::NotFound => Error::invalid("ticket.customer", "names no customer"),
                Code::InvalidArgument => Error::invalid(
                    "ticket.customer_identity",
                    format!("the customers service refused it: {}", status.message()),
                ),
                Code::PermissionDenied => denied(&status),
                _ => Error::Unavailable {
                    what: "the customers service",
                    source: Box::new(status),
                },
            }),
        }
    }

    /// The customer owning `identity`, created (with `display_name` and `region` as hints)
    /// when unknown, for `user`.
    pub async fn resolve_for(
        &self,
        user: &Principal,
        identity: &ChannelIdentity,
        display_name: &str,
        region: Option<&Region>,
    ) -> Result<TicketCustomer> {
        let request = self.request(
            user,
            pb::ResolveIdentityRequest {
                identity: Some(common::ChannelIdentity {
                    channel: convert::wire(identity.channel),
                    handle: identity.handle.clone(),
                    provider: identity.provider.clone(),
                }),
                hints: Some(pb::ResolveIdentityHints {
                    display_name: display_name.to_owned(),
                    region: region.map(ToString::to_string).unwrap_or_default(),
                    ..Default::default()
                }),
                lookup_only: false,
            },
        );
        let response = self
            .client
            .clone()
            .resolve_identity(request)
            .await
            .map_err(|status| match status.code() {
                Code::InvalidArgument => Error::invalid(
                    "ticket.customer_identity",
                    format!("the customers service refused it: {}", status.message()),
                ),
                Code::PermissionDenied => denied(&status),
                _ => Error::Unavailable {
                    what: "the customers service",
                    source: Box::new(status),
                },
            })?
            .into_inner();
        ticket_customer(response.customer.unwrap_or_default(), response.created)
    }

    /// The customer `name` (or, when merged, the survivor it was merged into), as `user`
    /// may read it; `INVALID_ARGUMENT` on `ticket.customer` when there is no such customer.
    pub async fn get_for(&self, user: &Principal, name: &CustomerName) -> Result<TicketCustomer> {
        let request = self.request(
            user,
            pb::GetCustomerRequest {
                name: name.to_string(),
                resolve_merged: true,
            },
        );
        let customer = self
            .client
            .clone()
            .get_customer(request)
            .await
            .map_err(|status| match status.code() {
                Code::NotFound | Code::InvalidArgument => {
                    Error::invalid("ticket.customer", "names no customer")
                }
                Code::PermissionDenied => denied(&status),
                _ => Error::Unavailable {
                    what: "the customers service",
                    source: Box::new(status),
                },
            })?
            .into_inner()
            .customer
            .unwrap_or_default();
        ticket_customer(customer, false)
    }
}

/// The customers service refused the user: the same refusal, in the tickets service's words.
fn denied(status: &tonic::Status) -> Error {
    Error::PermissionDenied(format!(
        "the customers service refused it: {}",
        status.message()
    ))
}

/// The ticket's view of `customer` as the customers service returned it.
fn ticket_customer(customer: pb::Customer, created: bool) -> Result<TicketCustomer> {
    let name = CustomerName::parse(&customer.name).map_err(|e| Error::Unavailable {
        what: "the customers service",
        source: format!("it returned a bad customer name: {e}").into(),
    })?;
    let tier = pb::CustomerTier::try_from(customer.tier)
        .ok()
        .filter(|t| *t != pb::CustomerTier::Unspecified)
        .map(|t| {
            t.as_str_name()
                .trim_start_matches("CUSTOMER_TIER_")
                .to_owned()
        })
        .unwrap_or_else(|| "STANDARD".to_owned());
    Ok(TicketCustomer {
        name,
        display_name: customer.display_name,
        tier,
        region: Region::parse(&customer.region).ok(),
        created,
    })
}
