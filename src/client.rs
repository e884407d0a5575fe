//! The watchers' Kubernetes client: kube's own stack plus one middleware that sees every list
//! and watch request of a table kind or a custom resource. It counts them under KSM's
//! self-metric names (`kube_state_metrics_list_total` / `_watch_total{result,resource="*v1.Pod"}`,
//! custom resources as `*unstructured.Unstructured`, one count per request as KSM's
//! instrumented ListerWatcher counts), and with `--server-side-sharding` adds the shard
//! selector to table kinds' requests and notes whether the server applied it.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::Frame;
use kube::client::{Body, DynBody};
use tower::{BoxError, Layer, Service};

mod bounds;
pub use bounds::timed_out;

use crate::kinds;
use crate::sharding::ShardFilter;
use crate::telemetry::Telemetry;

/// The shard filter every watcher applies; `None` until auto-sharding knows its assignment.
pub type ShardWatch = tokio::sync::watch::Receiver<Option<ShardFilter>>;

/// Builds the watchers' client: kube's stack for `config`, each attempt of a request bounded by
/// `timeout` (`None` = unbounded), kube's retry of throttled answers counted, instrumented.
pub fn watcher_client(
    mut config: kube::Config,
    telemetry: Arc<Telemetry>,
    shard: ShardWatch,
    server_side_sharding: bool,
    timeout: Option<std::time::Duration>,
) -> anyhow::Result<kube::Client> {
    let state = Arc::new(LayerState {
        telemetry,
        shard,
        server_side_sharding,
        kinds: kind_coordinates(),
        echoed: Mutex::new(HashMap::new()),
    });
    // The same retry as kube's default, placed outside the attempt timeout and counted. It
    // resends requests, so the stack below it must be cloneable: kube's is boxed, hence the
    // buffer (a channel hop per request; lists and watches are few).
    config.default_retry = false;
    let builder = kube::client::ClientBuilder::try_from(config)?;
    let retry = tower::retry::RetryLayer::new(bounds::CountedRetry::new(state.clone()));
    let buffer = tower::buffer::BufferLayer::new(REQUEST_QUEUE);
    let list_watch = ListWatchLayer { state };
    Ok(match timeout {
        Some(limit) => builder
            .with_layer(&bounds::AttemptTimeout { limit })
            .with_layer(&buffer)
            .with_layer(&retry)
            .with_layer(&list_watch)
            .build(),
        None => builder
            .with_layer(&buffer)
            .with_layer(&retry)
            .with_layer(&list_watch)
            .build(),
    })
}

/// Requests waiting for the client's connection pool: more than the watchers ever send at once
/// (one list or watch each, plus their retries), so none waits on the queue.
const REQUEST_QUEUE: usize = 1024;

/// Whether a request is a watch (`watch=true`): its body is a stream of events, not a list.
fn is_watch<B>(request: &http::Request<B>) -> bool {
    request
        .uri()
        .query()
        .is_some_and(|q| q.split('&').any(|p| p == "watch=true" || p == "watch=1"))
}

/// (group, version, plural) → (resource, KSM's Go type label) for every table kind.
fn kind_coordinates() -> HashMap<(String, String, String), (&'static str, String)> {
    kinds::table()
        .iter()
        .map(|e| {
            let coordinates = (e.group.to_string(), e.version.to_string(), e.resource.to_string());
            (coordinates, (e.resource, e.go_type()))
        })
        .collect()
}

/// The (group, version, plural) a collection path names (`/api/v1/pods`,
/// `/apis/apps/v1/namespaces/shop/deployments`); `None` for a single object or anything else.
fn collection(path: &str) -> Option<(&str, &str, &str)> {
    let (group, rest) = if let Some(rest) = path.strip_prefix("/api/") {
        ("", rest)
    } else {
        let rest = path.strip_prefix("/apis/")?;
        rest.split_once('/')?
    };
    let (version, rest) = rest.split_once('/')?;
    let segments: Vec<&str> = rest.split('/').collect();
    let plural = match segments.as_slice() {
        [plural] => *plural,
        ["namespaces", _, plural] => *plural,
        _ => return None,
    };
    Some((group, version, plural))
}

/// KSM's Go type label for custom resources, which it reads as unstructured objects. CRD
/// discovery is not counted (KSM's discovery informer is not instrumented either).
const UNSTRUCTURED: &str = "*unstructured.Unstructured";

/// Whether a request is a list or watch of custom resources (any collection outside the table
/// and outside CRD discovery).
fn is_custom_collection(path: &str) -> bool {
    collection(path).is_some_and(|(group, _, _)| !group.is_empty() && group != "apiextensions.k8s.io")
}

