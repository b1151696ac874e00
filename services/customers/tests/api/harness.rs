//! Starting the service and calling it as different principals.

use aftercare_customers::CustomersService;
use aftercare_platform::auth::{Principal, Role};
use aftercare_platform::testing::{TestDatabase, TestService};
use aftercare_proto::aftercare::common::v1::{Channel, ChannelIdentity};
use aftercare_proto::aftercare::customers::v1 as pb;
use aftercare_proto::aftercare::customers::v1::customer_service_client::CustomerServiceClient;
use tonic::transport::Channel as GrpcChannel;
use tonic::{Code, Status};
use tonic_types::StatusExt as _;

/// A running service and a client to it.
pub struct App {
    pub service: TestService,
    pub client: CustomerServiceClient<GrpcChannel>,
    _db: TestDatabase,
}

/// Starts the customers service on `db`.
pub async fn spawn_app(db: TestDatabase) -> App {
    let service = TestService::start(&CustomersService, &db).await;
    let client = CustomerServiceClient::new(service.channel());
    App {
        service,
        client,
        _db: db,
    }
}

impl App {
    /// `message` as a request from `principal`.
    pub fn req<T>(&self, principal: &Principal, message: T) -> tonic::Request<T> {
        self.service.request(principal, message)
    }

    /// Creates a customer as an admin.
    pub async fn create(&self, customer: pb::Customer) -> pb::Customer {
        self.client
            .clone()
            .create_customer(self.req(
                &admin(),
                pb::CreateCustomerRequest {
                    customer: Some(customer),
                    request_id: String::new(),
                },
            ))
            .await
            .expect("create a customer")
            .into_inner()
            .customer
            .expect("a customer")
    }

    /// Gets a customer as an admin.
    pub async fn get(&self, name: &str) -> Result<pb::Customer, Status> {
        Ok(self
            .client
            .clone()
            .get_customer(self.req(
                &admin(),
                pb::GetCustomerRequest {
                    name: name.into(),
                    resolve_merged: false,
                },
            ))
            .await?
            .into_inner()
            .customer
            .expect("a customer"))
    }

    /// Resolves an identity as the tickets service would.
    pub async fn resolve(
        &self,
        channel: Channel,
        handle: &str,
    ) -> Result<pb::ResolveIdentityResponse, Status> {
        Ok(self
            .client
            .clone()
            .resolve_identity(self.req(
                &Principal::service("tickets"),
                pb::ResolveIdentityRequest {
                    identity: Some(identity(channel, handle)),
                    hints: None,
                    lookup_only: false,
                },
            ))
            .await?
            .into_inner())
    }

    /// Counts rows of a table.
    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(self.service.db().reader())
            .await
            .expect("count rows")
    }

    /// Counts outbox events of a payload type (`CustomerCreated`).
    pub async fn events(&self, kind: &str) -> i64 {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM aftercare_outbox WHERE event_type = $1")
            .bind(format!("aftercare.events.v1.{kind}"))
            .fetch_one(self.service.db().reader())
            .await
            .expect("count events")
    }
}

/// A channel identity.
pub fn identity(channel: Channel, handle: &str) -> ChannelIdentity {
    ChannelIdentity {
        channel: channel as i32,
        handle: handle.into(),
        provider: String::new(),
    }
}

/// A customer with a display name and defaults.
pub fn customer(display_name: &str) -> pb::Customer {
    pb::Customer {
        display_name: display_name.into(),
        ..Default::default()
    }
}

fn principal(subject: &str, role: Role, region: Option<&str>) -> Principal {
    Principal {
        subject: subject.into(),
        roles: vec![role],
        region: region.map(str::to_owned),
        customer: None,
        scopes: Vec::new(),
        display_name: Some(subject.into()),
        via: None,
    }
}

/// An admin.
pub fn admin() -> Principal {
    principal("agents/admin", Role::Admin, None)
}

/// A team lead.
pub fn lead() -> Principal {
    principal("agents/lead", Role::Lead, Some("eu-west"))
}

/// A front-line agent of `region`.
pub fn agent(region: &str) -> Principal {
    principal("agents/ada", Role::Agent, Some(region))
}

/// An integration (an API key) holding `scopes`.
pub fn integration(scopes: &[&str]) -> Principal {
    Principal {
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        ..principal("keys/erp", Role::Integration, None)
    }
}

/// The customer `name` acting for themselves.
pub fn as_customer(name: &str) -> Principal {
    Principal {
        customer: Some(name.into()),
        ..principal(name, Role::Customer, None)
    }
}

/// The bad fields of an `INVALID_ARGUMENT` status.
pub fn bad_fields(status: &Status) -> Vec<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    status
        .get_error_details()
        .bad_request()
        .expect("a BadRequest detail")
        .field_violations
        .iter()
        .map(|v| v.field.clone())
        .collect()
}
