//! The `kyojo` binary: run the hub, administer it, export feeds, check URLs privately.

mod check;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Parser, Subcommand};

use kyojo_core::Role;
use kyojo_hub::{demo, Hub};

/// glibc's malloc gives each busy thread an arena of its own (up to 8 per
/// core) and keeps what was freed there: with snapshots and feeds rebuilt on
/// the blocking pool's many threads, RSS grew to 15× the working set under
/// writes. Two arenas keep it flat (README, Figures); `MALLOC_ARENA_MAX` in
/// the environment still wins. Called first, before any thread starts.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets an allocator parameter; no other thread runs yet.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

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
    /// The operator's allow list: values no rule or analyst can block.
    Allow {
        #[command(subcommand)]
        command: AllowCommand,
    },
    /// False-positive lists (MISP warninglists): values that never become
    /// actionable and that nobody may block.
    Warninglists {
        #[command(subcommand)]
        command: WarninglistCommand,
    },
    /// Import a STIX 2.1 bundle (all or nothing); MISP events — one event
    /// file, or a MISP feed directory (manifest.json and its event files);
    /// or a published list (urlhaus, threatfox, feodo, spamhaus-drop,
    /// phishtank, openphish, list) — as reports of an organization.
    Import {
        /// stix, misp, or a list format: urlhaus, threatfox, feodo,
        /// spamhaus-drop, phishtank, openphish, list
        format: String,
        file: PathBuf,
        /// The importing organization.
        #[arg(long)]
        org: String,
        /// Marking to use instead of the bundle's own (never less restrictive than it).
        #[arg(long)]
        tlp: Option<String>,
        /// Who may read it: `community` or JSON like '{"sectors":["finance"]}' or
        /// '{"orgs":["Sakura Bank"]}' (default: the narrowest audience of reports
        /// already holding its objects, else the community).
        #[arg(long)]
        audience: Option<String>,
        /// true or false (default: anonymous when the bundle speaks for the hub
        /// or its objects are kept here under an anonymous report).
        #[arg(long)]
        anonymous: Option<bool>,
        /// misp only: also take attributes whose to_ids is false.
        #[arg(long)]
        include_non_ids: bool,
        #[command(flatten)]
        data: DataArg,
    },
    /// Write a block feed, or every STIX object, to a file (what /api/v1/feeds/ and TAXII serve).
    Export {
        /// rpz, hosts, csv, txt or stix.
        format: String,
        #[arg(long)]
        out: PathBuf,
        /// Export what this organization may see (default: the public, TLP CLEAR only).
        #[arg(long)]
        org: Option<String>,
        /// txt only: domains, urls or ips.
        #[arg(long, default_value = "domains")]
        kind: String,
        /// rpz only: answer with a CNAME to the warning host instead of NXDOMAIN.
        #[arg(long)]
        walled_garden: bool,
        #[command(flatten)]
        data: DataArg,
    },
    /// Copy the data directory (database as of one moment, secret.key, kyojo.toml)
    /// into DIR while the hub keeps serving. SQLite only; for PostgreSQL it says what to do.
    Backup {
        /// A new or empty directory (created 0700; files 0600).
        dir: PathBuf,
        #[command(flatten)]
        data: DataArg,
    },
    /// Restore a backup made by `kyojo backup` into the data directory, which must be
    /// new or empty. The backup's secret.key must match its database.
    Restore {
        dir: PathBuf,
        /// Replace the data directory's database, key and configuration (stop the hub first).
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        data: DataArg,
    },
    /// Check URLs against a hub without telling it which URLs (Safe Browsing style).
    /// Prints `listed THREAT URL` or `clean URL`; exits 0 if all clean, 1 if any listed, 2 on error.
    Check {
        #[arg(required = true)]
        urls: Vec<String>,
        /// The hub's base URL, e.g. http://127.0.0.1:8080
        #[arg(long, env = "KYOJO_HUB")]
        hub: String,
        #[arg(long, env = "KYOJO_TOKEN")]
        token: Option<String>,
        /// Where the local prefix list is kept (default: prefixes.json in
        /// $XDG_CACHE_HOME/kyojo, else ~/.cache/kyojo; never the working directory).
        #[arg(long, env = "KYOJO_CHECK_CACHE")]
        cache: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum AllowCommand {
    /// Add a value (any kind; detected when --type is not given).
    Add {
        value: String,
        #[arg(long = "type")]
        kind: Option<String>,
        #[arg(long, default_value = "")]
        comment: String,
        #[command(flatten)]
        data: DataArg,
    },
    /// Remove a value.
    Remove {
        value: String,
        #[arg(long = "type")]
        kind: Option<String>,
        #[command(flatten)]
        data: DataArg,
    },
    /// List the operator's entries.
    List {
        #[command(flatten)]
        data: DataArg,
    },
}

#[derive(Subcommand)]
enum WarninglistCommand {
    /// Copy chosen lists into the data directory; they apply from the hub's
    /// next start. PATH is a list.json, or a directory searched for them (a
    /// checkout of MISP's misp-warninglists, or the data of the
    /// pymispwarninglists package).
    Load {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Ids (directory names) of the lists to load, comma-separated.
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
        /// Load every list found (some name warnings rather than benign
        /// values: dynamic DNS, disposable mail, URL shorteners).
        #[arg(long, conflicts_with = "only")]
        all: bool,
        #[command(flatten)]
        data: DataArg,
    },
    /// The lists the hub applies: embedded ones and loaded ones.
    List {
        #[command(flatten)]
        data: DataArg,
    },
    /// Remove a loaded list (embedded ones are chosen in kyojo.toml,
    /// `[decisions] default_warninglists`).
    Remove {
        id: String,
        #[command(flatten)]
        data: DataArg,
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

/// The CLI's words for a hub error: the field, then the problem.
fn api(e: kyojo_hub::HubError) -> anyhow::Error {
    match e.field() {
        Some(f) => anyhow!("{}: {}", f, e.message()),
        None => anyhow!("{}", e.message()),
    }
}

fn main() {
    limit_malloc_arenas();
    let code = match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kyojo: {e:#}");
            2
        }
    };
    std::process::exit(code);
}

/// The operator acting from the CLI: full rights, as the hub's own administration.
fn operator() -> kyojo_core::Viewer {
    kyojo_core::Viewer::Member(kyojo_core::policy::Member {
        org: 0,
        sector: String::new(),
        role: Role::Admin,
    })
}

/// The viewer an export or import acts as: an organization's member with
/// `role`, or the public when no organization is named.
fn as_org(hub: &Hub, org: Option<&str>, role: Role) -> Result<kyojo_core::Viewer> {
    let Some(name) = org else {
        return Ok(kyojo_core::Viewer::Public);
    };
    let o = hub
        .org_by_name(name)
        .map_err(api)?
        .ok_or_else(|| anyhow!("no organization named {name:?}"))?;
    Ok(kyojo_core::Viewer::Member(kyojo_core::policy::Member {
        org: o.id,
        sector: o.sector,
        role,
    }))
}

fn observable(value: &str, kind: Option<&str>) -> Result<kyojo_core::Observable> {
    let parsed = match kind {
        Some(k) => kyojo_core::observable::canonicalize(
            k.parse().map_err(|e| anyhow!("--type: {e}"))?,
            value,
        ),
        None => kyojo_core::observable::detect(value),
    };
    parsed.map_err(|e| anyhow!("{value}: {e}"))
}

/// Whether log lines may carry ANSI colours: only when the log stream is a
/// terminal someone watches (a file, journald or a pipe would keep the
/// escape codes as garbage), and never when `NO_COLOR` is set to anything
/// non-empty (<https://no-color.org>).
fn log_colours(is_terminal: bool, no_color: Option<std::ffi::OsString>) -> bool {
    is_terminal && no_color.is_none_or(|v| v.is_empty())
}

fn run() -> Result<i32> {
    use std::io::IsTerminal;
    // Logs go to stderr; stdout is kept for what a command prints (tokens, ids, results).
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KYOJO_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_ansi(log_colours(
            std::io::stderr().is_terminal(),
            std::env::var_os("NO_COLOR"),
        ))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let done = |r: Result<()>| r.map(|()| 0);
    match cli.command {
        Command::Serve { listen, demo, data } => done(serve(&listen, demo, &data)),
        Command::Backup { dir, data } => {
            let w = kyojo_hub::backup::backup(&data.data, &dir)
                .with_context(|| format!("backing up {}", data.data.display()))?;
            println!(
                "backed up {} into {} (database {} bytes)",
                w.files.join(", "),
                w.dir.display(),
                w.database_bytes
            );
            Ok(0)
        }
        Command::Restore { dir, force, data } => {
            let w = kyojo_hub::backup::restore(&dir, &data.data, force).with_context(|| {
                format!("restoring {} into {}", dir.display(), data.data.display())
            })?;
            println!(
                "restored {} into {} (database {} bytes)",
                w.files.join(", "),
                w.dir.display(),
                w.database_bytes
            );
            Ok(0)
        }
        Command::Check {
            urls,
            hub,
            token,
            cache,
        } => {
            let cache = match cache {
                Some(path) => path,
                None => check::default_cache()?,
            };
            let results = check::run(&check::CheckArgs {
                urls,
                hub,
                token,
                cache,
            })?;
            let mut listed = false;
            for (u, threat) in results {
                match threat {
                    Some(t) => {
                        listed = true;
                        println!("listed {t} {u}");
                    }
                    None => println!("clean {u}"),
                }
            }
            Ok(i32::from(listed))
        }
        Command::Import {
            format,
            file,
            org,
            tlp,
            audience,
            anonymous,
            include_non_ids,
            data,
        } => {
            let list = kyojo_formats::intake::Format::preset(&format);
            if format != "stix" && format != "misp" && list.is_none() {
                bail!(
                    "the formats kyojo imports are stix, misp and the lists {}",
                    kyojo_formats::intake::Format::PRESETS.join(", ")
                );
            }
            let hub = open(&data)?;
            let viewer = as_org(&hub, Some(&org), Role::Analyst)?;
            let tlp = tlp
                .map(|t| t.parse::<kyojo_core::Tlp>())
                .transpose()
                .map_err(|e| anyhow!("--tlp: {e}"))?;
            let audience = audience
                .map(|a| kyojo_server::api::parse_import_audience(&hub, &a))
                .transpose()
                .map_err(api)?;
            if format == "misp" {
                let options = kyojo_hub::misp::MispImportOptions {
                    tlp,
                    audience,
                    anonymous: anonymous.unwrap_or(false),
                    with_non_ids: include_non_ids,
                    incident_type: None,
                };
                return import_misp(&hub, &viewer, &file, &options);
            }
            if let Some(list) = list {
                let text =
                    std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
                let how = kyojo_hub::imports::ListImport {
                    title: kyojo_hub::imports::default_title(&list),
                    incident_type: kyojo_hub::imports::preset_incident_type(&list),
                    format: list,
                    tlp: tlp.unwrap_or(kyojo_core::Tlp::Clear),
                    audience: audience.unwrap_or(kyojo_core::Audience::Community),
                    anonymous: anonymous.unwrap_or(false),
                };
                let done = hub
                    .import_list(&viewer, &text, &how, kyojo_hub::hub::now_millis())
                    .map_err(api)?;
                for r in &done.reports {
                    println!("{}", kyojo_server::api::report_id(r));
                }
                eprintln!(
                    "{} values from {} lines into {} report(s) ({} imported before); {} inactive, {} duplicate, {} skipped",
                    done.values,
                    done.lines,
                    done.reports.len(),
                    done.already,
                    done.inactive,
                    done.duplicates,
                    done.skipped_count
                );
                for s in done.skipped.iter().take(10) {
                    eprintln!("  line {}: {}", s.line, s.reason);
                }
                return Ok(0);
            }
            let text =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let bundle: serde_json::Value = serde_json::from_slice(&text)
                .with_context(|| format!("{} is not JSON", file.display()))?;
            let objects = bundle["objects"]
                .as_array()
                .cloned()
                .ok_or_else(|| anyhow!("{} is not a STIX bundle", file.display()))?;
            let options = kyojo_hub::stix::ImportOptions {
                tlp,
                audience,
                anonymous,
            };
            let done = hub.import_stix(&viewer, objects, options).map_err(api)?;
            let id = kyojo_server::api::report_id(&done.report);
            println!("{id}");
            if done.created {
                eprintln!(
                    "imported {} objects ({} indicators) as report {id}",
                    done.objects,
                    done.report.indicators.len(),
                );
            } else {
                eprintln!("already imported: these objects are report {id}");
            }
            Ok(0)
        }
        Command::Export {
            format,
            out,
            org,
            data,
            ..
        } if format == "stix" => {
            let hub = open(&data)?;
            let viewer = as_org(&hub, org.as_deref(), Role::Analyst)?;
            export_stix(&hub, &viewer, &out)?;
            Ok(0)
        }
        Command::Export {
            format,
            out,
            org,
            kind,
            walled_garden,
            data,
        } => {
            use kyojo_hub::feeds::{FeedFormat, FeedOptions};
            let format = match (format.as_str(), kind.as_str()) {
                ("rpz", _) => FeedFormat::Rpz,
                ("hosts", _) => FeedFormat::Hosts,
                ("csv", _) => FeedFormat::Csv,
                ("txt", "domains") => FeedFormat::DomainsTxt,
                ("txt", "urls") => FeedFormat::UrlsTxt,
                ("txt", "ips") => FeedFormat::IpsTxt,
                ("txt", other) => bail!("--kind must be domains, urls or ips, not {other:?}"),
                (other, _) => bail!("format must be rpz, hosts, csv or txt, not {other:?}"),
            };
            let hub = open(&data)?;
            let viewer = as_org(&hub, org.as_deref(), Role::Consumer)?;
            let (_, entries) = hub.feed_entries(&viewer).map_err(api)?;
            let tmp = out.with_extension("partial");
            let file = std::fs::File::create(&tmp)
                .with_context(|| format!("writing {}", tmp.display()))?;
            let mut w = std::io::BufWriter::new(file);
            // The count is what this format wrote (an RPZ zone leaves URLs
            // out, domains.txt everything but domains), so it agrees with the
            // file, not with every entry the viewer may see. A fresh process
            // has no earlier serial, so the RPZ serial is the time, as a
            // first render on the server.
            let serial = u32::try_from(kyojo_hub::hub::now_millis() / 1000).unwrap_or(u32::MAX);
            let written = hub
                .write_feed(
                    &mut w,
                    format,
                    &FeedOptions {
                        walled_garden,
                        sinkhole: None,
                    },
                    &entries,
                    serial,
                )
                .map_err(api)?;
            std::io::Write::flush(&mut w).with_context(|| format!("writing {}", tmp.display()))?;
            drop(w);
            std::fs::rename(&tmp, &out).with_context(|| format!("writing {}", out.display()))?;
            eprintln!("wrote {written} entries to {}", out.display());
            Ok(0)
        }
        Command::Warninglists { command } => match command {
            WarninglistCommand::Load {
                paths,
                only,
                all,
                data,
            } => {
                let done = kyojo_hub::warninglists::install(&data.data, &paths, &only, all)?;
                for l in &done {
                    println!(
                        "{}\t{}\t{} entries used, {} skipped\t{}",
                        l.id, l.list_type, l.used, l.skipped, l.name
                    );
                }
                eprintln!(
                    "loaded {} list(s) into {}; they apply from the hub's next start",
                    done.len(),
                    data.data
                        .join(kyojo_hub::warninglists::DATA_SUBDIR)
                        .display()
                );
                Ok(0)
            }
            WarninglistCommand::List { data } => {
                for (origin, l) in open(&data)?.warninglists(&operator()).map_err(api)? {
                    let origin = match origin {
                        kyojo_hub::warninglists::Origin::Embedded => "embedded",
                        kyojo_hub::warninglists::Origin::Loaded => "loaded",
                    };
                    println!(
                        "{}\t{origin}\t{}\t{}\t{}",
                        l.id,
                        l.list_type.as_str(),
                        l.used,
                        l.name
                    );
                }
                Ok(0)
            }
            WarninglistCommand::Remove { id, data } => {
                if kyojo_hub::warninglists::uninstall(&data.data, &id)? {
                    eprintln!("removed {id}; the hub stops applying it at its next start");
                    Ok(0)
                } else {
                    bail!("no loaded list is called {id} (see kyojo warninglists list)")
                }
            }
        },
        Command::Allow { command } => match command {
            AllowCommand::Add {
                value,
                kind,
                comment,
                data,
            } => {
                let obs = observable(&value, kind.as_deref())?;
                open(&data)?
                    .allow_add(&operator(), &obs, &comment)
                    .map_err(api)?;
                println!("{}\t{}", obs.kind, obs.value);
                Ok(0)
            }
            AllowCommand::Remove { value, kind, data } => {
                let obs = observable(&value, kind.as_deref())?;
                if open(&data)?.allow_remove(&operator(), &obs).map_err(api)? {
                    Ok(0)
                } else {
                    bail!("{} is not on the allow list", obs.value)
                }
            }
            AllowCommand::List { data } => {
                for e in open(&data)?.allow_list(&operator()).map_err(api)? {
                    println!(
                        "{}\t{}\t{}",
                        e.observable.kind, e.observable.value, e.comment
                    );
                }
                Ok(0)
            }
        },
        Command::Org { command } => done(match command {
            OrgCommand::Add { name, sector, data } => {
                let hub = open(&data)?;
                let org = hub.admit_org(&operator(), &name, &sector).map_err(api)?;
                println!("{}\t{}", org.name, org.sector);
                Ok(())
            }
            OrgCommand::List { data } => {
                for o in open(&data)?.list_orgs(&operator()).map_err(api)? {
                    println!("{}\t{}", o.name, o.sector);
                }
                Ok(())
            }
        }),
        Command::Token { command } => done(match command {
            TokenCommand::Create {
                org,
                role,
                label,
                data,
            } => {
                let role = Role::parse(&role).ok_or_else(|| {
                    anyhow!("--role must be admin, curator, analyst, sensor or consumer")
                })?;
                let hub = open(&data)?;
                let (rec, token) = hub
                    .mint_token(&operator(), &org, role, label.as_deref())
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
                let hub = open(&data)?;
                if hub.withdraw_token(&operator(), &token).map_err(api)? {
                    eprintln!("revoked");
                    Ok(())
                } else {
                    Err(anyhow!("no live token with that id"))
                }
            }
            TokenCommand::List { data } => {
                for t in open(&data)?.list_tokens(&operator())? {
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
        }),
    }
}

/// Every STIX object `viewer` may read, as one bundle, with a progress bar.
fn export_stix(hub: &Hub, viewer: &kyojo_core::Viewer, out: &std::path::Path) -> Result<()> {
    use std::io::Write;
    // The bar walks the hub's whole object table; fewer objects are written
    // (those the viewer may not read are left out, and an object kept in
    // several copies goes out once), so it counts rows read and says how
    // many were written, and the last line names both figures.
    let total = hub.store().count_stix()?;
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} stored objects read, {msg} ({eta})",
        )
        .map_err(|e| anyhow!("{e}"))?,
    );
    let tmp = out.with_extension("partial");
    let file = std::fs::File::create(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
    let mut w = std::io::BufWriter::new(file);
    write!(
        w,
        "{{\"type\":\"bundle\",\"id\":\"bundle--{}\",\"objects\":[",
        uuid::Uuid::new_v4()
    )?;
    let mut after = None;
    let mut written = 0u64;
    loop {
        let page = hub
            .taxii_objects(
                viewer,
                &kyojo_hub::stix::Collection::Community,
                kyojo_store::StixScan {
                    after_seq: after,
                    ..Default::default()
                },
                &kyojo_hub::stix::VersionFilter::All,
                1000,
            )
            .map_err(api)?;
        for o in &page.objects {
            if written > 0 {
                w.write_all(b",")?;
            }
            w.write_all(o.row.json.as_bytes())?;
            written += 1;
        }
        bar.set_position(
            page.objects
                .last()
                .map_or(total, |o| o.row.seq as u64)
                .min(total),
        );
        bar.set_message(format!("{written} written"));
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    w.write_all(b"]}")?;
    w.flush()?;
    drop(w);
    std::fs::rename(&tmp, out).with_context(|| format!("writing {}", out.display()))?;
    bar.finish_and_clear();
    eprintln!(
        "wrote {written} STIX objects to {} (of {total} stored: the others are not readable by this viewer, or copies of objects already written)",
        out.display()
    );
    Ok(())
}

fn serve(listen: &str, with_demo: bool, data: &DataArg) -> Result<()> {
    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let hub = Arc::new(open(data)?);
    // Where the data lives (never the connection string: it may hold a password).
    match &hub.config.database_url {
        Some(_) => eprintln!(
            "data: PostgreSQL, schema {} (secret key in {})",
            hub.config.database_schema,
            data.data.display()
        ),
        None => eprintln!("data: SQLite, {}", data.data.join("kyojo.sqlite").display()),
    }
    let tokens = if with_demo {
        let summary = demo::seed(&hub, kyojo_hub::hub::now_millis()).map_err(api)?;
        if summary.seeded {
            eprintln!(
                "seeded demo community: {} organizations, {} reports, {} indicators, {} sighting rows",
                summary.orgs, summary.reports, summary.indicators, summary.sighting_rows
            );
        }
        // Minting revokes every earlier demo token; say so, or a token
        // pasted from an earlier run fails with 401 for no visible reason.
        let earlier = live_demo_tokens(&hub)?;
        let tokens = demo::mint_tokens(&hub).map_err(api)?;
        if earlier > 0 {
            eprintln!(
                "revoked the {earlier} demo token(s) printed at an earlier start; use the new ones below"
            );
        }
        Some(tokens)
    } else {
        None
    };
    if let Some(n) = hub.config.replaced_sectors() {
        tracing::warn!(
            "kyojo.toml lists {n} sector(s) ({}): they replace the {} built-in sectors; list every sector members should choose from",
            hub.config.sector_slugs().join(", "),
            kyojo_core::sector::default_sectors().len()
        );
    }
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

/// Imports one MISP event file, or every event of a MISP feed directory
/// (its `manifest.json` names them). Each event is its own report; one that
/// is refused is reported and the others go on; the exit code is 1 if any
/// was refused.
fn import_misp(
    hub: &Hub,
    viewer: &kyojo_core::Viewer,
    path: &std::path::Path,
    options: &kyojo_hub::misp::MispImportOptions,
) -> Result<i32> {
    let read_json = |p: &std::path::Path| -> Result<serde_json::Value> {
        let text = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
        serde_json::from_slice(&text).with_context(|| format!("{} is not JSON", p.display()))
    };
    let files: Vec<PathBuf> = if path.is_dir() {
        let manifest = read_json(&path.join("manifest.json"))?;
        let ids = manifest
            .as_object()
            .ok_or_else(|| anyhow!("{}: not a MISP feed manifest", path.display()))?;
        ids.keys()
            .map(|id| {
                if uuid::Uuid::parse_str(id).is_err() {
                    bail!("manifest.json: {id:?} is not an event uuid");
                }
                Ok(path.join(format!("{id}.json")))
            })
            .collect::<Result<_>>()?
    } else {
        vec![path.to_path_buf()]
    };
    let (mut created, mut again, mut refused) = (0, 0, 0);
    for f in &files {
        let outcome = read_json(f).and_then(|event| {
            hub.import_misp_event(viewer, &event, options, kyojo_hub::hub::now_millis())
                .map_err(api)
        });
        match outcome {
            Ok(done) => {
                let id = kyojo_server::api::report_id(&done.report);
                println!("{id}");
                let skipped: usize = done.skipped.values().sum();
                if done.created {
                    created += 1;
                    eprintln!(
                        "{}: {} values as report {id} ({skipped} attributes skipped)",
                        f.display(),
                        done.values
                    );
                } else {
                    again += 1;
                    eprintln!("{}: already imported as report {id}", f.display());
                }
            }
            Err(e) => {
                refused += 1;
                eprintln!("{}: refused: {e:#}", f.display());
            }
        }
    }
    eprintln!("{created} imported, {again} imported before, {refused} refused");
    Ok(if refused > 0 { 1 } else { 0 })
}

/// Demo tokens (label [`demo::TOKEN_LABEL`]) not yet revoked.
fn live_demo_tokens(hub: &Hub) -> Result<usize> {
    Ok(hub
        .list_tokens(&operator())?
        .iter()
        .filter(|t| t.revoked_at.is_none() && t.label.as_deref() == Some(demo::TOKEN_LABEL))
        .count())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_colours_only_on_a_terminal_without_no_color() {
        assert!(log_colours(true, None));
        assert!(log_colours(true, Some("".into())));
        assert!(!log_colours(true, Some("1".into())));
        assert!(!log_colours(false, None));
        assert!(!log_colours(false, Some("1".into())));
    }
}
