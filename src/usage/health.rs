//! The health of metrics.k8s.io as the poller sees it, per polled resource: plain state owned
//! by the poller task (no locks), re-rendered into the store after every poll.
//!
//! Logging follows state changes only: the first failure after success (or at start-up) is a
//! warning with its reason, a change of reason while down is logged once, recovery is logged
//! once; repeated identical failures are silent (they are counted).

use std::time::Duration;

use crate::families::Rendered;
use crate::usage::families::{DURATION_BUCKETS, EntryWriter, HEALTH_FAMILIES, Mask, sample};
use crate::usage::poll::{PollError, Reason};

/// The two polled resources.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Polled {
    /// NodeMetrics.
    Nodes,
    /// PodMetrics.
    Pods,
}

impl Polled {
    /// The `resource` label value and URL segment.
    pub fn as_str(self) -> &'static str {
        match self {
            Polled::Nodes => "nodes",
            Polled::Pods => "pods",
        }
    }
}

/// What one good response contained.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResponseStats {
    /// Newest sample timestamp (unix seconds), if any item had one.
    pub newest: Option<f64>,
    /// Oldest sample timestamp.
    pub oldest: Option<f64>,
    /// Objects expected to be reported.
    pub expected: u64,
    /// Expected objects the response contained.
    pub reported: u64,
    /// Items for objects the watches do not know.
    pub unmatched: u64,
    /// Items and values skipped because they did not decode.
    pub decode_errors: u64,
}

/// Health of one polled resource.
#[derive(Clone, Debug)]
pub struct Health {
    resource: Polled,
    /// `Some(true)` after a good poll, `Some(false)` after a failed one, `None` before any.
    up: Option<bool>,
    last_reason: Option<Reason>,
    last_success: Option<f64>,
    polls_success: u64,
    polls_error: u64,
    errors: [u64; Reason::ALL.len()],
    buckets: [u64; DURATION_BUCKETS.len()],
    duration_sum: f64,
    duration_count: u64,
    stats: Option<ResponseStats>,
    newest: Option<f64>,
    oldest: Option<f64>,
}

impl Health {
    /// Nothing polled yet.
    pub fn new(resource: Polled) -> Self {
        Health {
            resource,
            up: None,
            last_reason: None,
            last_success: None,
            polls_success: 0,
            polls_error: 0,
            errors: [0; Reason::ALL.len()],
            buckets: [0; DURATION_BUCKETS.len()],
            duration_sum: 0.0,
            duration_count: 0,
            stats: None,
            newest: None,
            oldest: None,
        }
    }

    /// The polled resource.
    pub fn resource(&self) -> Polled {
        self.resource
    }

    /// Whether the last poll succeeded.
    pub fn is_up(&self) -> bool {
        self.up == Some(true)
    }

    /// Errors counted for a reason.
    pub fn errors(&self, reason: Reason) -> u64 {
        self.errors[reason.index()]
    }

