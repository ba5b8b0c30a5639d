//! README.md, run as written.
//!
//! Every ```` ```sh ````, ```` ```bash ```` or ```` ```console ```` block in
//! README.md is preceded by an HTML comment saying what this test does with it:
//!
//! * `<!-- readme-test: run -->`: run it, after the run blocks before it, in
//!   one `bash` with `set -euo pipefail` (so variables such as `$H` or `$ID`
//!   carry over), and every `curl` fails on an HTTP error status
//!   (`--fail-with-body`): each block must finish with status 0.
//! * `<!-- readme-test: skip: REASON -->`: leave it; the reason is required.
//!
//! A ```` ```text ```` block preceded by `<!-- readme-test: output -->` is
//! what the run block before it prints on stdout; `<!-- readme-test: banner -->`
//! marks what `serve --demo` prints. Lines are compared in order, `…` stands
//! for any text within a line, and `http://127.0.0.1:8080` for the hub's
//! address.
//!
//! The blocks run against a fresh `kyojo serve --demo` on a free port, in a
//! temporary directory that holds its `./kyojo-data` (and is `$HOME`), with
//! `kyojo` on `PATH`, `KYOJO` set to its address and `TOKEN` to its admin
//! token. They need `curl` and `jq`; without them the test says so and skips.
//!
//! Every ```` ```toml ```` block, pasted in order, must make one valid `kyojo.toml`.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const README: &str = include_str!("../../../README.md");
/// The address the README's examples and outputs are written for.
const README_BASE: &str = "http://127.0.0.1:8080";

#[derive(Debug, Clone, PartialEq)]
enum Mark {
    None,
    Run,
    Skip(String),
    Output,
    Banner,
    Other(String),
}

#[derive(Debug)]
struct Block {
    /// 1-based line of the opening fence.
    line: usize,
    lang: String,
    mark: Mark,
    text: String,
}

/// The fenced blocks of `readme`, each with the `readme-test` comment on the
/// nearest non-blank line before its fence, if any.
fn blocks(readme: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let lines: Vec<&str> = readme.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let Some(lang) = lines[i].strip_prefix("```") else {
            i += 1;
            continue;
        };
        let mark = lines[..i]
            .iter()
            .rev()
            .find(|l| !l.trim().is_empty())
            .and_then(|l| l.trim().strip_prefix("<!-- readme-test:"))
            .and_then(|l| l.strip_suffix("-->"))
            .map(|m| match m.trim() {
                "run" => Mark::Run,
                "output" => Mark::Output,
                "banner" => Mark::Banner,
                other => match other.strip_prefix("skip:") {
                    Some(reason) => Mark::Skip(reason.trim().to_string()),
                    None => Mark::Other(other.to_string()),
                },
            })
            .unwrap_or(Mark::None);
        let start = i;
        i += 1;
        let mut text = String::new();
        while i < lines.len() && !lines[i].starts_with("```") {
            text.push_str(lines[i]);
            text.push('\n');
            i += 1;
        }
        out.push(Block {
            line: start + 1,
            lang: lang.trim().to_string(),
            mark,
            text,
        });
        i += 1;
    }
    out
}

fn is_shell(lang: &str) -> bool {
    matches!(lang, "sh" | "bash" | "console")
}

/// `actual` against `expected`, line by line: `…` is any text within a line,
/// trailing whitespace (a header's CR) and trailing blank lines are ignored.
fn matches(expected: &str, actual: &str, base: &str) -> bool {
    let expected = expected.replace(README_BASE, base);
    let trim = |t: &str| -> Vec<String> {
        let mut v: Vec<String> = t.lines().map(|l| l.trim_end().to_string()).collect();
        while v.last().is_some_and(|l| l.is_empty()) {
            v.pop();
        }
        v
    };
    let (e, a) = (trim(&expected), trim(actual));
    e.len() == a.len() && e.iter().zip(&a).all(|(e, a)| line_matches(e, a))
}

fn line_matches(pattern: &str, line: &str) -> bool {
    let parts: Vec<&str> = pattern.split('…').collect();
    let (first, rest) = parts.split_first().expect("split yields one part");
    let Some(mut tail) = line.strip_prefix(first) else {
        return false;
    };
    for (n, part) in rest.iter().enumerate() {
        if n + 1 == rest.len() {
            return tail.ends_with(part);
        }
        match tail.find(part) {
            Some(at) => tail = &tail[at + part.len()..],
            None => return false,
        }
    }
    tail.is_empty()
}

