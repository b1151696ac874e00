//! `aftercare`: every Aftercare service in one process (`aftercare up`), one service
//! (`aftercare serve <service>`, as a cluster runs it), migrations and configuration.

use std::path::PathBuf;
use std::process::ExitCode;

use std::time::Duration;

use aftercare::{Platform, migrate, render_config, serve_one, services, use_dev_jwt_secret};
use aftercare_platform::auth::Role;
use aftercare_platform::config::Config;
use aftercare_platform::server::shutdown_signal;
use aftercare_platform::telemetry;
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "aftercare",
    version,
    about = "Aftercare customer-service platform"
)]
struct Cli {
    /// A TOML configuration file (also `AFTERCARE_CONFIG`); `AFTERCARE_*` variables override it.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs every service in one process, each on its own port and database.
    Up,
    /// Runs one service, or the gateway (how a cluster runs them).
    Serve {
        /// The service: one of `aftercare services` (`gateway` included).
        service: String,
    },
    /// Runs the migrations of every service (or of one) against its configured database.
    Migrate {
        /// Only this service.
        service: Option<String>,
    },
    /// Lists the services this binary can run.
    Services,
    /// Mints a development token for the gateway (HS256 with `gateway.jwt_secret`, or the
    /// development secret `aftercare up` keeps under the data folder).
    Token {
        /// A role (repeatable): customer, agent, specialist, lead, trainer, analyst, admin,
        /// integration.
        #[arg(long = "role", required = true, value_parser = parse_role)]
        roles: Vec<Role>,
        /// Who the token is for: `agents/…`, `customers/…` or any stable id.
        #[arg(long)]
        subject: String,
        /// The region a staff member works in (`eu-west`).
        #[arg(long)]
        region: Option<String>,
        /// For a customer, their resource name (`customers/…`).
        #[arg(long)]
        customer: Option<String>,
        /// How long the token is valid (`30m`, `12h`).
        #[arg(long, default_value = "12h", value_parser = humantime::parse_duration)]
        ttl: Duration,
    },
    /// Prints the configuration in effect (secrets hidden) and exits.
    Config,
    /// Prints the gateway's OpenAPI document (every service's REST bindings) and exits.
    Openapi,
    /// Writes demo data (two regions: cn-east and eu-west) through the running platform's
    /// gateway; running it again adds nothing.
    Seed {
        /// The gateway to write through (default: `gateway.listen`).
        #[arg(long)]
        gateway: Option<String>,
        /// How many tickets to create, spread over both regions and every status.
        #[arg(long, default_value_t = 240)]
        tickets: usize,
        /// Write even into a platform that holds data that is not the demo's.
        #[arg(long)]
        force: bool,
    },
}

fn parse_role(text: &str) -> Result<Role, String> {
    let roles = [
        Role::Customer,
        Role::Agent,
        Role::Specialist,
        Role::Lead,
        Role::Trainer,
        Role::Analyst,
        Role::Admin,
        Role::Integration,
    ];
    roles
        .into_iter()
        .find(|role| role.as_str() == text)
        .ok_or_else(|| {
            let names: Vec<&str> = roles.iter().map(|role| role.as_str()).collect();
            format!("unknown role `{text}` (one of {})", names.join(", "))
        })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("aftercare: {err}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("aftercare: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("aftercare: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, mut config: Config) -> anyhow::Result<()> {
    match command {
        Command::Config => println!("{}", render_config(&config)?),
        Command::Openapi => println!(
            "{}",
            serde_json::to_string_pretty(&aftercare_gateway::openapi_document()?)?
        ),
        Command::Seed {
            gateway,
            tickets,
            force,
        } => {
            use_dev_jwt_secret(&mut config)?;
            let gateway = gateway.unwrap_or_else(|| format!("http://{}", config.gateway.listen));
            let channel = tonic::transport::Channel::from_shared(gateway.clone())?
                .connect()
                .await
                .map_err(|err| anyhow::anyhow!("cannot reach the gateway at {gateway} ({err}): start the platform first (make run)"))?;
            let options = aftercare::seed::SeedOptions { tickets, force };
            let report = aftercare::seed::seed(channel, &config.gateway, &options).await?;
            println!("demo data in place (created now or by an earlier run):");
            print!("{report}");
        }
        Command::Services => {
            for definition in services() {
                println!("{}", definition.name());
            }
            println!("{}", aftercare::GATEWAY);
        }
        Command::Migrate { service } => {
            let _telemetry = telemetry::init(&config.telemetry, "aftercare-migrate")?;
            for name in migrate(&config, service.as_deref()).await? {
                println!("{name}: migrated");
            }
        }
        Command::Token {
            roles,
            subject,
            region,
            customer,
            ttl,
        } => {
            use_dev_jwt_secret(&mut config)?;
            let token = aftercare_gateway::mint_dev_token(
                &config.gateway,
                &subject,
                &roles,
                region.as_deref(),
                customer.as_deref(),
                ttl,
            )?;
            println!("{token}");
        }
        Command::Up => {
            let _telemetry = telemetry::init(&config.telemetry, "aftercare")?;
            let dev_secret = use_dev_jwt_secret(&mut config)?;
            let metrics = config.telemetry.metrics_listen;
            let platform = Platform::start(config).await?;
            println!("aftercare is up:");
            if let Some(gateway) = platform.gateway_addr() {
                println!(
                    "  {:<10} {gateway}  (gRPC, gRPC-Web and REST; the entry point)",
                    "gateway"
                );
                println!("  {:<10} http://{gateway}/openapi.json", "openapi");
            }
            for (name, addr) in platform.endpoints() {
                println!("  {name:<10} {addr}  (internal: calls need the gateway's principal)");
            }
            if let Some(metrics) = metrics {
                println!("  {:<10} http://{metrics}/metrics", "metrics");
            }
            if let (Some(path), Some(gateway)) = (dev_secret, platform.gateway_addr()) {
                println!();
                println!("development tokens are signed with {}:", path.display());
                // The binary that is running, so the command needs no second build.
                let exe = std::env::current_exe()
                    .ok()
                    .and_then(|exe| {
                        let cwd = std::env::current_dir().ok()?;
                        Some(match exe.strip_prefix(&cwd) {
                            Ok(relative) => format!("./{}", relative.display()),
                            Err(_) => exe.display().to_string(),
                        })
                    })
                    .unwrap_or_else(|| "aftercare".to_owned());
                println!(
                    "  TOKEN=$({exe} token --role agent --subject agents/demo --region eu-west)"
                );
                println!("  grpcurl -plaintext -H \"authorization: Bearer $TOKEN\" {gateway} list");
                println!(
                    "  curl -H \"authorization: Bearer $TOKEN\" http://{gateway}/v1/customers"
                );
                println!();
                println!("demo data for two regions: {exe} seed");
                println!("a first hour (a ticket, a reply, a survey): README.md, \"A first hour\"");
            }
            println!("press Ctrl-C to stop");
            shutdown_signal().await;
            platform.stop().await;
            println!("aftercare stopped");
        }
        Command::Serve { service } => {
            let _telemetry = telemetry::init(&config.telemetry, &format!("aftercare-{service}"))?;
            serve_one(config, &service, shutdown_signal()).await?;
        }
    }
    Ok(())
}
