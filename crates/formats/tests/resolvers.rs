//! The RPZ zones kyojo writes, loaded by a real Unbound and checked by
//! BIND's `named-checkzone`: a zone that only looks right in a unit test
//! protects no one, so these prove the resolver actually blocks.
//!
//! Needs `unbound` (Debian package `unbound`), `dig` (`bind9-dnsutils`) and
//! `named-checkzone` (`bind9-utils`). Without them the tests print how to
//! install them and pass, unless `KYOJO_REQUIRE_RESOLVERS=1`, when they fail.
//!
//! Each test runs its own Unbound in the foreground on a free loopback
//! port, with everything in a temporary directory. The test names live in
//! an `auth-zone` (`example.`) rather than `local-data`, because Unbound
//! answers local data before RPZ is consulted.

use std::fs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use ipnet::IpNet;
use kyojo_core::observable::canonicalize;
use kyojo_core::{Kind, Tlp};
use kyojo_formats::{write_rpz, FeedEntry, RpzAction, RpzOptions, WriteStats};

const INSTALL: &str = "apt-get install -y unbound bind9-dnsutils bind9-utils";

// ------------------------------------------------------------------ tools

/// Look a tool up on PATH and in the sbin directories, where Debian puts
/// `unbound` but a non-root PATH often doesn't reach.
fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

struct Tools {
    unbound: PathBuf,
    dig: PathBuf,
    checkzone: PathBuf,
}

/// The tools, or `None` (after saying why) when the test should skip.
fn tools() -> Option<Tools> {
    let found = (
        find_tool("unbound"),
        find_tool("dig"),
        find_tool("named-checkzone"),
    );
    if let (Some(unbound), Some(dig), Some(checkzone)) = found {
        return Some(Tools {
            unbound,
            dig,
            checkzone,
        });
    }
    let missing: Vec<&str> = [
        ("unbound", found.0.is_none()),
        ("dig", found.1.is_none()),
        ("named-checkzone", found.2.is_none()),
    ]
    .into_iter()
    .filter_map(|(n, m)| m.then_some(n))
    .collect();
    let msg = format!(
        "resolver tests need {} (install with `{INSTALL}`)",
        missing.join(", ")
    );
    if std::env::var("KYOJO_REQUIRE_RESOLVERS").as_deref() == Ok("1") {
        panic!("KYOJO_REQUIRE_RESOLVERS=1 but {msg}");
    }
    eprintln!("SKIPPED: {msg}");
    None
}

// ------------------------------------------------------------------ data

fn entry(kind: Kind, raw: &str) -> FeedEntry {
    let obs = canonicalize(kind, raw).expect("test value canonicalizes");
    FeedEntry {
        kind,
        value: obs.value,
        first_seen: 1_795_338_000_000,
        last_seen: 1_795_338_000_000,
        expires_at: None,
        reason: "test".into(),
        tlp: Tlp::Green,
        sectors: vec![],
        threat: Some("phishing".into()),
    }
}

/// An entry exactly as given, bypassing canonicalization, as a corrupted
/// or hostile database row would be.
fn raw_entry(kind: Kind, value: &str) -> FeedEntry {
    let mut e = entry(Kind::Domain, "placeholder.example");
    e.kind = kind;
    e.value = value.to_owned();
    e
}

fn rpz_opts(serial: u32, action: RpzAction) -> RpzOptions {
    RpzOptions {
        zone: "rpz.kyojo.".into(),
        serial,
        action,
        soa_mname: "localhost.".into(),
        soa_rname: "hostmaster.localhost.".into(),
        ttl: 60,
    }
}

fn write_zone(path: &Path, entries: &[FeedEntry], opts: &RpzOptions) -> WriteStats {
    let mut out = Vec::new();
    let stats = write_rpz(&mut out, entries, opts).expect("write_rpz");
    fs::write(path, out).expect("write zone file");
    stats
}

