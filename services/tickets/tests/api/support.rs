//! Starting the service and talking to it.

use aftercare_customers::CustomersService;
use aftercare_platform::auth::{Principal, Role};
use aftercare_platform::testing::{TestDatabase, TestService};
use aftercare_proto::aftercare::common::v1 as common;
use aftercare_proto::aftercare::customers::v1 as customers_pb;
use aftercare_proto::aftercare::customers::v1::customer_service_client::CustomerServiceClient;
use aftercare_proto::aftercare::tickets::v1 as pb;
use aftercare_proto::aftercare::tickets::v1::ticket_service_client::TicketServiceClient;
use aftercare_tickets::{CustomersEndpoint, TicketsService};
use std::collections::HashMap;
use tonic::transport::Channel;
use tonic_types::StatusExt;

/// The tickets service and the customers service it calls.
pub struct App {
    pub tickets: TestService,
    pub client: TicketServiceClient<Channel>,
    pub customers: TestService,
    /// The real customer created for each label the tests use ("c1", "c2", "c9").
    names: HashMap<&'static str, String>,
    _databases: (TestDatabase, TestDatabase),
}

/// Starts the customers service (on SQLite) and the tickets service on `db`.
pub async fn spawn_app(db: TestDatabase) -> App {
    spawn_app_with(db, |service| service).await
}

/// [`spawn_app`] with the tickets service configured by `configure` first.
pub async fn spawn_app_with(
    db: TestDatabase,
    configure: impl FnOnce(TicketsService) -> TicketsService,
) -> App {
    spawn_app_configured(db, configure, |_| {}).await
}

/// [`spawn_app_with`] with the platform configuration changed by `config` first.
pub async fn spawn_app_configured(
    db: TestDatabase,
    configure: impl FnOnce(TicketsService) -> TicketsService,
    config: impl FnOnce(&mut aftercare_platform::config::Config),
) -> App {
    let customers_db = TestDatabase::sqlite();
    let customers = TestService::start(&CustomersService, &customers_db).await;
    let tickets =
        TestService::start_configured(&tickets_definition(&customers, configure), &db, config)
            .await;
    let client = TicketServiceClient::new(tickets.channel());
    let mut app = App {
        tickets,
        client,
        customers,
        names: HashMap::new(),
        _databases: (db, customers_db),
    };
    for label in CUSTOMERS {
        let name = app
            .new_customer(label, customers_pb::CustomerTier::Unspecified)
            .await;
        app.names.insert(label, name);
    }
    app
}

/// The tickets service as the tests start it, calling `customers`: with a fast sweep and,
/// unless `configure` turns them back on, without the default service standards (most tests
/// of SLAs set up their own policies on an empty database).
fn tickets_definition(
    customers: &TestService,
    configure: impl FnOnce(TicketsService) -> TicketsService,
) -> TicketsService {
    configure(TicketsService::new().without_default_standards())
        .with_sweep_interval(std::time::Duration::from_millis(100))
        .with_customers(CustomersEndpoint {
            channel: customers.channel(),
            principals: customers.principals().clone(),
        })
}

/// The labels of the customers every app starts with.
const CUSTOMERS: [&str; 3] = ["c1", "c2", "c9"];

impl App {
    /// Starts the tickets service again on the same database, configured by `configure`
    /// (as a new replica, or the same one after a restart), then stops the old one.
    pub async fn restart_with(&mut self, configure: impl FnOnce(TicketsService) -> TicketsService) {
        let definition = tickets_definition(&self.customers, configure);
        let fresh = TestService::start(&definition, &self._databases.0).await;
        let old = std::mem::replace(&mut self.tickets, fresh);
        old.stop().await;
        self.client = TicketServiceClient::new(self.tickets.channel());
    }

    /// The resource name of the customer labelled `label`.
    pub fn name(&self, label: &str) -> &str {
        self.names
            .get(label)
            .unwrap_or_else(|| panic!("no customer labelled {label}"))
    }

    /// The principal of the customer labelled `label`.
    pub fn customer(&self, label: &str) -> Principal {
        customer_principal(self.name(label))
    }

