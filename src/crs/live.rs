//! Custom resources at run time: one task watches the CRDs and the config file and keeps the
//! store's custom resource kinds in step with both, touching only what changed.
//!
//! - A configured custom resource is a kind of the store while a CRD serves it: a CRD that
//!   appears (and is `Established`) starts it, one that goes removes it with its series. A
//!   configured built-in kind (CRS on `apps/v1` Deployments) needs no CRD. The built-in kinds'
//!   own watchers are never touched.
//! - The config file is re-read every [`RELOAD_CHECK`]; a new config is validated, then
//!   applied as a diff: kinds added, removed, or re-rendered. A re-rendered kind keeps serving
//!   its old series until its new watcher has listed, then is swapped in whole. An invalid file
//!   is logged and counted, and the config before it keeps serving.
//! - CRD discovery itself stands in the store as the kind [`DISCOVERY`], without families: it
//!   is synced once the CRDs are listed, so `/readyz` waits for discovery and shows its errors
//!   (a ClusterRole without `customresourcedefinitions` is a 403 there).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client};
use md5::{Digest, Md5};
use tokio::task::JoinSet;

use super::config::Resource;
use super::discovery::{Crd, Resolved, ServedKind, resolve};
use super::kind::{CrHandle, CrKind};
use crate::families::FamilyFilter;
use crate::kinds::KindHandle;
use crate::store::{KindStore, Store};
use crate::telemetry::Telemetry;
use crate::watch::{ErrorClass, ErrorRound, WatchSettings};

/// The store name CRD discovery is known by on `/readyz` and in telemetry.
pub const DISCOVERY: &str = "customresourcedefinitions";

/// How often the config file is checked for changes.
pub const RELOAD_CHECK: Duration = Duration::from_secs(1);

/// The `type` label of KSM's config reload gauges for this file.
const CONFIG_TYPE: &str = "customresourceconfig";

/// The kind standing for CRD discovery: add it to the store before [`run`] starts, so readiness
/// waits for the first CRD list.
pub fn discovery_kind() -> KindStore {
    KindStore::new(DISCOVERY, Vec::new(), &[])
}

/// What the custom resource kinds are built and watched with.
pub struct Live {
    /// The watchers' client.
    pub client: Client,
    /// The store the kinds live in.
    pub store: Arc<Store>,
    /// Watch settings shared with the built-in kinds.
    pub settings: WatchSettings,
    /// The exporter's own metrics.
    pub telemetry: Arc<Telemetry>,
    /// `--namespaces` (namespaced kinds get one scope each).
    pub namespaces: Vec<String>,
    /// `--metric-allowlist` / `--metric-denylist`.
    pub filter: FamilyFilter,
}

/// A kind being served, or being built to replace one.
struct Running {
    resolved: Resolved,
    kind: Arc<KindStore>,
    /// Its watchers; dropping the set aborts them.
    _tasks: JoinSet<()>,
}

/// Watches CRDs (and the config file, when there is one) until the task is aborted.
pub async fn run(live: Live, resources: Vec<Resource>, file: Option<PathBuf>) {
    let Some(discovery) = live.store.kind(DISCOVERY) else {
        tracing::error!("no discovery kind in the store; custom resources are not watched");
        return;
    };
    let mut controller = Controller {
        live,
        resources,
        crds: BTreeMap::new(),
        running: BTreeMap::new(),
        pending: BTreeMap::new(),
    };
    let mut file = file.map(|path| ConfigFile::loaded(path, &controller.live.telemetry));
    let api: Api<Crd> = Api::all(controller.live.client.clone());
    let mut events = watcher::watcher(api, watcher::Config::default())
        .default_backoff()
        .boxed();
    let mut listing: Option<BTreeMap<String, Vec<ServedKind>>> = None;
    let mut errors = ErrorRound::default();
    let mut tick = tokio::time::interval(RELOAD_CHECK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            event = events.next() => {
                let Some(event) = event else { break };
                errors.observe(&event, DISCOVERY, "");
                let changed = match event {
                    Ok(Event::Init) => {
                        listing = Some(BTreeMap::new());
                        false
                    }
                    Ok(Event::InitApply(crd)) => {
                        listing.get_or_insert_with(BTreeMap::new).insert(crd.name().to_string(), crd.served());
                        false
                    }
                    Ok(Event::InitDone) => {
                        controller.relisted(listing.take().unwrap_or_default());
                        if let Some(scope) = discovery.scopes().first() {
                            scope.commit_relist(scope.begin_relist());
                        }
                        true
                    }
                    Ok(Event::Apply(crd)) => controller.applied(&crd),
                    Ok(Event::Delete(crd)) => controller.deleted(&crd),
                    Err(error) => {
                        let message = crate::watch::error_message(&error);
                        controller
                            .live
                            .telemetry
                            .watch_errors
                            .with_label_values(&[DISCOVERY, ErrorClass::reason(&error)])
                            .inc();
                        errors.report(ErrorClass::of(&error), &message, DISCOVERY, "");
                        if let Some(scope) = discovery.scopes().first().filter(|s| !s.is_synced()) {
                            scope.set_error(Some(message));
                        }
                        false
                    }
                };
                if changed && discovery.is_synced() {
                    controller.reconcile();
                }
            }
            _ = tick.tick() => {
                if let Some(next) = file.as_mut().and_then(|f| f.check(&controller.live.telemetry)) {
                    controller.resources = next;
                    if discovery.is_synced() {
                        controller.reconcile();
                    }
                }
                controller.promote();
            }
        }
    }
}