/// The authoritative test data the resolver resolves through.
const EXAMPLE_ZONE: &str = "\
$ORIGIN example.
$TTL 60
@ IN SOA ns.example. hostmaster.example. ( 1 3600 600 86400 60 )
@ IN NS ns.example.
ns IN A 127.0.0.1
evil IN A 192.0.2.10
www.evil IN A 192.0.2.11
a.b.evil IN A 192.0.2.12
good IN A 192.0.2.20
www.good IN A 192.0.2.21
warn IN A 192.0.2.99
ipbad IN A 45.33.32.156
ipnear IN A 45.33.32.157
ipbad6 IN AAAA 2001:db8:bad::1
ipnear6 IN AAAA 2001:db8:bae::1
";

// ------------------------------------------------------------------ unbound

/// A running Unbound; killed (and reaped) on drop so no test leaves one behind.
struct Unbound {
    child: Child,
    port: u16,
    dir: PathBuf,
    dig: PathBuf,
}

impl Drop for Unbound {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port free for both UDP and TCP right now.
fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        let port = udp.local_addr().expect("addr").port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

fn unbound_conf(dir: &Path, port: u16, verbosity: u8) -> String {
    let d = dir.display();
    format!(
        "server:
  verbosity: {verbosity}
  chroot: \"\"
  username: \"\"
  directory: \"{d}\"
  pidfile: \"\"
  use-syslog: no
  logfile: \"{d}/unbound.log\"
  log-time-ascii: yes
  num-threads: 1
  do-ip6: no
  so-reuseport: no
  module-config: \"respip iterator\"
  interface: 127.0.0.1
  port: {port}
  access-control: 127.0.0.0/8 allow
  do-not-query-localhost: no
auth-zone:
  name: \"example.\"
  zonefile: \"{d}/example.zone\"
  for-downstream: no
  for-upstream: yes
  fallback-enabled: no
rpz:
  name: \"rpz.kyojo.\"
  zonefile: \"{d}/rpz.zone\"
  rpz-log: yes
"
    )
}

impl Unbound {
    /// Start Unbound over `dir` (which holds `rpz.zone` and whose
    /// `example.zone` is written here) and wait until it answers.
    fn start(tools: &Tools, dir: &Path, extra_example: &str, verbosity: u8) -> Unbound {
        fs::write(
            dir.join("example.zone"),
            format!("{EXAMPLE_ZONE}{extra_example}"),
        )
        .expect("write example zone");
        // A port can be taken between probing and binding; try a few.
        for _ in 0..5 {
            let port = free_port();
            let conf = dir.join("unbound.conf");
            fs::write(&conf, unbound_conf(dir, port, verbosity)).expect("write conf");
            let stderr = fs::File::create(dir.join("unbound.stderr")).expect("stderr file");
            let child = Command::new(&tools.unbound)
                .arg("-d")
                .arg("-c")
                .arg(&conf)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(stderr)
                .spawn()
                .expect("spawn unbound");
            let mut ub = Unbound {
                child,
                port,
                dir: dir.to_owned(),
                dig: tools.dig.clone(),
            };
            if ub.wait_until(Duration::from_secs(5), |ub| {
                ub.query("good.example", "A").status == "NOERROR"
            }) {
                return ub;
            }
            eprintln!("unbound did not come up on port {port}:\n{}", ub.logs());
        }
        panic!("unbound never answered");
    }