    /// Creates a customer in the customers service (as a lead) with `display_name` and
    /// `tier`, returning its resource name.
    pub async fn new_customer(
        &self,
        display_name: &str,
        tier: customers_pb::CustomerTier,
    ) -> String {
        CustomerServiceClient::new(self.customers.channel())
            .create_customer(self.customers.request(
                &lead(),
                customers_pb::CreateCustomerRequest {
                    customer: Some(customers_pb::Customer {
                        display_name: display_name.into(),
                        tier: tier as i32,
                        ..Default::default()
                    }),
                    request_id: String::new(),
                },
            ))
            .await
            .expect("a lead creates a customer")
            .into_inner()
            .customer
            .expect("a customer")
            .name
    }

    /// `message` sent as `principal`.
    pub fn req<T>(&self, principal: &Principal, message: T) -> tonic::Request<T> {
        self.tickets.request(principal, message)
    }

    /// How many rows `table` holds.
    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(self.tickets.db().reader())
            .await
            .expect("count rows")
    }

    /// Creates a ticket for `customer` (a resource name) as `principal`.
    pub async fn create(&self, principal: &Principal, ticket: pb::Ticket) -> pb::Ticket {
        self.client
            .clone()
            .create_ticket(self.req(
                principal,
                pb::CreateTicketRequest {
                    ticket: Some(ticket),
                    ..Default::default()
                },
            ))
            .await
            .expect("create a ticket")
            .into_inner()
            .ticket
            .expect("a ticket")
    }

    /// Reads a ticket as `principal`.
    pub async fn get(
        &self,
        principal: &Principal,
        name: &str,
    ) -> Result<pb::Ticket, tonic::Status> {
        self.client
            .clone()
            .get_ticket(self.req(principal, pb::GetTicketRequest { name: name.into() }))
            .await
            .map(|r| r.into_inner().ticket.expect("a ticket"))
    }
}

/// A ticket for an existing customer in `region`.
pub fn ticket(customer: &str, region: &str, subject: &str) -> pb::Ticket {
    pb::Ticket {
        customer: customer.into(),
        channel: common::Channel::Web as i32,
        subject: subject.into(),
        description: format!("{subject}: details of the problem"),
        region: region.into(),
        ..Default::default()
    }
}

fn principal(
    subject: &str,
    roles: &[Role],
    region: Option<&str>,
    customer: Option<&str>,
) -> Principal {
    Principal {
        subject: subject.into(),
        roles: roles.to_vec(),
        region: region.map(Into::into),
        customer: customer.map(Into::into),
        scopes: Vec::new(),
        display_name: Some(subject.into()),
        via: None,
    }
}

/// An agent of `region`.
pub fn agent(id: &str, region: &str) -> Principal {
    principal(&format!("agents/{id}"), &[Role::Agent], Some(region), None)
}

/// A team lead (every region).
pub fn lead() -> Principal {
    principal("agents/lead", &[Role::Lead], None, None)
}

/// The customer named `name` (`customers/{id}`).
pub fn customer_principal(name: &str) -> Principal {
    principal(name, &[Role::Customer], None, Some(name))
}

/// An integration with `scopes`.
pub fn integration(scopes: &[&str]) -> Principal {
    let mut p = principal("keys/erp", &[Role::Integration], None, None);
    p.scopes = scopes.iter().map(|s| (*s).to_owned()).collect();
    p
}

/// The field paths of an `INVALID_ARGUMENT` status.
pub fn bad_fields(status: &tonic::Status) -> Vec<String> {
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    status
        .get_error_details()
        .bad_request()
        .expect("a BadRequest detail")
        .field_violations
        .iter()
        .map(|v| v.field.clone())
        .collect()
}

/// The precondition violation type of a `FAILED_PRECONDITION` status.
pub fn precondition(status: &tonic::Status) -> String {
    assert_eq!(status.code(), tonic::Code::FailedPrecondition, "{status:?}");
    status
        .get_error_details()
        .precondition_failure()
        .expect("a PreconditionFailure detail")
        .violations[0]
        .r#type
        .clone()
}

/// An admin (every region).
pub fn admin() -> Principal {
    principal("agents/admin", &[Role::Admin], None, None)
}
