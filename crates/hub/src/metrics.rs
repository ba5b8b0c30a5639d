//! Prometheus text exposition, by hand: a few counters and gauges need no framework.
//!
//! Labels are route templates, methods and status codes only: never a value
//! looked up, never an organization (anonymity extends to metrics).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

#[derive(Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.add(1);
    }
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    request_seconds: Mutex<BTreeMap<String, (u64, f64)>>,
    pub reports_created: Counter,
    pub sightings_accepted: Counter,
    pub lookup_values: Counter,
    pub rate_limited: Counter,
    pub auth_failures: Counter,
    pub connections_refused: Counter,
    /// Refusals held back because their address floods bad tokens.
    pub tarpitted: Counter,
    index_size: AtomicU64,
    rate_limit_entries: AtomicU64,
}

impl Metrics {
    pub fn record_request(&self, route: &str, method: &str, status: u16, seconds: f64) {
        *self
            .requests
            .lock()
            .entry((route.to_string(), method.to_string(), status))
            .or_insert(0) += 1;
        let mut lat = self.request_seconds.lock();
        let e = lat.entry(route.to_string()).or_insert((0, 0.0));
        e.0 += 1;
        e.1 += seconds;
    }

    /// Entries in the rate limiter's (bounded) maps.
    pub fn set_rate_limit_entries(&self, n: usize) {
        self.rate_limit_entries.store(n as u64, Ordering::Relaxed);
    }

    pub fn rate_limit_entries(&self) -> u64 {
        self.rate_limit_entries.load(Ordering::Relaxed)
    }

    pub fn set_index_size(&self, n: usize) {
        self.index_size.store(n as u64, Ordering::Relaxed);
    }

    /// Renders every metric; `extra` gauges come from the caller (store counts).
    pub fn render(&self, extra: &[(&str, &str, u64)]) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP kyojo_http_requests_total HTTP requests by route template, method and status."
        );
        let _ = writeln!(out, "# TYPE kyojo_http_requests_total counter");
        for ((route, method, status), n) in self.requests.lock().iter() {
            let _ = writeln!(
                out,
                "kyojo_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{}\"}} {}",
                escape(route),
                escape(method),
                status,
                n
            );
        }
        let _ = writeln!(
            out,
            "# HELP kyojo_http_request_duration_seconds Time spent answering, by route template."
        );
        let _ = writeln!(out, "# TYPE kyojo_http_request_duration_seconds summary");
        for (route, (count, sum)) in self.request_seconds.lock().iter() {
            let r = escape(route);
            let _ = writeln!(
                out,
                "kyojo_http_request_duration_seconds_sum{{route=\"{r}\"}} {sum}"
            );
            let _ = writeln!(
                out,
                "kyojo_http_request_duration_seconds_count{{route=\"{r}\"}} {count}"
            );
        }
        let counters = [
            (
                "kyojo_reports_created_total",
                "Reports shared since start.",
                self.reports_created.get(),
            ),
            (
                "kyojo_sightings_accepted_total",
                "Sightings accepted since start.",
                self.sightings_accepted.get(),
            ),
            (
                "kyojo_lookup_values_total",
                "Values looked up since start.",
                self.lookup_values.get(),
            ),
            (
                "kyojo_rate_limited_total",
                "Requests refused with 429 since start.",
                self.rate_limited.get(),
            ),
            (
                "kyojo_auth_failures_total",
                "Presented tokens that did not verify, since start.",
                self.auth_failures.get(),
            ),
            (
                "kyojo_tarpitted_total",
                "Refusals of bad tokens held back a second because their address floods them, since start.",
                self.tarpitted.get(),
            ),
            (
                "kyojo_connections_refused_total",
                "Connections refused at once (too many in all or from one client) since start.",
                self.connections_refused.get(),
            ),
        ];
        for (name, help, v) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP kyojo_index_indicators Indicators in the in-memory lookup index.\n# TYPE kyojo_index_indicators gauge\nkyojo_index_indicators {}",
            self.index_size.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP kyojo_rate_limit_entries Entries in the rate limiter's bounded maps.\n# TYPE kyojo_rate_limit_entries gauge\nkyojo_rate_limit_entries {}",
            self.rate_limit_entries()
        );
        for (name, help, v) in extra {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        }
        out
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::default();
        m.record_request("/api/v1/reports", "POST", 201, 0.01);
        m.record_request("/api/v1/reports", "POST", 201, 0.03);
        m.lookup_values.add(5);
        let text = m.render(&[("kyojo_reports", "Reports stored.", 7)]);
        assert!(text.contains(
            "kyojo_http_requests_total{route=\"/api/v1/reports\",method=\"POST\",status=\"201\"} 2"
        ));
        assert!(text.contains("kyojo_lookup_values_total 5"));
        assert!(text.contains("kyojo_reports 7"));
        assert!(
            text.contains("kyojo_http_request_duration_seconds_count{route=\"/api/v1/reports\"} 2")
        );
    }
}