    /// Poll `ready` until it holds, the process died, or `limit` passed.
    fn wait_until(&mut self, limit: Duration, ready: impl Fn(&Unbound) -> bool) -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return false;
            }
            if ready(self) {
                return true;
            }
            sleep(Duration::from_millis(50));
        }
        false
    }

    /// Make Unbound re-read its configuration and zone files, as an
    /// operator does after a feed refresh (`unbound-control reload` does the
    /// same; SIGHUP needs no control socket).
    fn reload(&self) {
        let ok = Command::new("kill")
            .arg("-HUP")
            .arg(self.child.id().to_string())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "could not send SIGHUP to unbound");
    }

    fn query(&self, name: &str, qtype: &str) -> Answer {
        let out = Command::new(&self.dig)
            .arg("@127.0.0.1")
            .arg("-p")
            .arg(self.port.to_string())
            .args(["+noall", "+comments", "+answer", "+tries=1", "+time=2"])
            .arg(name)
            .arg(qtype)
            .output()
            .expect("run dig");
        Answer::parse(&String::from_utf8_lossy(&out.stdout))
    }

    fn logs(&self) -> String {
        let read = |f: &str| fs::read_to_string(self.dir.join(f)).unwrap_or_default();
        format!("{}{}", read("unbound.stderr"), read("unbound.log"))
    }

    /// Assert the answer status (with Unbound's log on failure).
    fn expect(&self, name: &str, qtype: &str, status: &str) -> Answer {
        let answer = self.query(name, qtype);
        assert_eq!(
            answer.status,
            status,
            "{name} {qtype}: got {answer:?}\n--- unbound log:\n{}",
            self.logs()
        );
        answer
    }
}

/// What dig printed: the response status and the answer records.
#[derive(Debug)]
struct Answer {
    status: String,
    /// (owner, type, rdata)
    records: Vec<(String, String, String)>,
}

impl Answer {
    fn parse(text: &str) -> Answer {
        let status = text
            .split("status: ")
            .nth(1)
            .and_then(|s| s.split(',').next())
            .unwrap_or("")
            .to_owned();
        let records = text
            .lines()
            .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f.len() >= 5).then(|| (f[0].to_owned(), f[3].to_owned(), f[4..].join(" ")))
            })
            .collect();
        Answer { status, records }
    }

    fn has(&self, owner: &str, rtype: &str, rdata: &str) -> bool {
        self.records
            .iter()
            .any(|(o, t, d)| o == owner && t == rtype && d == rdata)
    }
}

// ------------------------------------------------------------------ tests

/// (1) a listed domain and its subdomains get NXDOMAIN, (3) unlisted names
/// and URL-only hosts still resolve, (4) rpz-ip triggers block answers
/// that point into listed IPv4 and IPv6 networks, and only those.
#[test]
fn unbound_blocks_listed_domains_subdomains_and_addresses() {
    let Some(tools) = tools() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let entries = [
        entry(Kind::Domain, "Evil[.]example"),
        entry(Kind::Url, "http://good.example/phish/login"),
        entry(Kind::Ipv4, "45.33.32.156"),
        entry(Kind::Ipv6, "2001:db8:bad::/48"),
        raw_entry(Kind::Domain, "good.example\n$INCLUDE /etc/passwd"),
        raw_entry(Kind::Domain, "good.example."),
    ];
    let stats = write_zone(
        &dir.path().join("rpz.zone"),
        &entries,
        &rpz_opts(1, RpzAction::Nxdomain),
    );
    assert_eq!(
        stats,
        WriteStats {
            written: 3,
            skipped: 2
        }
    );
    let ub = Unbound::start(&tools, dir.path(), "", 1);

    // Every one of these names exists in the auth-zone, so NXDOMAIN can only
    // come from the policy.
    ub.expect("evil.example", "A", "NXDOMAIN");
    ub.expect("www.evil.example", "A", "NXDOMAIN");
    ub.expect("a.b.evil.example", "A", "NXDOMAIN");
    ub.expect("evil.example", "AAAA", "NXDOMAIN");

    let good = ub.expect("good.example", "A", "NOERROR");
    assert!(good.has("good.example.", "A", "192.0.2.20"), "{good:?}");
    let www = ub.expect("www.good.example", "A", "NOERROR");
    assert!(www.has("www.good.example.", "A", "192.0.2.21"), "{www:?}");

    ub.expect("ipbad.example", "A", "NXDOMAIN");
    let near = ub.expect("ipnear.example", "A", "NOERROR");
    assert!(near.has("ipnear.example.", "A", "45.33.32.157"), "{near:?}");
    ub.expect("ipbad6.example", "AAAA", "NXDOMAIN");
    let near6 = ub.expect("ipnear6.example", "AAAA", "NOERROR");
    assert!(
        near6.has("ipnear6.example.", "AAAA", "2001:db8:bae::1"),
        "{near6:?}"
    );

    // The blocks were RPZ's doing, by the triggers we wrote.
    let log = ub.logs();
    for applied in [
        "rpz: applied evil.example. rpz-nxdomain",
        "rpz: applied *.evil.example. rpz-nxdomain",
        "rpz: applied 45.33.32.156/32 rpz-nxdomain",
        "rpz: applied 2001:db8:bad::/48 rpz-nxdomain",
    ] {
        assert!(log.contains(applied), "no {applied:?} in log:\n{log}");
    }
}

