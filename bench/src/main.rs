//! `aftercare-bench`: the platform's measuring instrument.
//!
//! - `aftercare-bench bench` (`make bench`): starts `aftercare up` as a user would and prints
//!   one table of every figure issue #13 asks for, written as JSON too.
//! - `aftercare-bench soak` (`make soak`): a long mixed load, RSS and latency every minute,
//!   failing on any error.

mod bench;
mod bulk;
mod engine;
mod load;
mod ops;
mod platform;
mod report;
mod soak;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "aftercare-bench", about = "Aftercare's benchmark and soak")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Every figure in one run: the platform through the gateway and direct, the engines,
    /// reads at scale, the ratios.
    Bench(bench::BenchArgs),
    /// A long mixed load with a watch stream per agent; fails on any error.
    Soak(soak::SoakArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("aftercare-bench: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Bench(args) => bench::run(args).await,
            Command::Soak(args) => soak::run(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("aftercare-bench: {err:#}");
            ExitCode::FAILURE
        }
    }
}