struct LayerState {
    telemetry: Arc<Telemetry>,
    shard: ShardWatch,
    server_side_sharding: bool,
    /// (group, version, plural) → (resource, KSM's Go type label).
    kinds: HashMap<(String, String, String), (&'static str, String)>,
    /// Per resource, whether the last sharded list came back with `metadata.shardInfo`.
    echoed: Mutex<HashMap<&'static str, bool>>,
}

impl LayerState {
    /// The kind a request lists or watches, if it is a collection of a table kind.
    fn classify(&self, path: &str) -> Option<(&'static str, &str)> {
        let (group, version, plural) = collection(path)?;
        self.kinds
            .get(&(group.to_string(), version.to_string(), plural.to_string()))
            .map(|(resource, go_type)| (*resource, go_type.as_str()))
    }

    fn record_echo(&self, resource: &'static str, echoed: bool) {
        self.telemetry
            .server_side_sharding
            .with_label_values(&[resource])
            .set(i64::from(echoed));
        let previous = self
            .echoed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(resource, echoed);
        if previous != Some(echoed) {
            if echoed {
                tracing::info!(resource, "API server applies the shard selector (server-side sharding)");
            } else {
                tracing::warn!(
                    resource,
                    "API server ignored the shard selector (no metadata.shardInfo; feature gate \
                     ShardedListAndWatch off?): filtering this shard's objects locally"
                );
            }
        }
    }
}

/// Tower layer of [`watcher_client`].
#[derive(Clone)]
struct ListWatchLayer {
    state: Arc<LayerState>,
}

impl<S> Layer<S> for ListWatchLayer {
    type Service = ListWatchService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        ListWatchService {
            inner,
            state: self.state.clone(),
        }
    }
}

#[derive(Clone)]
struct ListWatchService<S> {
    inner: S,
    state: Arc<LayerState>,
}

type ResponseFuture = Pin<Box<dyn Future<Output = Result<http::Response<Box<DynBody>>, BoxError>> + Send>>;

impl<S> Service<http::Request<Body>> for ListWatchService<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Box<DynBody>>, Error = BoxError>,
    S::Future: Send + 'static,
{
    type Response = http::Response<Box<DynBody>>;
    type Error = BoxError;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        if request.method() != http::Method::GET {
            return Box::pin(self.inner.call(request));
        }
        let path = request.uri().path();
        let classified = self
            .state
            .classify(path)
            .map(|(resource, go_type)| (Some(resource), go_type.to_string()))
            .or_else(|| is_custom_collection(path).then(|| (None, UNSTRUCTURED.to_string())));
        let Some((resource, go_type)) = classified else {
            return Box::pin(self.inner.call(request));
        };
        let is_watch = is_watch(&request);
        let mut selector_sent = false;
        if self.state.server_side_sharding && resource.is_some() {
            let selector = self
                .state
                .shard
                .borrow()
                .as_ref()
                .and_then(ShardFilter::server_selector);
            if let Some(selector) = selector {
                add_query(&mut request, "shardSelector", &selector);
                selector_sent = true;
            }
        }
        let state = self.state.clone();
        let response = self.inner.call(request);
        Box::pin(async move {
            let result = response.await;
            let ok = matches!(&result, Ok(r) if r.status().is_success());
            let counter = if is_watch {
                &state.telemetry.ksm_watch_total
            } else {
                &state.telemetry.ksm_list_total
            };
            counter
                .with_label_values(&[if ok { "success" } else { "error" }, &go_type])
                .inc();
            match result {
                Ok(response)
                    if ok
                        && selector_sent
                        && !is_watch
                        && let Some(resource) = resource =>
                {
                    Ok(response.map(|body| {
                        Box::new(EchoProbe {
                            inner: body,
                            head: Vec::new(),
                            report: Some(Box::new(move |echoed| state.record_echo(resource, echoed))),
                        }) as Box<DynBody>
                    }))
                }
                Ok(response)
                    if ok
                        && is_watch
                        && let Some(resource) = resource =>
                {
                    let telemetry = state.telemetry.clone();
                    Ok(response
                        .map(|body| Box::new(bounds::CountedCut::new(body, resource, telemetry)) as Box<DynBody>))
                }
                other => other,
            }
        })
    }
}

/// Appends `name=value` (percent-encoded) to the request's query.
fn add_query(request: &mut http::Request<Body>, name: &str, value: &str) {
    let uri = request.uri();
    let encoded: String = value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let path_and_query = match uri.query() {
        Some(q) => format!("{}?{q}&{name}={encoded}", uri.path()),
        None => format!("{}?{name}={encoded}", uri.path()),
    };
    let mut parts = uri.clone().into_parts();
    match path_and_query.parse() {
        Ok(pq) => {
            parts.path_and_query = Some(pq);
            if let Ok(new) = http::Uri::from_parts(parts) {
                *request.uri_mut() = new;
            }
        }
        Err(e) => tracing::error!(error = %e, "cannot add the shard selector to a list/watch URL"),
    }
}

/// How much of a list body is searched for `metadata.shardInfo`: the list metadata precedes
/// the items, so it is within the first frames.
const PROBE_LIMIT: usize = 64 * 1024;

