//! The ticket operations under load, each by three paths: REST/JSON through the gateway, gRPC
//! through the gateway (a bearer token, as any client), and gRPC straight to the tickets
//! service (a principal signed as the gateway signs it, so the service does the same work).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use aftercare_platform::auth::{Principal, PrincipalVerifier, Role};
use aftercare_platform::config::{GatewayConfig, Secret};
use aftercare_proto::aftercare::common::v1 as cm;
use aftercare_proto::aftercare::customers::v1 as cu;
use aftercare_proto::aftercare::tickets::v1 as tk;
use anyhow::{Context as _, bail, ensure};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::json;
use tk::ticket_service_client::TicketServiceClient;
use tonic::transport::{Channel, Endpoint};

use crate::load::Call;

/// The region every ticket of the bench is in (and its agent works in).
pub const REGION: &str = "eu-west";
/// A page of a list.
pub const PAGE: i32 = 25;

/// An operation on tickets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// CreateTicket (for an existing customer, with a request id, as a careful client sends).
    Create,
    /// GetTicket of a random ticket.
    Get,
    /// ListTickets, the first page of 25 of the agent's region.
    List,
    /// CreateMessage: a public reply of the agent.
    Reply,
}

impl Op {
    /// Every operation, in table order.
    pub const ALL: [Op; 4] = [Op::Create, Op::Get, Op::List, Op::Reply];

    /// Its name in the table.
    pub fn name(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Get => "get",
            Self::List => "list 25",
            Self::Reply => "reply",
        }
    }
}

/// How a call reaches the tickets service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// REST/JSON through the gateway.
    Rest,
    /// gRPC through the gateway.
    Gateway,
    /// gRPC straight to the tickets service.
    Direct,
}

impl Route {
    /// Every route, in table order.
    pub const ALL: [Route; 3] = [Route::Rest, Route::Gateway, Route::Direct];

    /// Its name in the table.
    pub fn name(self) -> &'static str {
        match self {
            Self::Rest => "gateway REST",
            Self::Gateway => "gateway gRPC",
            Self::Direct => "direct gRPC",
        }
    }
}

type RestClient = Client<HttpConnector, Full<Bytes>>;

/// Everything a call needs: connections, credentials and the tickets to work on.
pub struct Clients {
    gateway: SocketAddr,
    gateway_channels: Vec<Channel>,
    direct_channels: Vec<Channel>,
    rest: RestClient,
    signer: PrincipalVerifier,
    agent: Principal,
    bearer: String,
    /// Customers tickets are opened for.
    pub customers: Vec<String>,
    /// Tickets that get and reply pick from.
    pub tickets: Vec<String>,
}

async fn channels(addr: SocketAddr, count: usize) -> anyhow::Result<Vec<Channel>> {
    let mut channels = Vec::with_capacity(count);
    for _ in 0..count.max(1) {
        channels.push(
            Endpoint::from_shared(format!("http://{addr}"))?
                .connect_timeout(Duration::from_secs(5))
                .timeout(Duration::from_secs(60))
                .tcp_nodelay(true)
                .connect()
                .await
                .with_context(|| format!("connecting to {addr}"))?,
        );
    }
    Ok(channels)
}

/// The JWT of a staff member, minted with the gateway's secret (as `aftercare token` does).
pub fn staff_token(
    jwt_secret: &str,
    subject: &str,
    role: Role,
    region: Option<&str>,
) -> anyhow::Result<String> {
    let config = GatewayConfig {
        jwt_secret: Some(Secret::new(jwt_secret)),
        ..GatewayConfig::default()
    };
    aftercare_gateway::mint_dev_token(
        &config,
        subject,
        &[role],
        region,
        None,
        Duration::from_secs(24 * 3_600),
    )
}

/// Adds `authorization: Bearer <token>` to a request.
pub fn bearer<T>(token: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let value = format!("Bearer {token}").parse().expect("a token is ASCII");
    request.metadata_mut().insert("authorization", value);
    request
}