#[test]
fn every_shell_block_says_whether_it_runs() {
    let mut problems = Vec::new();
    for b in blocks(README) {
        match (&b.mark, is_shell(&b.lang)) {
            (Mark::Run, true) | (Mark::None, false) => {}
            (Mark::Skip(reason), true) if !reason.is_empty() => {}
            (Mark::Output | Mark::Banner, false) if b.lang == "text" => {}
            (mark, _) => problems.push(format!(
                "README.md line {}: ```{} block marked {mark:?}",
                b.line, b.lang
            )),
        }
    }
    assert!(
        problems.is_empty(),
        "each shell block needs <!-- readme-test: run --> or <!-- readme-test: skip: REASON -->, \
         and output/banner marks go on ```text blocks:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_toml_blocks_pasted_in_order_make_one_valid_kyojo_toml() {
    let text: String = blocks(README)
        .into_iter()
        .filter(|b| b.lang == "toml")
        .map(|b| b.text)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(text.contains("[[sectors]]"), "{text}");
    let config = kyojo_hub::config::Config::from_toml(&text, "README.md's toml blocks")
        .unwrap_or_else(|e| panic!("{e}\n\n{text}"));
    assert_eq!(config.hub_name, "Example ISAC");
    assert_eq!(config.warning_host, "warn.example.net");
    assert_eq!(config.rules.trusted_orgs, ["National CSIRT"]);
    assert_eq!(config.decisions.blocks_per_hour, 200);
    assert_eq!(config.replaced_sectors(), Some(2));
}

/// Whether `tool` runs here.
fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A `serve --demo` that is stopped when dropped.
struct Hub(Child);

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `kyojo serve --demo` in `dir` and returns it with every line it
/// printed up to its last (the `try:` line).
fn serve_demo(dir: &Path) -> (Hub, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kyojo"))
        .current_dir(dir)
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .env("KYOJO_LOG", "warn")
        .env_remove("KYOJO_DATA")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn kyojo serve --demo");
    let out = child.stdout.take().expect("stdout");
    let hub = Hub(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut banner = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !banner
        .last()
        .is_some_and(|l: &String| l.starts_with("try:"))
    {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => banner.push(line),
            Err(e) => panic!("serve --demo never printed its tokens ({e}); printed: {banner:?}"),
        }
    }
    (hub, banner)
}

#[test]
fn the_readme_examples_run_as_written_against_serve_demo() {
    let missing: Vec<&str> = ["bash", "curl", "jq"]
        .into_iter()
        .filter(|t| !have(t))
        .collect();
    if !missing.is_empty() {
        assert!(
            std::env::var_os("KYOJO_REQUIRE_README").is_none(),
            "KYOJO_REQUIRE_README is set but {} is missing",
            missing.join(", ")
        );
        eprintln!(
            "SKIPPED: the README's examples need {} (Debian: apt-get install {})",
            missing.join(", "),
            missing.join(" ")
        );
        return;
    }
    let all = blocks(README);
    let dir = tempfile::tempdir().expect("temp dir");
    let (hub, banner) = serve_demo(dir.path());
    let base = banner[0]
        .strip_prefix("kyojo is ready at ")
        .and_then(|r| r.split(' ').next())
        .map(|u| u.trim_end_matches('/').to_string())
        .unwrap_or_else(|| panic!("no address in {banner:?}"));
    let admin = banner
        .iter()
        .find_map(|l| l.strip_prefix("admin token:"))
        .map(|t| t.trim().to_string())
        .unwrap_or_else(|| panic!("no admin token in {banner:?}"));

    // What serve --demo prints is what the README shows.
    let shown = all
        .iter()
        .find(|b| b.mark == Mark::Banner)
        .expect("the README shows serve --demo's banner");
    assert!(
        matches(&shown.text, &banner.join("\n"), &base),
        "README.md line {}: serve --demo printed\n{}\nbut the README shows\n{}",
        shown.line,
        banner.join("\n"),
        shown.text
    );

    // The run blocks, in order, with a marker line before each so that
    // what each printed (and where it stopped) can be told apart.
    let runs: Vec<(usize, &Block)> = all
        .iter()
        .filter(|b| b.mark == Mark::Run)
        .enumerate()
        .collect();
    assert!(runs.len() >= 8, "only {} run blocks", runs.len());
    let mut script =
        String::from("set -euo pipefail\ncurl() { command curl --fail-with-body \"$@\"; }\n");
    for (n, b) in &runs {
        script.push_str(&format!(
            "printf '\\n@@readme-block {n}\\n'; printf '\\n@@readme-block {n}\\n' >&2\n{}\n",
            b.text
        ));
    }
    script.push_str("printf '\\n@@readme-done\\n'\n");
    let script_path = dir.path().join("readme-examples.sh");
    std::fs::write(&script_path, &script).expect("write the script");

    let bin_dir = Path::new(env!("CARGO_BIN_EXE_kyojo"))
        .parent()
        .expect("the binary's directory");
    let path = std::env::join_paths(std::iter::once(bin_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .expect("PATH");
    let mut child = Command::new("bash")
        .arg(&script_path)
        .current_dir(dir.path())
        .env("PATH", path)
        .env("KYOJO", &base)
        .env("TOKEN", &admin)
        .env("HOME", dir.path())
        .env("XDG_CACHE_HOME", dir.path().join(".cache"))
        .env("KYOJO_LOG", "warn")
        .env_remove("KYOJO_DATA")
        .env_remove("KYOJO_CHECK_CACHE")
        .env_remove("KYOJO_HUB")
        .env_remove("KYOJO_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run bash");
    let read = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            r.read_to_end(&mut v).ok();
            String::from_utf8_lossy(&v).to_string()
        })
    };
    let out = read(Box::new(child.stdout.take().expect("stdout")));
    let err = read(Box::new(child.stderr.take().expect("stderr")));
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for bash") {
            break Some(s);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (out, err) = (
        out.join().expect("stdout reader"),
        err.join().expect("stderr reader"),
    );
    drop(hub);

    // Split what was printed by block.
    let split = |text: &str| -> Vec<String> {
        let mut parts = vec![String::new(); runs.len() + 1];
        let mut at = runs.len();
        for line in text.lines() {
            if let Some(n) = line.strip_prefix("@@readme-block ") {
                at = n.parse().expect("block number");
            } else if line == "@@readme-done" {
                at = runs.len();
            } else {
                parts[at].push_str(line);
                parts[at].push('\n');
            }
        }
        parts
    };
    let (outs, errs) = (split(&out), split(&err));
    let reached = out
        .lines()
        .rev()
        .filter_map(|l| l.strip_prefix("@@readme-block "))
        .find_map(|n| n.parse::<usize>().ok());
    let done = out.lines().any(|l| l == "@@readme-done");
    if !done || status.is_none_or(|s| !s.success()) {
        let n = reached.unwrap_or(0);
        let b = runs[n].1;
        panic!(
            "README.md line {}: the example {} ({status:?})\n--- block\n{}--- stdout\n{}--- stderr\n{}",
            b.line,
            if status.is_none() {
                "did not finish within 120 s"
            } else {
                "failed"
            },
            b.text,
            outs[n],
            errs[n]
        );
    }

    // Where the README shows a block's output, it is what the block printed.
    for (n, b) in &runs {
        let next = all.iter().find(|x| x.line > b.line);
        if let Some(shown) = next.filter(|x| x.mark == Mark::Output) {
            assert!(
                matches(&shown.text, &outs[*n], &base),
                "README.md line {}: the block at line {} printed\n{}\nbut the README shows\n{}",
                shown.line,
                b.line,
                outs[*n],
                shown.text
            );
        }
    }
    // Nothing was left beside the data but what the examples wrote on purpose.
    assert!(
        !dir.path().join(".kyojo-prefixes.json").exists(),
        "kyojo check left its cache in the working directory"
    );
    assert!(dir.path().join(".cache/kyojo/prefixes.json").is_file());
}

#[test]
fn output_lines_match_with_ellipses() {
    assert!(line_matches(
        "kyojo is ready at x (… ms)",
        "kyojo is ready at x (334 ms)"
    ));
    assert!(line_matches(
        "admin token:   kyj_…",
        "admin token:   kyj_ab_cd"
    ));
    assert!(line_matches("a…b…c", "aXXbYYc"));
    assert!(!line_matches("a…b", "aXXc"));
    assert!(!line_matches("abc", "abcd"));
    assert!(matches("x\r\ny\n\n", "x\ny", "http://h"));
    assert!(matches(
        "try http://127.0.0.1:8080/",
        "try http://127.0.0.1:4242/",
        "http://127.0.0.1:4242"
    ));
}