struct Controller {
    live: Live,
    resources: Vec<Resource>,
    /// What each CRD serves, by CRD name.
    crds: BTreeMap<String, Vec<ServedKind>>,
    running: BTreeMap<String, Running>,
    /// Replacements of running kinds, swapped in once listed.
    pending: BTreeMap<String, Running>,
}

impl Controller {
    fn crd_gauge(&self) {
        self.live.telemetry.crs.crds_known.set(self.crds.len() as i64);
    }

    /// A full CRD list: CRDs not seen before count as added, those gone as deleted.
    fn relisted(&mut self, listed: BTreeMap<String, Vec<ServedKind>>) {
        let crs = &self.live.telemetry.crs;
        for name in listed.keys().filter(|n| !self.crds.contains_key(*n)) {
            tracing::debug!(crd = name, "CRD listed");
            crs.crd_added.inc();
        }
        for _ in self.crds.keys().filter(|n| !listed.contains_key(*n)) {
            crs.crd_deleted.inc();
        }
        self.crds = listed;
        self.crd_gauge();
    }

    /// A CRD created or changed; true when what it serves changed.
    fn applied(&mut self, crd: &Crd) -> bool {
        let served = crd.served();
        let crs = &self.live.telemetry.crs;
        let before = self.crds.insert(crd.name().to_string(), served.clone());
        match &before {
            None => crs.crd_added.inc(),
            Some(_) => crs.crd_updated.inc(),
        }
        self.crd_gauge();
        before.as_ref() != Some(&served)
    }

    /// A CRD deleted; true when it served anything.
    fn deleted(&mut self, crd: &Crd) -> bool {
        self.live.telemetry.crs.crd_deleted.inc();
        let before = self.crds.remove(crd.name());
        self.crd_gauge();
        before.is_some_and(|s| !s.is_empty())
    }

    /// Brings the store's custom resource kinds in step with the config and the CRDs.
    fn reconcile(&mut self) {
        let mut served = super::discovery::built_in();
        served.extend(self.crds.values().flatten().cloned());
        let desired: BTreeMap<String, Resolved> = resolve(&self.resources, &served)
            .into_iter()
            .map(|r| (r.name.clone(), r))
            .collect();
        let gone: Vec<String> = self
            .running
            .keys()
            .filter(|n| !desired.contains_key(*n))
            .cloned()
            .collect();
        for name in gone {
            self.running.remove(&name);
            self.pending.remove(&name);
            self.live.store.remove_kind(&name);
            tracing::info!(
                resource = name,
                "custom resource no longer served or configured; its series removed"
            );
        }
        for (name, resolved) in desired {
            let current = self.pending.get(&name).or_else(|| self.running.get(&name));
            match current {
                Some(c) if c.resolved == resolved => {}
                Some(_) => {
                    tracing::info!(resource = name, "custom resource config changed; re-rendering");
                    let next = self.start(resolved);
                    self.pending.insert(name, next);
                }
                None => {
                    tracing::info!(resource = name, gvk = %resolved.served.gvk(), "custom resource served; watching");
                    let next = self.start(resolved);
                    self.live.store.put_kind(next.kind.clone());
                    self.running.insert(name, next);
                }
            }
        }
    }

    /// A kind and its watchers, not yet in the store.
    fn start(&self, resolved: Resolved) -> Running {
        let live = &self.live;
        let handle = CrHandle(Arc::new(CrKind::new(&resolved, &live.filter, Some(&live.telemetry))));
        let kind = Arc::new(handle.new_store(&live.namespaces));
        let mut tasks = JoinSet::new();
        handle.spawn_watchers(&live.client, &kind, &live.settings, &live.telemetry, &mut tasks);
        Running {
            resolved,
            kind,
            _tasks: tasks,
        }
    }

    /// Swaps in the replacements that have listed.
    fn promote(&mut self) {
        let ready: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, p)| p.kind.is_synced())
            .map(|(n, _)| n.clone())
            .collect();
        for name in ready {
            if let Some(next) = self.pending.remove(&name) {
                self.live.store.put_kind(next.kind.clone());
                self.running.insert(name.clone(), next);
                tracing::info!(resource = name, "custom resource re-rendered with the new config");
            }
        }
    }
}