/// A ticket as the bench opens it.
pub fn new_ticket(customer: &str, seq: u64) -> tk::Ticket {
    tk::Ticket {
        customer: customer.to_owned(),
        channel: cm::Channel::Web as i32,
        subject: format!("Washing machine W{seq} stops mid-cycle"),
        description: format!(
            "Since last week the machine (order {seq}) stops after ten minutes and shows E21."
        ),
        region: REGION.to_owned(),
        language_code: "en".to_owned(),
        ..Default::default()
    }
}

fn create_request(customer: &str, seq: u64) -> tk::CreateTicketRequest {
    tk::CreateTicketRequest {
        ticket: Some(new_ticket(customer, seq)),
        request_id: uuid::Uuid::new_v4().to_string(),
        skip_routing: true,
        ..Default::default()
    }
}

fn reply_message(seq: u64) -> tk::TicketMessage {
    tk::TicketMessage {
        visibility: tk::MessageVisibility::Public as i32,
        body: format!("Thank you; a technician will call you today (reference {seq})."),
        ..Default::default()
    }
}

impl Clients {
    /// Connects `connections` channels to the gateway and to the tickets service, as the agent
    /// `agents/bench` of [`REGION`], and creates `customers` customers to open tickets for.
    pub async fn connect(
        gateway: SocketAddr,
        tickets: SocketAddr,
        principal_secret: &str,
        jwt_secret: &str,
        connections: usize,
        customers: usize,
    ) -> anyhow::Result<Self> {
        let agent_subject = "agents/bench";
        let agent_token = staff_token(jwt_secret, agent_subject, Role::Agent, Some(REGION))?;
        let admin = staff_token(jwt_secret, "agents/bench-admin", Role::Admin, None)?;
        // The principal the gateway derives from the agent's token.
        let agent = Principal {
            subject: agent_subject.to_owned(),
            roles: vec![Role::Agent],
            region: Some(REGION.to_owned()),
            customer: None,
            scopes: Vec::new(),
            display_name: None,
            via: None,
        };
        let gateway_channels = channels(gateway, connections).await?;
        let direct_channels = channels(tickets, connections).await?;
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let rest = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(connections.max(1))
            .build(connector);
        let mut made = Vec::new();
        let mut client =
            cu::customer_service_client::CustomerServiceClient::new(gateway_channels[0].clone());
        for index in 0..customers.max(1) {
            let customer = client
                .create_customer(bearer(
                    &admin,
                    cu::CreateCustomerRequest {
                        customer: Some(cu::Customer {
                            display_name: format!("Bench Customer {index}"),
                            region: REGION.to_owned(),
                            locale: "en".to_owned(),
                            emails: vec![cu::CustomerEmail {
                                address: format!("bench{index}@bench.example.com"),
                                label: "home".to_owned(),
                                primary: true,
                            }],
                            ..Default::default()
                        }),
                        request_id: uuid::Uuid::new_v4().to_string(),
                    },
                ))
                .await
                .context("creating a customer for the bench")?
                .into_inner()
                .customer
                .context("a customer in the answer")?;
            made.push(customer.name);
        }
        Ok(Self {
            gateway,
            gateway_channels,
            direct_channels,
            rest,
            signer: PrincipalVerifier::new(principal_secret.as_bytes()),
            agent,
            bearer: agent_token,
            customers: made,
            tickets: Vec::new(),
        })
    }

