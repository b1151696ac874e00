//! `aftercare`: every Aftercare service in one process (`aftercare up`), one service
//! (`aftercare serve <service>`, as a cluster runs it), migrations and configuration.

use std::path::PathBuf;
use std::process::ExitCode;

use aftercare::{Platform, migrate, render_config, serve_one, services};
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
    /// Runs one service (how a cluster runs it).
    Serve {
        /// The service: one of `aftercare services`.
        service: String,
    },
    /// Runs the migrations of every service (or of one) against its configured database.
    Migrate {
        /// Only this service.
        service: Option<String>,
    },
    /// Lists the services this binary can run.
    Services,
    /// Prints the configuration in effect (secrets hidden) and exits.
    Config,
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

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Config => println!("{}", render_config(&config)?),
        Command::Services => {
            for definition in services() {
                println!("{}", definition.name());
            }
        }
        Command::Migrate { service } => {
            let _telemetry = telemetry::init(&config.telemetry, "aftercare-migrate")?;
            for name in migrate(&config, service.as_deref()).await? {
                println!("{name}: migrated");
            }
        }
        Command::Up => {
            let _telemetry = telemetry::init(&config.telemetry, "aftercare")?;
            let metrics = config.telemetry.metrics_listen;
            let platform = Platform::start(config).await?;
            println!("aftercare is up:");
            let endpoints = platform.endpoints();
            if endpoints.is_empty() {
                println!("  (no services are built into this binary yet)");
            }
            for (name, addr) in endpoints {
                println!("  {name:<10} grpc://{addr}");
            }
            if let Some(metrics) = metrics {
                println!("  {:<10} http://{metrics}/metrics", "metrics");
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