/// Passes a list body through unchanged, reporting once whether its metadata carries
/// `shardInfo` (the server applied the selector) before `items` starts.
struct EchoProbe {
    inner: Box<DynBody>,
    head: Vec<u8>,
    report: Option<Box<dyn FnOnce(bool) + Send>>,
}

impl EchoProbe {
    fn decide(&mut self, echoed: bool) {
        if let Some(report) = self.report.take() {
            report(echoed);
        }
        self.head = Vec::new();
    }

    fn scan(&mut self, data: &[u8]) {
        if self.report.is_none() {
            return;
        }
        let room = PROBE_LIMIT.saturating_sub(self.head.len());
        self.head.extend_from_slice(&data[..data.len().min(room)]);
        let head = &self.head;
        let items = find(head, b"\"items\"");
        let shard_info = find(head, b"\"shardInfo\"");
        match (shard_info, items) {
            (Some(s), Some(i)) if s < i => self.decide(true),
            (Some(_), None) => self.decide(true),
            (_, Some(_)) => self.decide(false),
            (None, None) if self.head.len() >= PROBE_LIMIT => self.decide(false),
            _ => {}
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

impl http_body::Body for EchoProbe {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    let data = data.clone();
                    self.scan(&data);
                }
            }
            Poll::Ready(None) => self.decide(false),
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    fn state() -> LayerState {
        let (_tx, rx) = tokio::sync::watch::channel(None);
        LayerState {
            telemetry: Arc::new(Telemetry::new().unwrap()),
            shard: rx,
            server_side_sharding: true,
            kinds: kind_coordinates(),
            echoed: Mutex::new(HashMap::new()),
        }
    }

    #[test]
    fn collections_of_table_kinds_are_classified_with_ksm_type_names() {
        let s = state();
        for (path, expected) in [
            ("/api/v1/pods", Some(("pods", "*v1.Pod"))),
            ("/api/v1/namespaces/default/pods", Some(("pods", "*v1.Pod"))),
            ("/api/v1/namespaces", Some(("namespaces", "*v1.Namespace"))),
            ("/api/v1/namespaces/default", None),
            ("/api/v1/namespaces/default/pods/web-0", None),
            ("/apis/apps/v1/deployments", Some(("deployments", "*v1.Deployment"))),
            (
                "/apis/autoscaling/v2/namespaces/x/horizontalpodautoscalers",
                Some(("horizontalpodautoscalers", "*v2.HorizontalPodAutoscaler")),
            ),
            ("/apis/metrics.k8s.io/v1beta1/pods", None),
            ("/version", None),
        ] {
            assert_eq!(s.classify(path), expected, "{path}");
        }
    }

    #[test]
    fn custom_resource_collections_are_counted_as_ksm_counts_them() {
        for (path, custom) in [
            ("/apis/cert-manager.io/v1/certificates", true),
            ("/apis/cert-manager.io/v1/namespaces/web/certificates", true),
            ("/apis/cert-manager.io/v1/namespaces/web/certificates/tls", false),
            ("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", false),
            ("/api/v1/pods", false),
            ("/version", false),
        ] {
            assert_eq!(is_custom_collection(path), custom, "{path}");
        }
        assert!(state().classify("/apis/cert-manager.io/v1/certificates").is_none());
    }

    #[test]
    fn the_selector_is_percent_encoded_into_the_query() {
        let mut request = http::Request::get("https://k8s:6443/api/v1/pods?limit=500")
            .body(Body::empty())
            .unwrap();
        add_query(
            &mut request,
            "shardSelector",
            "shardRange(object.metadata.uid, '0x0', '0x8')",
        );
        assert_eq!(
            request.uri().to_string(),
            "https://k8s:6443/api/v1/pods?limit=500&shardSelector=shardRange%28object.metadata.uid%2C%20%270x0%27%2C%20%270x8%27%29"
        );
    }

    fn probe(chunks: &[&str]) -> Option<bool> {
        let seen = Arc::new(Mutex::new(None));
        let sink = seen.clone();
        let mut p = EchoProbe {
            inner: Box::new(http_body_util::Empty::<Bytes>::new().map_err(|e| match e {})),
            head: Vec::new(),
            report: Some(Box::new(move |e| *sink.lock().unwrap() = Some(e))),
        };
        for c in chunks {
            p.scan(c.as_bytes());
        }
        p.decide(false);
        *seen.lock().unwrap()
    }

    #[test]
    fn the_echo_is_found_in_the_list_metadata_only() {
        assert_eq!(
            probe(&[
                r#"{"kind":"PodList","metadata":{"resourceVersion":"5","shard"#,
                r#"Info":{"selector":"x"}},"items":[]}"#
            ]),
            Some(true)
        );
        assert_eq!(
            probe(&[
                r#"{"kind":"PodList","metadata":{"resourceVersion":"5"},"items":[{"metadata":{"annotations":{"shardInfo":"1"}}}]}"#
            ]),
            Some(false)
        );
        assert_eq!(probe(&[]), Some(false));
    }
}
