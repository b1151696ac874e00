//! A closed-loop ticket-create load against a running `aftercare up`, through the gateway
//! (gRPC, a bearer token) or straight to the tickets service (gRPC, a principal signed with
//! the shared principal secret), printing creates/s and latency percentiles.
//!
//! ```text
//! AFTERCARE_AUTH__PRINCIPAL_SECRET=… aftercare up &
//! TOKEN=$(aftercare token --role lead --subject agents/bench --region eu-west)
//! cargo run --release -p aftercare --example create_load -- gateway 127.0.0.1:8080 16 10
//! cargo run --release -p aftercare --example create_load -- direct 127.0.0.1:50061 16 10
//! ```
//!
//! Arguments: `gateway|direct`, the address, the number of concurrent clients, the seconds
//! to run. `TOKEN` (gateway) or `PRINCIPAL_SECRET` (direct) in the environment. Every call
//! has its own `request_id`; the tickets name 50 customers created first.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aftercare_platform::auth::{Principal, PrincipalVerifier, Role};
use aftercare_proto::aftercare::common::v1 as common;
use aftercare_proto::aftercare::customers::v1 as customers_pb;
use aftercare_proto::aftercare::customers::v1::customer_service_client::CustomerServiceClient;
use aftercare_proto::aftercare::tickets::v1 as pb;
use aftercare_proto::aftercare::tickets::v1::ticket_service_client::TicketServiceClient;
use tonic::transport::{Channel, Endpoint};

const CUSTOMERS: usize = 50;

/// How a call is authenticated.
#[derive(Clone)]
enum Auth {
    Bearer(String),
    Signed(PrincipalVerifier),
}

impl Auth {
    fn request<T>(&self, audience: &str, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        match self {
            Auth::Bearer(token) => {
                let value = format!("Bearer {token}").parse().expect("ASCII token");
                request.metadata_mut().insert("authorization", value);
            }
            Auth::Signed(principals) => {
                principals.attach(&lead(), audience, request.metadata_mut());
            }
        }
        request
    }
}

fn lead() -> Principal {
    Principal {
        subject: "agents/bench".into(),
        roles: vec![Role::Lead],
        region: Some("eu-west".into()),
        customer: None,
        scopes: vec![],
        display_name: None,
        via: None,
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, mode, addr, concurrency, seconds] = args.as_slice() else {
        anyhow::bail!("usage: create_load gateway|direct ADDR CONCURRENCY SECONDS");
    };
    let concurrency: usize = concurrency.parse()?;
    let seconds: u64 = seconds.parse()?;
    let auth = match mode.as_str() {
        "gateway" => Auth::Bearer(std::env::var("TOKEN")?),
        "direct" => Auth::Signed(PrincipalVerifier::new(
            std::env::var("PRINCIPAL_SECRET")?.as_bytes(),
        )),
        other => anyhow::bail!("unknown mode `{other}`"),
    };
    let channel = Endpoint::from_shared(format!("http://{addr}"))?
        .tcp_nodelay(true)
        .connect()
        .await?;
    let customers = customers(&channel, &auth, mode == "direct").await?;
    let customers = Arc::new(customers);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|w| {
            let (auth, customers) = (auth.clone(), customers.clone());
            let mut client = TicketServiceClient::new(channel.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0usize;
                let mut i = w;
                while Instant::now() < deadline {
                    let request = auth.request("tickets", new_ticket(&customers, i));
                    let t = Instant::now();
                    match client.create_ticket(request).await {
                        Ok(_) => latencies.push(t.elapsed()),
                        Err(status) => {
                            errors += 1;
                            if errors < 3 {
                                eprintln!("create failed: {status:?}");
                            }
                        }
                    }
                    i += concurrency;
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for worker in workers {
        let (mine, failed) = worker.await?;
        latencies.extend(mine);
        errors += failed;
    }
    let wall = started.elapsed();
    latencies.sort();
    let pct = |p: f64| {
        let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies
            .get(i)
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1_000.0)
    };
    println!(
        "{mode:<8} c={concurrency:<3} {:>7} creates {:>8.0} /s  p50 {:>6.2} ms  p99 {:>6.2} ms  errors {errors}",
        latencies.len(),
        latencies.len() as f64 / wall.as_secs_f64(),
        pct(0.50),
        pct(0.99),
    );
    Ok(())
}

/// Creates the customers the tickets name, through the gateway, or straight to customers
/// (`CUSTOMERS_ADDR`, default 127.0.0.1:50062) when the load goes straight to tickets.
async fn customers(channel: &Channel, auth: &Auth, direct: bool) -> anyhow::Result<Vec<String>> {
    let channel = if direct {
        let addr = std::env::var("CUSTOMERS_ADDR").unwrap_or_else(|_| "127.0.0.1:50062".to_owned());
        Endpoint::from_shared(format!("http://{addr}"))?
            .connect()
            .await?
    } else {
        channel.clone()
    };
    let mut client = CustomerServiceClient::new(channel);
    let run = uuid::Uuid::now_v7();
    let mut names = Vec::new();
    for i in 0..CUSTOMERS {
        let customer = client
            .create_customer(auth.request(
                "customers",
                customers_pb::CreateCustomerRequest {
                    customer: Some(customers_pb::Customer {
                        display_name: format!("Bench customer {i}"),
                        region: "eu-west".into(),
                        ..Default::default()
                    }),
                    request_id: format!("{run}-{i}"),
                },
            ))
            .await?
            .into_inner()
            .customer
            .ok_or_else(|| anyhow::anyhow!("no customer in the answer"))?;
        names.push(customer.name);
    }
    Ok(names)
}

fn new_ticket(customers: &[String], i: usize) -> pb::CreateTicketRequest {
    pb::CreateTicketRequest {
        ticket: Some(pb::Ticket {
            customer: customers[i % customers.len()].clone(),
            channel: common::Channel::Web as i32,
            subject: format!("Washing machine {i} won't turn on"),
            description: "Since yesterday it shows E3 and does not start. 洗衣机无法开机。".into(),
            region: "eu-west".into(),
            ..Default::default()
        }),
        request_id: uuid::Uuid::new_v4().to_string(),
        ..Default::default()
    }
}
