//! Tests of the generated custom resources: determinism, the objects' shape, their metrics
//! through the example Custom Resource State config (the `render -f` path), and the churn, alone
//! and applied to the simulated API server.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde_json::Value;

use super::*;
use crate::cli::FamilyArgs;
use crate::exposition::Format;
use crate::sim::cluster::ClusterSpec;

fn now() -> Timestamp {
    Timestamp::from_second(1_795_000_000).unwrap()
}

fn generated(pods: usize, seed: u64) -> CustomResources {
    let model = ClusterModel::new(ClusterSpec::for_pods(pods, seed), now());
    CustomResources::new(&model, now())
}

fn named<'a>(objects: &'a [Value], kind: &str, ns: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["namespace"] == ns && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {ns}/{name}"))
}

/// The objects through the example config as `demo` gets it and `render -f` renders them.
fn render(objects: &[Value]) -> String {
    let options = crate::demo::with_example_crs_config(&FamilyArgs {
        custom_resource_state_only: true,
        ..FamilyArgs::default()
    })
    .validate()
    .expect("the example config is valid");
    let src: String = objects
        .iter()
        .filter(|o| o["kind"] != "Namespace")
        .map(|o| format!("{o}\n"))
        .collect();
    let out = crate::render::render_sources(&[("custom.json".into(), src)], &options, Format::Text);
    assert!(out.problems.is_empty(), "{:?}", out.problems);
    String::from_utf8(out.body).unwrap()
}

/// The sample lines of family `name`. Panics, naming the families there are, when the
/// exposition has no such family: a misspelt name must not pass as "no lines".
fn family_lines<'a>(body: &'a str, name: &str) -> Vec<&'a str> {
    if !body
        .lines()
        .any(|l| l.strip_prefix("# TYPE ").and_then(|r| r.split(' ').next()) == Some(name))
    {
        let families: Vec<&str> = body
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|r| r.split(' ').next())
            .collect();
        panic!("no family {name} in the exposition; it has {families:?}");
    }
    body.lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|r| r.starts_with('{') || r.starts_with(' '))
        })
        .collect()
}

/// The lines of `family` for one object, picked by a label it alone has.
fn lines_of<'a>(body: &'a str, family: &str, selector: &str) -> Vec<&'a str> {
    family_lines(body, family)
        .into_iter()
        .filter(|l| l.contains(selector))
        .collect()
}

const CERT_GVK: &str =
    r#"customresource_group="cert-manager.io",customresource_kind="Certificate",customresource_version="v1""#;
const KS_GVK: &str = r#"customresource_group="kustomize.toolkit.fluxcd.io",customresource_kind="Kustomization",customresource_version="v1""#;

#[test]
#[should_panic(
    expected = "no family certmanager_certificate_expiry_seconds in the exposition; it has [\"certmanager_certificate_ready_status\""
)]
fn family_lines_fails_loudly_on_a_family_that_does_not_exist() {
    let body = render(&generated(300, 7).objects());
    // 15 certificates, 2 of them never issued.
    assert_eq!(family_lines(&body, "certmanager_certificate_revision").len(), 13);
    family_lines(&body, "certmanager_certificate_expiry_seconds");
}

#[test]
fn same_seed_and_times_give_the_same_custom_resources_and_churn() {
    let mut a = generated(300, 7);
    let mut b = generated(300, 7);
    assert_eq!(a.definitions(), b.definitions());
    assert_eq!(a.objects(), b.objects());
    for s in 1..=600 {
        let t = at(now(), s);
        assert_eq!(format!("{:?}", a.churn(t)), format!("{:?}", b.churn(t)), "step {s}");
    }
    assert_eq!(a.objects(), b.objects());
    assert_ne!(generated(300, 8).objects(), generated(300, 7).objects());
}

#[test]
fn custom_resources_scale_with_the_cluster_and_some_are_not_ready() {
    let count = |cr: &CustomResources, kind: &str| cr.objects().iter().filter(|o| o["kind"] == kind).count();
    for (pods, certs, kustomizations) in [(20, 3, 2), (300, 15, 6), (2000, 100, 40)] {
        let cr = generated(pods, 3);
        assert_eq!(count(&cr, "Certificate"), certs, "{pods} pods");
        assert_eq!(count(&cr, "Kustomization"), kustomizations, "{pods} pods");
        assert_eq!(count(&cr, "Namespace"), 1, "flux-system");
        let ready = |status: &str| {
            cr.objects()
                .iter()
                .filter(|o| o["kind"] == "Certificate" && o["status"]["conditions"][0]["status"] == status)
                .count()
        };
        // About one in 15 waits for the retry of a failed order, one in 20 for a first issuance.
        let not_ready = (certs / 15).max(1) + (certs / 20).max(1);
        assert_eq!(
            (ready("False"), ready("True")),
            (not_ready, certs - not_ready),
            "{pods} pods"
        );
    }
    assert!(generated(0, 3).objects().is_empty());
    // Spread over the namespaces the apps run in, not only `default`.
    let namespaces: BTreeSet<String> = generated(2000, 3)
        .objects()
        .iter()
        .filter(|o| o["kind"] == "Certificate")
        .map(|o| o["metadata"]["namespace"].as_str().unwrap().to_string())
        .collect();
    assert!(namespaces.len() > 10, "{namespaces:?}");
}

