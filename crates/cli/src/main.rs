//! The `kyojo` binary: run the hub and administer it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{anyhow, Context, Result};
use clap::{Args, Parser, Subcommand};

use kyojo_core::Role;
use kyojo_server::{demo, Hub};

#[derive(Parser)]
#[command(
    name = "kyojo",
    version,
    about = "kyojo (共助): a community hub for sharing and acting on threat indicators"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct DataArg {
    /// Data directory: SQLite file, secret key, optional kyojo.toml.
    #[arg(
        long,
        env = "KYOJO_DATA",
        default_value = "./kyojo-data",
        global = true
    )]
    data: PathBuf,
}

#[derive(Subcommand)]
enum Command {
    /// Run the hub.
    Serve {
        /// Address to listen on (port 0 picks a free port).
        #[arg(long, env = "KYOJO_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        /// Seed a demo community on first start and print fresh demo tokens.
        #[arg(long)]
        demo: bool,
        #[command(flatten)]
        data: DataArg,
    },
    /// Member organizations.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// Access tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(Subcommand)]
enum OrgCommand {
    /// Admit an organization.
    Add {
        name: String,
        /// Sector slug, e.g. finance, telecom, medical.
        #[arg(long)]
        sector: String,
        #[command(flatten)]
        data: DataArg,
    },
    /// List organizations.
    List {
        #[command(flatten)]
        data: DataArg,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token; prints it once, alone on stdout.
    Create {
        #[arg(long)]
        org: String,
        /// admin, analyst, sensor or consumer.
        #[arg(long)]
        role: String,
        #[arg(long)]
        label: Option<String>,
        #[command(flatten)]
        data: DataArg,
    },
    /// Revoke a token, given in full or by its id.
    Revoke {
        token: String,
        #[command(flatten)]
        data: DataArg,
    },
    /// List tokens (ids only; secrets are never stored).
    List {
        #[command(flatten)]
        data: DataArg,
    },
}

fn open(data: &DataArg) -> Result<Hub> {
    Hub::open(&data.data).with_context(|| format!("opening the hub in {}", data.data.display()))
}

fn api(e: kyojo_server::ApiError) -> anyhow::Error {
    match e.field {
        Some(f) => anyhow!("{}: {}", f, e.message),
        None => anyhow!("{}", e.message),
    }
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KYOJO_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { listen, demo, data } => serve(&listen, demo, &data),
        Command::Org { command } => match command {
            OrgCommand::Add { name, sector, data } => {
                let org = open(&data)?.add_org(&name, &sector).map_err(api)?;
                println!("{}\t{}", org.name, org.sector);
                Ok(())
            }
            OrgCommand::List { data } => {
                for o in open(&data)?.list_orgs().map_err(api)? {
                    println!("{}\t{}", o.name, o.sector);
                }
                Ok(())
            }
        },
        Command::Token { command } => match command {
            TokenCommand::Create {
                org,
                role,
                label,
                data,
            } => {
                let role = Role::parse(&role)
                    .ok_or_else(|| anyhow!("--role must be admin, analyst, sensor or consumer"))?;
                let (rec, token) = open(&data)?
                    .create_token(&org, role, label.as_deref())
                    .map_err(api)?;
                eprintln!(
                    "created {} token {} for {}",
                    rec.role.as_str(),
                    rec.public_id,
                    rec.org.name
                );
                println!("{token}");
                Ok(())
            }
            TokenCommand::Revoke { token, data } => {
                if open(&data)?.revoke_token(&token).map_err(api)? {
                    eprintln!("revoked");
                    Ok(())
                } else {
                    Err(anyhow!("no live token with that id"))
                }
            }
            TokenCommand::List { data } => {
                for t in open(&data)?.store().list_tokens()? {
                    let state = if t.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "live"
                    };
                    println!(
                        "{}\t{}\t{}\t{}\t{}",
                        t.public_id,
                        t.org.name,
                        t.role.as_str(),
                        t.label.unwrap_or_default(),
                        state
                    );
                }
                Ok(())
            }
        },
    }
}

fn serve(listen: &str, with_demo: bool, data: &DataArg) -> Result<()> {
    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let hub = Arc::new(open(data)?);
    let tokens = if with_demo {
        let summary = demo::seed(&hub, kyojo_server::hub::now_millis()).map_err(api)?;
        if summary.seeded {
            eprintln!(
                "seeded demo community: {} organizations, {} reports, {} indicators, {} sighting rows",
                summary.orgs, summary.reports, summary.indicators, summary.sighting_rows
            );
        }
        Some(demo::mint_tokens(&hub).map_err(api)?)
    } else {
        None
    };
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let addr = listener.local_addr()?;
        println!(
            "kyojo is ready at http://{addr}/ ({} ms)",
            started.elapsed().as_millis()
        );
        if let Some(t) = tokens {
            println!("demo organizations: {}", t.org_names.join(", "));
            println!("admin token:          {}", t.admin);
            println!("analyst token:        {}", t.analyst);
            println!("other analyst token:  {}", t.other_analyst);
            println!("sensor token:         {}", t.sensor);
            println!("consumer token:       {}", t.consumer);
            println!(
                "try: curl -H 'Authorization: Bearer {}' http://{addr}/api/v1/reports",
                t.analyst
            );
        }
        use std::io::Write;
        std::io::stdout().flush().ok();
        kyojo_server::serve(listener, hub, shutdown_signal())
            .await
            .context("serving")
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