/// The config file being watched: what was last read from it, to act only on changes.
struct ConfigFile {
    path: PathBuf,
    /// The label KSM's gauges carry: the path as given, cleaned.
    label: String,
    /// Digest of the last content read (or of the last read error), applied or not.
    seen: [u8; 16],
}

impl ConfigFile {
    /// The file as read at start-up (validated by the flags; absent only with
    /// `--continue-without-custom-resource-state-config-file`, then loaded when it appears).
    fn loaded(path: PathBuf, telemetry: &Telemetry) -> ConfigFile {
        let label = clean(&path);
        let (seen, read) = digest(&path);
        if read {
            succeeded(telemetry, &label, &seen);
        }
        ConfigFile { path, label, seen }
    }

    /// The new config when the file changed and is valid; a change that is not valid is
    /// logged and counted once.
    fn check(&mut self, telemetry: &Telemetry) -> Option<Vec<Resource>> {
        let (seen, _) = digest(&self.path);
        if seen == self.seen {
            return None;
        }
        self.seen = seen;
        let parsed = std::fs::read(&self.path)
            .map_err(|e| e.to_string())
            .and_then(|content| String::from_utf8(content).map_err(|e| e.to_string()))
            .and_then(|text| super::load(&text));
        let crs = &telemetry.crs;
        match parsed {
            Ok(resources) => {
                succeeded(telemetry, &self.label, &seen);
                crs.reloads.with_label_values(&["success"]).inc();
                tracing::info!(file = %self.path.display(), resources = resources.len(), "custom resource state config reloaded");
                Some(resources)
            }
            Err(error) => {
                crs.reload_successful
                    .with_label_values(&[CONFIG_TYPE, &self.label])
                    .set(0.0);
                crs.reloads.with_label_values(&["failure"]).inc();
                tracing::error!(
                    file = %self.path.display(),
                    error,
                    "custom resource state config not reloaded; the previous config keeps serving"
                );
                None
            }
        }
    }
}

/// The digest of the file's content, or of why it cannot be read (so a lasting error is
/// reported once); true when it was read.
fn digest(path: &Path) -> ([u8; 16], bool) {
    match std::fs::read(path) {
        Ok(content) => (Md5::digest(&content).into(), true),
        Err(e) => (Md5::digest(e.to_string().as_bytes()).into(), false),
    }
}

/// KSM's three gauges after a good load.
fn succeeded(telemetry: &Telemetry, label: &str, digest: &[u8; 16]) {
    let crs = &telemetry.crs;
    let labels = [CONFIG_TYPE, label];
    crs.reload_successful.with_label_values(&labels).set(1.0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    crs.reload_success_time.with_label_values(&labels).set(now);
    crs.config_hash.with_label_values(&labels).set(hash_value(digest));
}

/// KSM's `md5HashAsMetricValue`: the digest's first 48 bits, little-endian, as a float (exact
/// in a float's 53-bit mantissa).
fn hash_value(digest: &[u8; 16]) -> f64 {
    let mut bytes = [0u8; 8];
    bytes[..6].copy_from_slice(&digest[..6]);
    u64::from_le_bytes(bytes) as f64
}

/// Go's `filepath.Clean` for the common cases: `.` segments and repeated separators dropped,
/// `..` folded into its parent.
fn clean(path: &Path) -> String {
    let absolute = path.has_root();
    let text = path.to_string_lossy();
    let mut parts: Vec<&str> = Vec::new();
    for part in text.split('/').filter(|p| !p.is_empty() && *p != ".") {
        match part {
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            ".." if absolute => {}
            _ => parts.push(part),
        }
    }
    let joined = parts.join("/");
    match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_ksms_48_bit_md5_prefix() {
        // md5("") = d41d8cd98f00b204e9800998ecf8427e; bytes d4 1d 8c d9 8f 00 read little-endian.
        let digest: [u8; 16] = Md5::digest(b"").into();
        assert_eq!(hash_value(&digest), 0x00_8f_d9_8c_1d_d4_u64 as f64);
    }

    #[test]
    fn file_labels_are_cleaned_as_go_cleans_paths() {
        for (raw, cleaned) in [
            ("/etc/ksm//crs.yaml", "/etc/ksm/crs.yaml"),
            ("./crs.yaml", "crs.yaml"),
            ("/etc/ksm/../crs.yaml", "/etc/crs.yaml"),
            ("a/./b/../c.yaml", "a/c.yaml"),
            ("../x.yaml", "../x.yaml"),
        ] {
            assert_eq!(clean(Path::new(raw)), cleaned, "{raw}");
        }
    }
}