fn is_rfc3339(v: &Value) -> bool {
    v.as_str().and_then(|s| s.parse::<Timestamp>().ok()).is_some() && v.as_str().unwrap().ends_with('Z')
}

fn time(v: &Value) -> Timestamp {
    v.as_str().unwrap().parse().unwrap()
}

#[test]
fn objects_carry_what_the_api_server_and_the_controllers_write() {
    let cr = generated(2000, 5);
    let objects = cr.objects();
    let mut uids = BTreeSet::new();
    for o in &objects {
        let m = &o["metadata"];
        let uid = m["uid"].as_str().unwrap();
        assert!(uid.len() == 36 && uid.as_bytes()[14] == b'4', "{uid}");
        assert!(uids.insert(uid.to_string()), "duplicate uid {uid}");
        assert!(
            is_rfc3339(&m["creationTimestamp"]) && time(&m["creationTimestamp"]) < now(),
            "{m}"
        );
        assert!(m.get("resourceVersion").is_none(), "the server sets it");
        let entries = m["managedFields"].as_array().unwrap();
        for e in entries {
            assert_eq!(e["apiVersion"], o["apiVersion"]);
            assert_eq!(e["fieldsType"], "FieldsV1");
            assert!(
                is_rfc3339(&e["time"]) && time(&e["time"]) >= time(&m["creationTimestamp"]),
                "{e}"
            );
            // Status writes go through the /status subresource, everything else through the object.
            let writes_status = e["fieldsV1"].get("f:status").is_some();
            assert_eq!(writes_status, e["subresource"] == "status", "{e}");
        }
        let managers: Vec<(&str, &str)> = entries
            .iter()
            .map(|e| (e["manager"].as_str().unwrap(), e["operation"].as_str().unwrap()))
            .collect();
        match o["kind"].as_str().unwrap() {
            "Namespace" => assert_eq!(managers, [("kubectl-create", "Update")]),
            "Certificate" => {
                assert_eq!(m["generation"], 1);
                let spec = &o["spec"];
                assert_eq!(spec["secretName"], m["name"]);
                assert_eq!(spec["duration"], "2160h0m0s");
                assert_eq!(spec["renewBefore"], "360h0m0s");
                assert_eq!(spec["issuerRef"]["kind"], "ClusterIssuer");
                assert!(!spec["dnsNames"].as_array().unwrap().is_empty());
                let flux = m["labels"]["kustomize.toolkit.fluxcd.io/name"].is_string();
                assert_eq!(
                    managers[0],
                    if flux {
                        ("kustomize-controller", "Apply")
                    } else {
                        ("helm", "Update")
                    }
                );
                assert!(managers.contains(&("cert-manager-certificates-readiness", "Update")));
                let st = &o["status"];
                assert_eq!(st["conditions"][0]["type"], "Ready");
                assert_eq!(st["conditions"][0]["observedGeneration"], 1);
                if st["conditions"][0]["status"] == "True" {
                    let not_before = time(&st["notBefore"]).as_second();
                    assert_eq!(time(&st["notAfter"]).as_second() - not_before, 2160 * 3600);
                    assert_eq!(time(&st["renewalTime"]).as_second() - not_before, 1800 * 3600);
                    assert!(time(&st["renewalTime"]) > now() && time(&st["notBefore"]) < now());
                    assert!(st["revision"].as_u64().unwrap() >= 1);
                    assert!(managers.contains(&("cert-manager-certificates-issuing", "Update")));
                } else {
                    assert_eq!(st["conditions"][0]["reason"], "DoesNotExist");
                    assert_eq!(st["conditions"][1]["type"], "Issuing");
                    assert!(st.get("notAfter").is_none() && st.get("revision").is_none());
                }
            }
            "Kustomization" => {
                assert_eq!(m["namespace"], "flux-system");
                assert_eq!(m["finalizers"], serde_json::json!(["finalizers.fluxcd.io"]));
                assert_eq!(o["spec"]["sourceRef"]["kind"], "GitRepository");
                assert_eq!(o["spec"]["prune"], true);
                let st = &o["status"];
                assert_eq!(st["observedGeneration"], m["generation"]);
                for rev in [&st["lastAppliedRevision"], &st["lastAttemptedRevision"]] {
                    let (branch, sha) = rev.as_str().unwrap().split_once("@sha1:").unwrap();
                    assert!(branch == "main" || branch.starts_with("refs/pull/"), "{rev}");
                    assert!(sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()), "{rev}");
                }
                assert!(managers.contains(&("kustomize-controller", "Update")));
                assert!(
                    entries
                        .iter()
                        .any(|e| e["manager"] == "kustomize-controller" && e["subresource"] == "status")
                );
            }
            other => panic!("unexpected {other}"),
        }
    }
    let defs = cr.definitions();
    let names: Vec<&str> = defs.iter().map(|d| d["metadata"]["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "certificates.cert-manager.io",
            "kustomizations.kustomize.toolkit.fluxcd.io"
        ]
    );
}