    fn direct<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        self.signer
            .attach(&self.agent, "tickets", request.metadata_mut());
        request
    }

    fn customer(&self, seq: u64) -> &str {
        &self.customers[(seq as usize) % self.customers.len()]
    }

    fn ticket(&self, seq: u64) -> anyhow::Result<&str> {
        ensure!(!self.tickets.is_empty(), "no tickets to work on");
        // A cheap, well-spread pick (Knuth's multiplicative hash), so calls hit random rows.
        let index = seq.wrapping_mul(2_654_435_761) % self.tickets.len() as u64;
        Ok(&self.tickets[index as usize])
    }

    fn client(&self, route: Route, seq: u64) -> TicketServiceClient<Channel> {
        let channels = match route {
            Route::Direct => &self.direct_channels,
            _ => &self.gateway_channels,
        };
        TicketServiceClient::new(channels[(seq as usize) % channels.len()].clone())
    }

    fn request<T>(&self, route: Route, message: T) -> tonic::Request<T> {
        match route {
            Route::Direct => self.direct(message),
            _ => bearer(&self.bearer, message),
        }
    }

    /// Creates `count` tickets directly (the setup of get and reply); returns their names.
    pub async fn create_tickets(&self, count: usize) -> anyhow::Result<Vec<String>> {
        let mut names = Vec::with_capacity(count);
        for seq in 0..count as u64 {
            names.push(self.create(Route::Direct, seq).await?.name);
        }
        Ok(names)
    }

    /// One create by `route`.
    pub async fn create(&self, route: Route, seq: u64) -> anyhow::Result<tk::Ticket> {
        let request = create_request(self.customer(seq), seq);
        if route == Route::Rest {
            let path = format!(
                "/v1/tickets?requestId={}&skipRouting=true",
                request.request_id
            );
            let body = serde_json::to_string(&json!({
                "customer": self.customer(seq),
                "channel": "CHANNEL_WEB",
                "subject": format!("Washing machine W{seq} stops mid-cycle"),
                "description": format!(
                    "Since last week the machine (order {seq}) stops after ten minutes and shows E21."
                ),
                "region": REGION,
                "languageCode": "en",
            }))?;
            let answer = self.rest("POST", &path, Some(body)).await?;
            let name = answer["ticket"]["name"]
                .as_str()
                .context("no ticket name in the answer")?;
            return Ok(tk::Ticket {
                name: name.to_owned(),
                ..Default::default()
            });
        }
        self.client(route, seq)
            .create_ticket(self.request(route, request))
            .await?
            .into_inner()
            .ticket
            .context("no ticket in the answer")
    }

    async fn get(&self, route: Route, seq: u64) -> anyhow::Result<()> {
        let name = self.ticket(seq)?;
        if route == Route::Rest {
            let answer = self.rest("GET", &format!("/v1/{name}"), None).await?;
            ensure!(answer["ticket"]["name"] == name, "another ticket answered");
            return Ok(());
        }
        let ticket = self
            .client(route, seq)
            .get_ticket(self.request(
                route,
                tk::GetTicketRequest {
                    name: name.to_owned(),
                },
            ))
            .await?
            .into_inner()
            .ticket
            .context("no ticket in the answer")?;
        ensure!(ticket.name == name, "another ticket answered");
        Ok(())
    }

    async fn list(&self, route: Route, seq: u64) -> anyhow::Result<()> {
        let count = if route == Route::Rest {
            let answer = self
                .rest("GET", &format!("/v1/tickets?pageSize={PAGE}"), None)
                .await?;
            answer["tickets"].as_array().map_or(0, Vec::len)
        } else {
            self.client(route, seq)
                .list_tickets(self.request(
                    route,
                    tk::ListTicketsRequest {
                        page_size: PAGE,
                        ..Default::default()
                    },
                ))
                .await?
                .into_inner()
                .tickets
                .len()
        };
        ensure!(
            count == PAGE as usize,
            "a page of {count} tickets, not {PAGE}"
        );
        Ok(())
    }

    async fn reply(&self, route: Route, seq: u64) -> anyhow::Result<()> {
        let parent = self.ticket(seq)?.to_owned();
        if route == Route::Rest {
            let body = serde_json::to_string(&json!({
                "visibility": "MESSAGE_VISIBILITY_PUBLIC",
                "body": reply_message(seq).body,
            }))?;
            let answer = self
                .rest(
                    "POST",
                    &format!("/v1/{parent}/messages?requestId={}", uuid::Uuid::new_v4()),
                    Some(body),
                )
                .await?;
            ensure!(answer["message"]["name"].is_string(), "no message answered");
            return Ok(());
        }
        self.client(route, seq)
            .create_message(self.request(
                route,
                tk::CreateMessageRequest {
                    parent,
                    message: Some(reply_message(seq)),
                    request_id: uuid::Uuid::new_v4().to_string(),
                    ..Default::default()
                },
            ))
            .await?
            .into_inner()
            .message
            .context("no message in the answer")?;
        Ok(())
    }

    async fn rest(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
    ) -> anyhow::Result<serde_json::Value> {
        let mut request = http::Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.gateway))
            .header("authorization", format!("Bearer {}", self.bearer));
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let request = request.body(Full::new(Bytes::from(body.unwrap_or_default())))?;
        let response = self.rest.request(request).await?;
        let status = response.status();
        let bytes = response.into_body().collect().await?.to_bytes();
        if !status.is_success() {
            bail!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
            );
        }
        Ok(serde_json::from_slice(&bytes)?)
    }

    /// Reads the ticket `name` by `route`.
    pub async fn read(&self, route: Route, seq: u64, name: &str) -> anyhow::Result<tk::Ticket> {
        let ticket = self
            .client(route, seq)
            .get_ticket(self.request(
                route,
                tk::GetTicketRequest {
                    name: name.to_owned(),
                },
            ))
            .await?
            .into_inner()
            .ticket
            .context("no ticket in the answer")?;
        ensure!(ticket.name == name, "another ticket answered");
        Ok(ticket)
    }

    /// A public reply of the agent to the ticket `parent`, by `route`.
    pub async fn reply_to(&self, route: Route, seq: u64, parent: &str) -> anyhow::Result<()> {
        self.client(route, seq)
            .create_message(self.request(
                route,
                tk::CreateMessageRequest {
                    parent: parent.to_owned(),
                    message: Some(reply_message(seq)),
                    request_id: uuid::Uuid::new_v4().to_string(),
                    ..Default::default()
                },
            ))
            .await?
            .into_inner()
            .message
            .context("no message in the answer")?;
        Ok(())
    }

    /// Moves the ticket `name` one step around new → open → pending → on hold → open, with
    /// the etag of a read just before (the caller is its only writer), by `route`.
    pub async fn change_status(&self, route: Route, seq: u64, name: &str) -> anyhow::Result<()> {
        use tk::TicketStatus as S;
        let ticket = self.read(route, seq, name).await?;
        let next = match S::try_from(ticket.status).unwrap_or(S::Unspecified) {
            S::New | S::OnHold => S::Open,
            S::Open => S::Pending,
            S::Pending => S::OnHold,
            other => bail!("{name} is {other:?}, outside the bench's cycle"),
        };
        let changed = self
            .client(route, seq)
            .change_ticket_status(self.request(
                route,
                tk::ChangeTicketStatusRequest {
                    name: name.to_owned(),
                    etag: ticket.etag,
                    status: next as i32,
                    reason: "bench status cycle".to_owned(),
                },
            ))
            .await?
            .into_inner()
            .ticket
            .context("no ticket in the answer")?;
        ensure!(changed.status == next as i32, "the status did not change");
        Ok(())
    }

    /// The first page of the agent's tickets, by `route`.
    pub async fn list_page(&self, route: Route, seq: u64) -> anyhow::Result<()> {
        self.list(route, seq).await
    }

    /// A channel to the gateway.
    pub fn gateway_channel(&self) -> Channel {
        self.gateway_channels[0].clone()
    }

    /// `op` by `route`, as a call for the load generator.
    pub fn call(self: &Arc<Self>, op: Op, route: Route) -> Call {
        let clients = self.clone();
        Arc::new(move |seq| {
            let clients = clients.clone();
            Box::pin(async move {
                match op {
                    Op::Create => clients.create(route, seq).await.map(|_| ()),
                    Op::Get => clients.get(route, seq).await,
                    Op::List => clients.list(route, seq).await,
                    Op::Reply => clients.reply(route, seq).await,
                }
            })
        })
    }
}