    fn observe(&mut self, duration: Duration) {
        let seconds = duration.as_secs_f64();
        for (bucket, bound) in self.buckets.iter_mut().zip(DURATION_BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
        self.duration_sum += seconds;
        self.duration_count += 1;
    }

    /// Records a good poll at wall time `now` (unix seconds).
    pub fn success(&mut self, duration: Duration, now: f64, stats: ResponseStats) {
        self.observe(duration);
        self.polls_success += 1;
        self.errors[Reason::Decode.index()] += stats.decode_errors;
        if self.up != Some(true) {
            tracing::info!(
                resource = self.resource.as_str(),
                items = stats.reported + stats.unmatched,
                "metrics.k8s.io is answering"
            );
        }
        if stats.decode_errors > 0 {
            tracing::debug!(
                resource = self.resource.as_str(),
                skipped = stats.decode_errors,
                "metrics.k8s.io items or values skipped: could not be decoded"
            );
        }
        self.up = Some(true);
        self.last_reason = None;
        self.last_success = Some(now);
        // An empty response keeps the previous sample times: their age keeps growing.
        if stats.newest.is_some() {
            self.newest = stats.newest;
            self.oldest = stats.oldest;
        }
        self.stats = Some(stats);
    }

    /// Records a failed poll.
    pub fn failure(&mut self, duration: Duration, error: &PollError) {
        self.observe(duration);
        self.polls_error += 1;
        self.errors[error.reason.index()] += 1;
        let changed = self.up != Some(false) || self.last_reason != Some(error.reason);
        if changed {
            tracing::warn!(
                resource = self.resource.as_str(),
                reason = error.reason.as_str(),
                error = %error.message,
                "metrics.k8s.io poll failed; last usage samples kept until --usage-max-age"
            );
        }
        self.up = Some(false);
        self.last_reason = Some(error.reason);
    }

    /// The entry for this resource in the health kind.
    pub fn render(&self, mask: &Mask) -> Rendered {
        let resource = self.resource.as_str();
        let base = [("resource", resource)];
        let mut w = EntryWriter::new(mask);
        let f = &HEALTH_FAMILIES;
        w.family(|out| sample(out, f[0].name, &base, if self.is_up() { 1.0 } else { 0.0 }));
        w.family(|out| {
            if let Some(t) = self.last_success {
                sample(out, f[1].name, &base, t);
            }
        });
        w.family(|out| {
            for (result, n) in [("success", self.polls_success), ("error", self.polls_error)] {
                sample(out, f[2].name, &[("resource", resource), ("result", result)], n as f64);
            }
        });
        w.family(|out| {
            for reason in Reason::ALL {
                let n = self.errors[reason.index()];
                sample(
                    out,
                    f[3].name,
                    &[("resource", resource), ("reason", reason.as_str())],
                    n as f64,
                );
            }
        });
        w.family(|out| {
            let bucket = format!("{}_bucket", f[4].name);
            let mut le = Vec::new();
            for (bound, n) in DURATION_BUCKETS.iter().zip(self.buckets) {
                le.clear();
                crate::exposition::write_float(&mut le, *bound);
                let le = String::from_utf8_lossy(&le);
                sample(out, &bucket, &[("resource", resource), ("le", &le)], n as f64);
            }
            sample(
                out,
                &bucket,
                &[("resource", resource), ("le", "+Inf")],
                self.duration_count as f64,
            );
            sample(out, &format!("{}_sum", f[4].name), &base, self.duration_sum);
            sample(out, &format!("{}_count", f[4].name), &base, self.duration_count as f64);
        });
        w.family(|out| {
            if let Some(t) = self.newest {
                sample(out, f[5].name, &base, t);
            }
        });
        w.family(|out| {
            if let Some(t) = self.oldest {
                sample(out, f[6].name, &base, t);
            }
        });
        let stats = self.stats.as_ref();
        w.family(|out| {
            if let Some(s) = stats {
                sample(out, f[7].name, &base, s.expected as f64);
            }
        });
        w.family(|out| {
            if let Some(s) = stats {
                sample(out, f[8].name, &base, s.reported as f64);
            }
        });
        w.family(|out| {
            if let Some(s) = stats {
                sample(out, f[9].name, &base, s.unmatched as f64);
            }
        });
        w.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::families::tests::{assert_matches_contract, render_text};

    fn stats() -> ResponseStats {
        ResponseStats {
            newest: Some(1_785_837_601.0),
            oldest: Some(1_785_837_590.0),
            expected: 3,
            reported: 2,
            unmatched: 1,
            decode_errors: 2,
        }
    }

    #[test]
    fn counters_histogram_and_gauges() {
        let mut h = Health::new(Polled::Pods);
        let mask = Mask::all(&HEALTH_FAMILIES);
        let text = render_text(&mask.headers(&HEALTH_FAMILIES), &[h.render(&mask)]);
        assert!(text.contains("kube_metrics_api_up{resource=\"pods\"} 0\n"));
        assert!(!text.contains("kube_metrics_api_last_success_timestamp_seconds{"));
        assert!(text.contains("kube_metrics_api_errors_total{resource=\"pods\",reason=\"TLS\"} 0\n"));

        h.success(Duration::from_millis(70), 1_785_837_605.5, stats());
        h.failure(
            Duration::from_secs(3),
            &PollError::new(Reason::ServiceUnavailable, "HTTP 503"),
        );
        h.failure(
            Duration::from_secs(40),
            &PollError::new(Reason::ServiceUnavailable, "HTTP 503"),
        );
        let text = render_text(&mask.headers(&HEALTH_FAMILIES), &[h.render(&mask)]);
        for line in [
            "kube_metrics_api_up{resource=\"pods\"} 0",
            "kube_metrics_api_last_success_timestamp_seconds{resource=\"pods\"} 1.7858376055e+09",
            "kube_metrics_api_polls_total{resource=\"pods\",result=\"success\"} 1",
            "kube_metrics_api_polls_total{resource=\"pods\",result=\"error\"} 2",
            "kube_metrics_api_errors_total{resource=\"pods\",reason=\"ServiceUnavailable\"} 2",
            "kube_metrics_api_errors_total{resource=\"pods\",reason=\"Decode\"} 2",
            "kube_metrics_api_poll_duration_seconds_bucket{resource=\"pods\",le=\"0.05\"} 0",
            "kube_metrics_api_poll_duration_seconds_bucket{resource=\"pods\",le=\"0.1\"} 1",
            "kube_metrics_api_poll_duration_seconds_bucket{resource=\"pods\",le=\"5\"} 2",
            "kube_metrics_api_poll_duration_seconds_bucket{resource=\"pods\",le=\"30\"} 2",
            "kube_metrics_api_poll_duration_seconds_bucket{resource=\"pods\",le=\"+Inf\"} 3",
            "kube_metrics_api_poll_duration_seconds_sum{resource=\"pods\"} 43.07",
            "kube_metrics_api_poll_duration_seconds_count{resource=\"pods\"} 3",
            "kube_metrics_api_newest_sample_timestamp_seconds{resource=\"pods\"} 1.785837601e+09",
            "kube_metrics_api_oldest_sample_timestamp_seconds{resource=\"pods\"} 1.78583759e+09",
            "kube_metrics_api_expected_objects{resource=\"pods\"} 3",
            "kube_metrics_api_reported_objects{resource=\"pods\"} 2",
            "kube_metrics_api_unmatched_objects{resource=\"pods\"} 1",
        ] {
            assert!(text.contains(&format!("{line}\n")), "missing {line} in\n{text}");
        }
    }

    #[test]
    fn an_empty_response_keeps_the_sample_times() {
        let mut h = Health::new(Polled::Nodes);
        h.success(Duration::ZERO, 10.0, stats());
        h.success(Duration::ZERO, 20.0, ResponseStats::default());
        assert_eq!(h.newest, Some(1_785_837_601.0));
        assert_eq!(h.stats.as_ref().unwrap().expected, 0);
    }

    #[test]
    fn health_families_match_the_contract() {
        let mut nodes = Health::new(Polled::Nodes);
        let mut pods = Health::new(Polled::Pods);
        nodes.success(Duration::from_millis(10), 100.0, stats());
        pods.success(Duration::from_millis(10), 100.0, stats());
        let mask = Mask::all(&HEALTH_FAMILIES);
        let text = render_text(
            &mask.headers(&HEALTH_FAMILIES),
            &[nodes.render(&mask), pods.render(&mask)],
        );
        assert_matches_contract("metricsapi.yaml", &HEALTH_FAMILIES, &text);
    }
}