#[test]
fn the_example_config_renders_exact_lines_for_a_certificate_and_a_kustomization() {
    let objects = generated(300, 7).objects();
    let cert = named(&objects, "Certificate", "default", "backend-tls");
    assert_eq!(cert["metadata"]["uid"], "97f0cc6f-b3cb-45ba-8c63-b789a6bcd1ae");
    assert_eq!(
        cert["spec"]["dnsNames"],
        serde_json::json!(["backend.default.example.com"])
    );
    assert_eq!(cert["spec"]["issuerRef"]["name"], "letsencrypt");
    assert_eq!(cert["status"]["notBefore"], "2026-09-23T23:29:52Z"); // 1790206192
    assert_eq!(cert["status"]["notAfter"], "2026-12-22T23:29:52Z"); // 1797982192
    assert_eq!(cert["status"]["renewalTime"], "2026-12-07T23:29:52Z"); // 1796686192
    assert_eq!(cert["status"]["revision"], 2);
    assert_eq!(cert["status"]["conditions"][0]["status"], "True");
    let failed = named(&objects, "Certificate", "default", "session-tls");
    assert_eq!(failed["status"]["conditions"][0]["status"], "False");
    assert_eq!(failed["status"]["conditions"][1]["reason"], "Failed");
    let ks = named(&objects, "Kustomization", "flux-system", "apps");
    let rev = "main@sha1:106f9c6212c9bd8e00939f7fbe08d76a72cbbec3";
    assert_eq!(ks["status"]["lastAppliedRevision"], rev);
    assert_eq!(ks["status"]["conditions"][0]["reason"], "ReconciliationSucceeded");

    let body = render(&objects);
    let backend = format!(
        r#"{CERT_GVK},issuer_group="cert-manager.io",issuer_kind="ClusterIssuer",issuer_name="letsencrypt",name="backend-tls",namespace="default""#
    );
    let at = |family: &str| lines_of(&body, family, r#"name="backend-tls""#);
    assert_eq!(
        at("certmanager_certificate_ready_status"),
        [
            format!(r#"certmanager_certificate_ready_status{{condition="False",{backend}}} 0"#),
            format!(r#"certmanager_certificate_ready_status{{condition="True",{backend}}} 1"#),
            format!(r#"certmanager_certificate_ready_status{{condition="Unknown",{backend}}} 0"#),
        ]
    );
    assert_eq!(
        at("certmanager_certificate_expiration_timestamp_seconds"),
        [format!(
            "certmanager_certificate_expiration_timestamp_seconds{{{backend}}} 1.797982192e+09"
        )]
    );
    assert_eq!(
        at("certmanager_certificate_not_before_timestamp_seconds"),
        [format!(
            "certmanager_certificate_not_before_timestamp_seconds{{{backend}}} 1.790206192e+09"
        )]
    );
    assert_eq!(
        at("certmanager_certificate_renewal_timestamp_seconds"),
        [format!(
            "certmanager_certificate_renewal_timestamp_seconds{{{backend}}} 1.796686192e+09"
        )]
    );
    assert_eq!(
        at("certmanager_certificate_revision"),
        [format!("certmanager_certificate_revision{{{backend}}} 2")]
    );
    assert_eq!(
        at("certmanager_certificate_info"),
        [format!(
            r#"certmanager_certificate_info{{{backend},secret_name="backend-tls"}} 1"#
        )]
    );
    assert_eq!(
        at("certmanager_certificate_dns_name_info"),
        [format!(
            r#"certmanager_certificate_dns_name_info{{{CERT_GVK},dns_name="backend.default.example.com",issuer_group="cert-manager.io",issuer_kind="ClusterIssuer",issuer_name="letsencrypt",name="backend-tls",namespace="default"}} 1"#
        )]
    );
    // Not issued yet: not ready, and no time or revision to export.
    let session = r#"name="session-tls""#;
    assert_eq!(
        lines_of(&body, "certmanager_certificate_ready_status", session)
            .iter()
            .map(|l| l.rsplit_once(' ').unwrap().1)
            .collect::<Vec<_>>(),
        ["1", "0", "0"]
    );
    for family in [
        "certmanager_certificate_expiration_timestamp_seconds",
        "certmanager_certificate_renewal_timestamp_seconds",
        "certmanager_certificate_revision",
    ] {
        assert!(lines_of(&body, family, session).is_empty(), "{family}");
    }

    let apps = format!(r#"{KS_GVK},exported_namespace="flux-system",name="apps""#);
    let at = |family: &str| lines_of(&body, family, r#"name="apps""#);
    assert_eq!(
        at("gotk_resource_info"),
        [format!(
            r#"gotk_resource_info{{{apps},path="./deploy/production",ready="True",revision="{rev}",source_name="apps"}} 1"#
        )]
    );
    assert_eq!(
        at("gotk_kustomization_ready"),
        [format!(
            r#"gotk_kustomization_ready{{{apps},reason="ReconciliationSucceeded"}} 1"#
        )]
    );
    assert_eq!(
        at("gotk_kustomization_reconciling"),
        [format!("gotk_kustomization_reconciling{{{apps}}} 0")]
    );
    assert_eq!(
        at("gotk_kustomization_last_attempted_revision_info"),
        [format!(
            r#"gotk_kustomization_last_attempted_revision_info{{{apps},revision="{rev}"}} 1"#
        )]
    );
}

type Key = (String, String, String);

fn key(o: &Value) -> Key {
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    (s(&o["kind"]), s(&o["metadata"]["namespace"]), s(&o["metadata"]["name"]))
}

fn keyed(objects: Vec<Value>) -> BTreeMap<Key, Value> {
    objects.into_iter().map(|o| (key(&o), o)).collect()
}

/// Applies ops the way the API server does to what it holds (merge patches, creates, deletes
/// held by finalizers until a patch removes them), to check that they carry every change of
/// the model.
fn apply(held: &mut BTreeMap<Key, Value>, ops: Vec<Op>) {
    for op in ops {
        match op {
            Op::Create(o) => assert!(held.insert(key(&o), o).is_none(), "created twice"),
            Op::Replace(o) => assert!(held.insert(key(&o), o).is_some(), "replaced a missing object"),
            Op::Patch {
                resource,
                namespace,
                name,
                patch,
            } => {
                let kind = if resource == CERTIFICATES {
                    "Certificate"
                } else {
                    "Kustomization"
                };
                let k = (kind.to_string(), namespace.unwrap_or_default(), name);
                let o = held.get_mut(&k).unwrap_or_else(|| panic!("patch of a missing {k:?}"));
                crate::sim::json::merge_patch(o, &patch);
                let released = o["metadata"]["finalizers"].as_array().is_none_or(Vec::is_empty);
                if o["metadata"].get("deletionTimestamp").is_some() && released {
                    held.remove(&k);
                }
            }
            Op::Delete {
                resource,
                namespace,
                name,
            } => {
                let kind = if resource == CERTIFICATES {
                    "Certificate"
                } else {
                    "Kustomization"
                };
                let k = (kind.to_string(), namespace.unwrap_or_default(), name);
                let o = held.get_mut(&k).unwrap_or_else(|| panic!("delete of a missing {k:?}"));
                // An object with finalizers is only marked until they are removed.
                if o["metadata"]["finalizers"].as_array().is_some_and(|f| !f.is_empty()) {
                    o["metadata"]["deletionTimestamp"] = serde_json::json!("marked");
                } else {
                    held.remove(&k);
                }
            }
        }
    }
}

#[test]
fn a_renewal_moves_the_expiration_and_a_changed_spec_flips_ready_through_issuing() {
    let mut cr = generated(300, 7);
    let mut held = keyed(cr.objects());
    let backend = "backend-tls";
    let line = |body: &str, family: &str| {
        let lines = lines_of(body, family, &format!("name=\"{backend}\""));
        assert_eq!(lines.len(), 1, "{family}: {lines:?}");
        lines[0].rsplit_once(' ').unwrap().1.to_string()
    };
    let ready = |body: &str| {
        lines_of(
            body,
            "certmanager_certificate_ready_status",
            &format!("name=\"{backend}\""),
        )
        .iter()
        .map(|l| l.rsplit_once(' ').unwrap().1.to_string())
        .collect::<Vec<_>>()
    };
    let body = render(&held.values().cloned().collect::<Vec<_>>());
    assert_eq!(
        line(&body, "certmanager_certificate_expiration_timestamp_seconds"),
        "1.797982192e+09"
    );
    assert_eq!(ready(&body), ["0", "1", "0"]);

    // `cmctl renew`: Issuing=True, Ready stays True (the current certificate is still valid).
    let i = cr.find_cert("default", backend).unwrap();
    let mut ops = Vec::new();
    cr.start_issuance(i, Trigger::Manual, at(now(), 10), &mut ops);
    assert_eq!(ops.len(), 1);
    apply(&mut held, ops);
    assert_eq!(held, keyed(cr.objects()));
    let cert = &held[&("Certificate".into(), "default".into(), backend.into())];
    assert_eq!(cert["status"]["conditions"][1]["type"], "Issuing");
    assert_eq!(cert["status"]["conditions"][1]["reason"], "ManuallyTriggered");
    assert_eq!(
        cert["status"]["conditions"][1]["lastTransitionTime"],
        "2026-11-18T11:06:50Z"
    );
    let body = render(&held.values().cloned().collect::<Vec<_>>());
    assert_eq!(ready(&body), ["0", "1", "0"]);
    assert_eq!(line(&body, "certmanager_certificate_revision"), "2");

    // Issued 30 s after `now`: 1795000030 + 2160 h, renewal at + 1800 h, revision 3.
    let mut ops = Vec::new();
    cr.finish_issuances(at(now(), 30), &mut ops);
    apply(&mut held, ops);
    assert_eq!(held, keyed(cr.objects()));
    let body = render(&held.values().cloned().collect::<Vec<_>>());
    assert_eq!(
        line(&body, "certmanager_certificate_expiration_timestamp_seconds"),
        "1.80277603e+09"
    );
    assert_eq!(
        line(&body, "certmanager_certificate_not_before_timestamp_seconds"),
        "1.79500003e+09"
    );
    assert_eq!(
        line(&body, "certmanager_certificate_renewal_timestamp_seconds"),
        "1.80148003e+09"
    );
    assert_eq!(line(&body, "certmanager_certificate_revision"), "3");
    assert_eq!(ready(&body), ["0", "1", "0"]);
    let cert = &held[&("Certificate".into(), "default".into(), backend.into())];
    assert_eq!(
        cert["status"]["conditions"].as_array().unwrap().len(),
        1,
        "Issuing is removed"
    );
    assert!(cert["status"].get("nextPrivateKeySecretName").is_none());

    // A new DNS name: generation 2, Ready=False (RequestChanged) until the new certificate.
    let mut ops = Vec::new();
    cr.edit_cert(i, at(now(), 60), &mut ops);
    assert_eq!(ops.len(), 2, "the spec write, then cert-manager's status");
    apply(&mut held, ops);
    let cert = &held[&("Certificate".into(), "default".into(), backend.into())];
    assert_eq!(cert["metadata"]["generation"], 2);
    assert_eq!(
        cert["spec"]["dnsNames"],
        serde_json::json!(["backend.default.example.com", "backend-canary.default.example.com"])
    );
    assert_eq!(cert["status"]["conditions"][0]["reason"], "RequestChanged");
    assert_eq!(cert["status"]["conditions"][1]["reason"], "RequestChanged");
    let body = render(&held.values().cloned().collect::<Vec<_>>());
    assert_eq!(ready(&body), ["1", "0", "0"]);
    let mut ops = Vec::new();
    cr.finish_issuances(at(now(), 80), &mut ops);
    apply(&mut held, ops);
    assert_eq!(held, keyed(cr.objects()));
    let cert = &held[&("Certificate".into(), "default".into(), backend.into())];
    assert_eq!(cert["status"]["conditions"][0]["status"], "True");
    assert_eq!(cert["status"]["conditions"][0]["observedGeneration"], 2);
    assert_eq!(
        cert["status"]["conditions"][0]["lastTransitionTime"],
        "2026-11-18T11:08:00Z"
    );
    let body = render(&held.values().cloned().collect::<Vec<_>>());
    assert_eq!(ready(&body), ["0", "1", "0"]);
    assert_eq!(line(&body, "certmanager_certificate_revision"), "4");
    assert_eq!(
        line(&body, "certmanager_certificate_expiration_timestamp_seconds"),
        "1.80277608e+09"
    );
}

#[test]
fn a_commit_is_reconciled_then_applied_and_a_failed_build_keeps_the_old_revision() {
    let mut cr = generated(300, 7);
    let mut held = keyed(cr.objects());
    let k = cr.kustomizations.iter().position(|k| k.name == "apps").unwrap();
    let old = "main@sha1:106f9c6212c9bd8e00939f7fbe08d76a72cbbec3";
    let new = "main@sha1:0123456789abcdef0123456789abcdef01234567";
    let apps = format!(r#"{KS_GVK},exported_namespace="flux-system",name="apps""#);
    let at_apps = |body: &str, family: &str| lines_of(body, family, r#"name="apps""#).join("\n");

    let mut ops = Vec::new();
    cr.start_reconcile(k, new.into(), at(now(), 20), false, None, at(now(), 5), &mut ops);
    apply(&mut held, ops);
    assert_eq!(held, keyed(cr.objects()));
    let body = render(&held.values().cloned().collect::<Vec<_>>());
    assert_eq!(
        at_apps(&body, "gotk_kustomization_reconciling"),
        format!("gotk_kustomization_reconciling{{{apps}}} 1")
    );
    assert_eq!(
        at_apps(&body, "gotk_kustomization_ready"),
        format!(r#"gotk_kustomization_ready{{{apps},reason="Progressing"}} 0"#)
    );
    assert_eq!(
        at_apps(&body, "gotk_resource_info"),
        format!(
            r#"gotk_resource_info{{{apps},path="./deploy/production",ready="Unknown",revision="{old}",source_name="apps"}} 1"#
        )
    );
    assert_eq!(
        at_apps(&body, "gotk_kustomization_last_attempted_revision_info"),
        format!(r#"gotk_kustomization_last_attempted_revision_info{{{apps},revision="{new}"}} 1"#)
    );

    let mut ops = Vec::new();
    cr.finish_reconciles(at(now(), 20), &mut ops);
    apply(&mut held, ops);
    assert_eq!(held, keyed(cr.objects()));
    let body = render(&held.values().cloned().collect::<Vec<_>>());
    assert_eq!(
        at_apps(&body, "gotk_resource_info"),
        format!(
            r#"gotk_resource_info{{{apps},path="./deploy/production",ready="True",revision="{new}",source_name="apps"}} 1"#
        )
    );
    assert_eq!(
        at_apps(&body, "gotk_kustomization_reconciling"),
        format!("gotk_kustomization_reconciling{{{apps}}} 0")
    );
    let ks = &held[&("Kustomization".into(), "flux-system".into(), "apps".into())];
    assert_eq!(
        ks["status"]["conditions"][0]["message"],
        format!("Applied revision: {new}")
    );

    // The next commit does not build: Ready=False, the applied revision stays.
    let broken = "main@sha1:fedcba9876543210fedcba9876543210fedcba98";
    let mut ops = Vec::new();
    cr.start_reconcile(k, broken.into(), at(now(), 40), true, None, at(now(), 30), &mut ops);
    cr.finish_reconciles(at(now(), 40), &mut ops);
    apply(&mut held, ops);
    assert_eq!(held, keyed(cr.objects()));
    let body = render(&held.values().cloned().collect::<Vec<_>>());
    assert_eq!(
        at_apps(&body, "gotk_resource_info"),
        format!(
            r#"gotk_resource_info{{{apps},path="./deploy/production",ready="False",revision="{new}",source_name="apps"}} 1"#
        )
    );
    assert_eq!(
        at_apps(&body, "gotk_kustomization_ready"),
        format!(r#"gotk_kustomization_ready{{{apps},reason="BuildFailed"}} 0"#)
    );
    assert_eq!(
        at_apps(&body, "gotk_kustomization_last_attempted_revision_info"),
        format!(r#"gotk_kustomization_last_attempted_revision_info{{{apps},revision="{broken}"}} 1"#)
    );
}

#[test]
fn the_churn_renews_reissues_applies_and_comes_and_goes_at_a_modest_rate() {
    let mut cr = generated(300, 7);
    let mut held = keyed(cr.objects());
    let (mut ops_total, mut renewals, mut not_ready_to_ready, mut applied) = (0, 0, 0, 0);
    let mut created = BTreeMap::<&str, usize>::new();
    let mut deleted = BTreeMap::<&str, usize>::new();
    let steps = 3600;
    for s in 1..=steps {
        let before = held.clone();
        let ops = cr.churn(at(now(), s));
        ops_total += ops.len();
        for op in &ops {
            match op {
                Op::Create(o) => {
                    *created
                        .entry(if o["kind"] == "Certificate" { "cert" } else { "ks" })
                        .or_default() += 1
                }
                Op::Delete { resource, .. } => {
                    *deleted
                        .entry(if *resource == CERTIFICATES { "cert" } else { "ks" })
                        .or_default() += 1
                }
                _ => {}
            }
        }
        apply(&mut held, ops);
        for (k, o) in &held {
            let Some(b) = before.get(k) else { continue };
            match k.0.as_str() {
                "Certificate" => {
                    let rev = |v: &Value| v["status"]["revision"].as_u64().unwrap_or(0);
                    if rev(o) > rev(b) && rev(b) > 0 {
                        renewals += 1;
                    }
                    let ready = |v: &Value| v["status"]["conditions"][0]["status"].clone();
                    if ready(b) == "False" && ready(o) == "True" {
                        not_ready_to_ready += 1;
                    }
                }
                _ => {
                    let rev = |v: &Value| v["status"]["lastAppliedRevision"].clone();
                    if rev(o) != rev(b) && !rev(b).is_null() {
                        applied += 1;
                    }
                }
            }
        }
    }
    // Deleted Kustomizations kustomize-controller has not released yet are still held, marked.
    let marked: Vec<String> = held
        .iter()
        .filter(|(_, o)| o["metadata"].get("deletionTimestamp").is_some())
        .map(|(k, _)| k.2.clone())
        .collect();
    let finalizing: Vec<String> = cr.finalizing.iter().map(|(_, n)| n.clone()).collect();
    assert_eq!(marked, finalizing);
    held.retain(|_, o| o["metadata"].get("deletionTimestamp").is_none());
    assert_eq!(held, keyed(cr.objects()));
    let per_second = ops_total as f64 / steps as f64;
    assert!((0.5..4.0).contains(&per_second), "{per_second} ops/s");
    assert!(renewals >= 50, "{renewals}");
    assert!(not_ready_to_ready >= 3, "{not_ready_to_ready}");
    assert!(applied >= 50, "{applied}");
    for kind in ["cert", "ks"] {
        assert!(
            created.get(kind).is_some_and(|&n| n >= 1),
            "{kind} created: {created:?}"
        );
        assert!(
            deleted.get(kind).is_some_and(|&n| n >= 1),
            "{kind} deleted: {deleted:?}"
        );
    }
}

/// The simulated API server takes the definitions, the objects and every churn op, and ends
/// up holding what the model renders (server fields aside).
#[tokio::test]
async fn the_sim_accepts_the_custom_resources_and_their_churn() {
    let sim = crate::sim::Sim::start().await.unwrap();
    let model = ClusterModel::new(ClusterSpec::for_pods(300, 7), now());
    let mut cr = CustomResources::new(&model, now());
    for o in cr.definitions().into_iter().chain(cr.objects()) {
        sim.create(o).unwrap();
    }
    for s in 1..=1800 {
        for op in cr.churn(at(now(), s)) {
            let desc = format!("{op:?}");
            if let Err(e) = crate::demo::apply_op(&sim, op) {
                panic!("second {s}: {e}: {desc}");
            }
        }
    }
    let finalizing: BTreeSet<&str> = cr.finalizing.iter().map(|(_, n)| n.as_str()).collect();
    let server: BTreeMap<Key, Value> = [CERTIFICATES, KUSTOMIZATIONS]
        .into_iter()
        .flat_map(|r| sim.list(r))
        .filter(|o| !finalizing.contains(o["metadata"]["name"].as_str().unwrap()))
        .map(|mut o| {
            o["metadata"].as_object_mut().unwrap().remove("resourceVersion");
            (key(&o), o)
        })
        .collect();
    let model: BTreeMap<Key, Value> = keyed(cr.objects())
        .into_iter()
        .filter(|(k, _)| k.0 != "Namespace")
        .collect();
    assert_eq!(server.len(), model.len());
    for (k, o) in &model {
        assert_eq!(server.get(k), Some(o), "{k:?}");
    }
    sim.shutdown().await;
}

#[test]
fn demo_uses_the_example_config_only_when_given_none() {
    let example = include_str!("../../../examples/custom-resources/crs-config.yaml");
    let parsed = crate::crs::parse(example).unwrap();
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    let defaulted = crate::demo::with_example_crs_config(&FamilyArgs::default());
    assert_eq!(defaulted.custom_resource_state_config.as_deref(), Some(example));
    let kinds: Vec<String> = defaulted
        .validate()
        .unwrap()
        .custom_resources
        .iter()
        .map(|r| r.group_version_kind.to_string())
        .collect();
    assert_eq!(
        kinds,
        [
            "cert-manager.io/v1, Kind=Certificate",
            "kustomize.toolkit.fluxcd.io/v1, Kind=Kustomization"
        ]
    );
    let own = FamilyArgs {
        custom_resource_state_config: Some("kind: CustomResourceStateMetrics\n".into()),
        ..FamilyArgs::default()
    };
    assert_eq!(
        crate::demo::with_example_crs_config(&own).custom_resource_state_config,
        own.custom_resource_state_config
    );
    let from_file = FamilyArgs {
        custom_resource_state_config_file: Some("mine.yaml".into()),
        ..FamilyArgs::default()
    };
    let kept = crate::demo::with_example_crs_config(&from_file);
    assert!(kept.custom_resource_state_config.is_none());
    assert_eq!(
        kept.custom_resource_state_config_file,
        from_file.custom_resource_state_config_file
    );
}

#[test]
fn the_example_readme_shows_what_render_prints_for_the_sample_objects() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/custom-resources");
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    let shown = readme
        .split("```text\n")
        .nth(1)
        .and_then(|r| r.split("```").next())
        .expect("a text block with render's output");
    let sample = std::fs::read_to_string(dir.join("sample-objects.yaml")).unwrap();
    let body = render(&crate::render::parse_documents(&sample).unwrap());
    let printed: String = body
        .lines()
        .filter(|l| {
            l.starts_with("certmanager_certificate_expiration_timestamp_seconds") || l.starts_with("gotk_resource_info")
        })
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(shown, printed);
}

/// `examples/custom-resources/rbac.yaml` grants what the example config needs against the
/// generated CRDs (their plurals and groups), and the CRD discovery the exporter runs on.
#[test]
fn the_example_rbac_grants_discovery_and_every_configured_resource() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/custom-resources");
    let docs: Vec<Value> =
        serde_saphyr::from_multiple(&std::fs::read_to_string(dir.join("rbac.yaml")).unwrap()).unwrap();
    let role = docs.iter().find(|d| d["kind"] == "ClusterRole").expect("a ClusterRole");
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().into())
            .collect()
    };
    let mut granted = BTreeSet::new();
    for rule in role["rules"].as_array().unwrap() {
        for group in strings(&rule["apiGroups"]) {
            for resource in strings(&rule["resources"]) {
                for verb in strings(&rule["verbs"]) {
                    granted.insert((group.clone(), resource.clone(), verb));
                }
            }
        }
    }
    let config = std::fs::read_to_string(dir.join("crs-config.yaml")).unwrap();
    let resources = crate::crs::load(&config).unwrap();
    let served: Vec<crate::crs::discovery::ServedKind> = generated(300, 1)
        .definitions()
        .into_iter()
        .flat_map(|crd| {
            let mut crd = crd;
            crd["status"] = serde_json::json!({"conditions": [{"type": "Established", "status": "True"}]});
            serde_json::from_value::<crate::crs::discovery::Crd>(crd)
                .unwrap()
                .served()
        })
        .collect();
    let resolved = crate::crs::discovery::resolve(&resources, &served);
    assert_eq!(
        resolved.len(),
        resources.len(),
        "every configured resource is served by a generated CRD"
    );
    let mut needed = BTreeSet::new();
    let wanted = resolved
        .iter()
        .map(|r| (r.served.group.clone(), r.served.plural.clone()))
        .chain([(
            "apiextensions.k8s.io".to_string(),
            "customresourcedefinitions".to_string(),
        )]);
    for (group, plural) in wanted {
        for verb in ["list", "watch"] {
            needed.insert((group.clone(), plural.clone(), verb.to_string()));
        }
    }
    assert_eq!(granted, needed);
}

/// The README's worked example: its config, rendered on the sample objects, prints its lines.
#[test]
fn the_readme_worked_example_prints_what_it_shows() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let example = readme
        .split("#### Worked example")
        .nth(1)
        .expect("a worked example in the README");
    let block = |fence: &str| -> String {
        example
            .split(fence)
            .nth(1)
            .and_then(|b| b.split("```").next())
            .unwrap_or_else(|| panic!("no {fence} block in the worked example"))
            .to_string()
    };
    let options = FamilyArgs {
        custom_resource_state_config: Some(block("```yaml\n")),
        custom_resource_state_only: true,
        ..FamilyArgs::default()
    }
    .validate()
    .unwrap();
    let sample = std::fs::read_to_string(root.join("examples/custom-resources/sample-objects.yaml")).unwrap();
    let out = crate::render::render_sources(&[("sample".into(), sample)], &options, Format::Text);
    assert_eq!(out.rendered, 1);
    let printed: String = String::from_utf8(out.body)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(block("```text\n"), printed);
}