/// (2) with the walled-garden action a listed name (and its subdomains)
/// answers a CNAME to the warning host, which then resolves.
#[test]
fn unbound_walled_garden_points_to_the_warning_host() {
    let Some(tools) = tools() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let entries = [
        entry(Kind::Domain, "evil.example"),
        entry(Kind::Ipv4, "45.33.32.156/32"),
    ];
    write_zone(
        &dir.path().join("rpz.zone"),
        &entries,
        &rpz_opts(1, RpzAction::WalledGarden("warn.example".into())),
    );
    let ub = Unbound::start(&tools, dir.path(), "", 1);

    for name in ["evil.example", "www.evil.example"] {
        let a = ub.expect(name, "A", "NOERROR");
        assert!(
            a.has(&format!("{name}."), "CNAME", "warn.example."),
            "{name}: {a:?}"
        );
        assert!(a.has("warn.example.", "A", "192.0.2.99"), "{name}: {a:?}");
        assert!(!a.records.iter().any(|r| r.2.starts_with("192.0.2.1")));
    }
    // An rpz-ip hit is rewritten to the CNAME too (Unbound doesn't chase
    // a CNAME from a response-ip rewrite, so only the CNAME is checked).
    let ip = ub.expect("ipbad.example", "A", "NOERROR");
    assert!(ip.has("ipbad.example.", "CNAME", "warn.example."), "{ip:?}");
    assert!(!ip.has("ipbad.example.", "A", "45.33.32.156"), "{ip:?}");

    let good = ub.expect("good.example", "A", "NOERROR");
    assert!(good.has("good.example.", "A", "192.0.2.20"), "{good:?}");
}

/// (5) once an entry leaves the feed (new zone, higher serial) and Unbound
/// reloads, the name and the address resolve again.
#[test]
fn unbound_unblocks_after_removal_and_reload() {
    let Some(tools) = tools() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let zone = dir.path().join("rpz.zone");
    let listed = [
        entry(Kind::Domain, "evil.example"),
        entry(Kind::Ipv4, "45.33.32.156"),
        entry(Kind::Domain, "www.good.example"),
    ];
    write_zone(&zone, &listed, &rpz_opts(1, RpzAction::Nxdomain));
    let mut ub = Unbound::start(&tools, dir.path(), "", 1);
    ub.expect("evil.example", "A", "NXDOMAIN");
    ub.expect("ipbad.example", "A", "NXDOMAIN");
    ub.expect("www.good.example", "A", "NXDOMAIN");

    // evil.example and the address are delisted; www.good.example stays.
    write_zone(&zone, &listed[2..], &rpz_opts(2, RpzAction::Nxdomain));
    assert!(fs::read_to_string(&zone)
        .expect("zone")
        .contains("( 2 3600"));
    ub.reload();
    let back = ub.wait_until(Duration::from_secs(10), |ub| {
        ub.query("evil.example", "A").status == "NOERROR"
    });
    assert!(
        back,
        "evil.example still blocked after reload:\n{}",
        ub.logs()
    );
    let evil = ub.expect("evil.example", "A", "NOERROR");
    assert!(evil.has("evil.example.", "A", "192.0.2.10"), "{evil:?}");
    ub.expect("www.evil.example", "A", "NOERROR");
    let ip = ub.expect("ipbad.example", "A", "NOERROR");
    assert!(ip.has("ipbad.example.", "A", "45.33.32.156"), "{ip:?}");
    ub.expect("www.good.example", "A", "NXDOMAIN");
}

