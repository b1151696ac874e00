//! The customers service, as the feedback service uses it: the customer behind a channel
//! identity (found or created) for unsolicited feedback, asked on the caller's behalf.

use aftercare_platform::auth::{Principal, PrincipalVerifier};
use aftercare_platform::telemetry::TracedChannel;
use aftercare_proto::aftercare::common::v1 as common;
use aftercare_proto::aftercare::customers::v1 as customers_pb;
use aftercare_proto::aftercare::customers::v1::customer_service_client::CustomerServiceClient;
use tonic::Code;

use crate::error::{Error, Result};

/// A client of the customers service.
#[derive(Debug, Clone)]
pub struct CustomerDirectory {
    client: CustomerServiceClient<TracedChannel>,
    principals: PrincipalVerifier,
}

impl CustomerDirectory {
    /// Calls through `channel`, signing principals with `principals`.
    pub fn new(channel: TracedChannel, principals: PrincipalVerifier) -> Self {
        Self {
            client: CustomerServiceClient::new(channel),
            principals,
        }
    }

    /// The customer (`customers/{id}`) owning `identity`, created when unknown, asked for
    /// `user` (the customers service authorises the user, not the feedback service).
    pub async fn resolve(
        &self,
        user: &Principal,
        identity: common::ChannelIdentity,
        field: &str,
    ) -> Result<String> {
        let mut request = tonic::Request::new(customers_pb::ResolveIdentityRequest {
            identity: Some(identity),
            hints: None,
            lookup_only: false,
        });
        self.principals.attach(
            &Principal::on_behalf_of(user, "feedback"),
            "customers",
            request.metadata_mut(),
        );
        match self.client.clone().resolve_identity(request).await {
            Ok(response) => Ok(response
                .into_inner()
                .customer
                .map(|c| c.name)
                .unwrap_or_default()),
            Err(status) => Err(match status.code() {
                Code::InvalidArgument => Error::invalid(
                    field,
                    format!("the customers service refused it: {}", status.message()),
                ),
                Code::PermissionDenied => {
                    Error::PermissionDenied("the caller may not resolve customer identities")
                }
                _ => Error::Unavailable {
                    what: "the customers service",
                    source: Box::new(status),
                },
            }),
        }
    }
}