/// Deterministic xorshift, so a failure reproduces without a seed file.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

fn random_label(rng: &mut Rng) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789-_";
    let len = 1 + rng.below(20) as usize;
    let mut s: String = (0..len)
        .map(|_| CHARS[rng.below(CHARS.len() as u64) as usize] as char)
        .collect();
    // Canonical labels neither start nor end with '-'.
    if s.starts_with('-') {
        s.replace_range(0..1, "a");
    }
    if s.ends_with('-') {
        s.pop();
        s.push('z');
    }
    s
}

fn random_domain(rng: &mut Rng, tld: &str) -> String {
    let labels = 1 + rng.below(4);
    let mut d: Vec<String> = (0..labels).map(|_| random_label(rng)).collect();
    d.push(tld.to_owned());
    d.join(".")
}

fn random_v4(rng: &mut Rng) -> IpNet {
    let addr = Ipv4Addr::from(rng.next() as u32);
    let prefix = 8 + rng.below(25) as u8;
    IpNet::new(IpAddr::V4(addr), prefix)
        .expect("prefix")
        .trunc()
}

fn random_v6(rng: &mut Rng) -> IpNet {
    // Runs of zero words, so the zz compression is exercised.
    let mut words = [0u16; 8];
    for w in &mut words {
        if rng.below(3) != 0 {
            *w = rng.next() as u16;
        }
    }
    words[0] |= 0x2000;
    let prefix = 16 + rng.below(113) as u8;
    IpNet::new(IpAddr::V6(Ipv6Addr::from(words)), prefix)
        .expect("prefix")
        .trunc()
}

/// An address inside `net`: its network address with random host bits.
fn inside(rng: &mut Rng, net: IpNet) -> IpAddr {
    match net {
        IpNet::V4(n) => {
            let host = u32::from(n.hostmask()) & rng.next() as u32;
            IpAddr::V4(Ipv4Addr::from(u32::from(n.network()) | host))
        }
        IpNet::V6(n) => {
            let host =
                u128::from(n.hostmask()) & (u128::from(rng.next()) << 64 | u128::from(rng.next()));
            IpAddr::V6(Ipv6Addr::from(u128::from(n.network()) | host))
        }
    }
}

/// (6) large random zones, with hostile values mixed in, pass
/// `named-checkzone` under both actions, and Unbound loading one blocks a
/// sample of its domains and every sampled network while leaving addresses
/// outside them alone.
#[test]
fn random_zones_pass_named_checkzone_and_work_in_unbound() {
    let Some(tools) = tools() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rng = Rng(0x6b79_6f6a_6f21_2026);
    let tlds = ["example", "com", "co.jp", "xn--p1ai", "io", "test"];

    let mut entries = Vec::new();
    let mut nets = Vec::new();
    for i in 0..600 {
        let e = match i % 3 {
            0 | 1 => {
                let tld = rng.pick(&tlds);
                entry(Kind::Domain, &random_domain(&mut rng, tld))
            }
            _ if rng.below(2) == 0 => {
                let net = random_v4(&mut rng);
                nets.push(net);
                entry(Kind::Ipv4, &net.to_string())
            }
            _ => {
                let net = random_v6(&mut rng);
                nets.push(net);
                entry(Kind::Ipv6, &net.to_string())
            }
        };
        entries.push(e);
    }
    for hostile in [
        "x.example\n$INCLUDE /etc/passwd",
        "$ORIGIN attacker.example.",
        "x.example. CNAME rpz-passthru.",
        "x.example; comment",
        "x.example (",
        "*.x.example",
        "24.0.2.0.192.rpz-ip",
    ] {
        entries.push(raw_entry(Kind::Domain, hostile));
    }
    entries.push(raw_entry(Kind::Ipv4, "192.0.2.0/24\n$INCLUDE x"));
    entries.push(raw_entry(Kind::Ipv6, "2001:db8::/0"));

    for (serial, action) in [
        (1, RpzAction::Nxdomain),
        (2, RpzAction::WalledGarden("warn.kyojo.example".into())),
    ] {
        let file = dir.path().join(format!("checkzone-{serial}.zone"));
        let stats = write_zone(&file, &entries, &rpz_opts(serial, action));
        assert_eq!(stats.skipped, 9, "{stats:?}");
        assert!(stats.written > 550, "{stats:?}");
        let out = Command::new(&tools.checkzone)
            .args(["-k", "fail", "rpz.kyojo"])
            .arg(&file)
            .output()
            .expect("run named-checkzone");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "named-checkzone failed:\n{text}");
        assert!(text.contains(&format!("loaded serial {serial}")), "{text}");
    }

    // Sample: names under example. that the auth-zone serves (with and
    // without a subdomain), and addresses inside listed networks.
    let mut extra = String::new();
    let mut blocked = Vec::new();
    let listed_example: Vec<String> = entries
        .iter()
        .filter(|e| e.kind == Kind::Domain && e.value.ends_with(".example"))
        .map(|e| e.value.clone())
        .take(15)
        .collect();
    assert!(listed_example.len() >= 10);
    for (i, d) in listed_example.iter().enumerate() {
        extra.push_str(&format!("{d}. IN A 192.0.2.{}\n", 100 + i));
        extra.push_str(&format!("sub.{d}. IN A 192.0.2.{}\n", 100 + i));
        blocked.push((d.clone(), "A"));
        blocked.push((format!("sub.{d}"), "A"));
    }
    for (i, net) in nets.iter().step_by(7).enumerate() {
        let addr = inside(&mut rng, *net);
        let (rtype, qtype) = match addr {
            IpAddr::V4(_) => ("A", "A"),
            IpAddr::V6(_) => ("AAAA", "AAAA"),
        };
        extra.push_str(&format!("net{i}.example. IN {rtype} {addr}\n"));
        blocked.push((format!("net{i}.example"), qtype));
    }
    // Controls: addresses no listed network covers.
    let mut controls = Vec::new();
    while controls.len() < 6 {
        let addr = if controls.len() % 2 == 0 {
            IpAddr::V4(Ipv4Addr::from(rng.next() as u32))
        } else {
            IpAddr::V6(Ipv6Addr::from(
                u128::from(rng.next()) << 64 | u128::from(rng.next()),
            ))
        };
        if !nets.iter().any(|n| n.contains(&addr)) {
            controls.push(addr);
        }
    }
    for (i, addr) in controls.iter().enumerate() {
        let rtype = if addr.is_ipv4() { "A" } else { "AAAA" };
        extra.push_str(&format!("ctl{i}.example. IN {rtype} {addr}\n"));
    }

    write_zone(
        &dir.path().join("rpz.zone"),
        &entries,
        &rpz_opts(3, RpzAction::Nxdomain),
    );
    let ub = Unbound::start(&tools, dir.path(), &extra, 1);
    for (name, qtype) in &blocked {
        ub.expect(name, qtype, "NXDOMAIN");
    }
    for (i, addr) in controls.iter().enumerate() {
        let qtype = if addr.is_ipv4() { "A" } else { "AAAA" };
        let a = ub.expect(&format!("ctl{i}.example"), qtype, "NOERROR");
        assert!(
            a.records.iter().any(|r| r.2 == addr.to_string()),
            "ctl{i}: {a:?}"
        );
    }
}
