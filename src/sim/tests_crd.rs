//! CustomResourceDefinitions and custom resources, over real HTTP on 127.0.0.1 and through
//! kube-rs (discovery, `Api<DynamicObject>`, the watcher).

use super::testclient::{Conn, GUARD, RawResponse, get, open, request, watch_all};
use super::{Sim, SimConfig, SimError, crd_manifest};
use futures::StreamExt;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{DeleteParams, DynamicObject, PostParams};
use kube::core::GroupVersionKind;
use kube::discovery::{Discovery, Scope};
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::Duration;

const CRDS: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
const WIDGETS: &str = "/apis/acme.example/v1/namespaces";

async fn sim() -> Sim {
    Sim::start_with(
        "127.0.0.1:0".parse().unwrap(),
        SimConfig {
            bookmark_interval: Duration::from_millis(200),
            event_log_capacity: 10_000,
            ..SimConfig::default()
        },
    )
    .await
    .unwrap()
}

/// `widgets.acme.example`: namespaced, `v1` only, a `/status` subresource, short name and
/// category, and a selectable field.
fn widget_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.acme.example"},
        "spec": {
            "group": "acme.example",
            "names": {"plural": "widgets", "kind": "Widget", "shortNames": ["wd"], "categories": ["acme"]},
            "scope": "Namespaced",
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
                "subresources": {"status": {}},
                "selectableFields": [{"jsonPath": ".spec.color"}]
            }]
        }
    })
}

/// `gadgets.tools.example`: cluster-scoped, served as `v1beta1` (storage) and `v1`; `v1alpha1`
/// exists but is not served. No subresources.
fn gadget_crd() -> Value {
    let version = |name: &str, served: bool, storage: bool| {
        json!({"name": name, "served": served, "storage": storage,
               "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}})
    };
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.tools.example"},
        "spec": {
            "group": "tools.example",
            "names": {"plural": "gadgets", "singular": "gizmo", "kind": "Gadget", "listKind": "GadgetCollection"},
            "scope": "Cluster",
            "versions": [version("v1alpha1", false, false), version("v1beta1", true, true), version("v1", true, false)]
        }
    })
}

fn widget(ns: &str, name: &str, color: &str) -> Value {
    json!({"apiVersion": "acme.example/v1", "kind": "Widget",
           "metadata": {"name": name, "namespace": ns, "labels": {"tier": "web"}},
           "spec": {"color": color, "size": 3}})
}

async fn send(addr: SocketAddr, method: &str, path: &str, body: &Value) -> RawResponse {
    let ct = if method == "PATCH" {
        "application/merge-patch+json"
    } else {
        "application/json"
    };
    let body = serde_json::to_vec(body).unwrap();
    request(
        addr,
        method,
        path,
        &[("Accept", "application/json"), ("Content-Type", ct)],
        Some(&body),
    )
    .await
}

async fn delete(addr: SocketAddr, path: &str) -> RawResponse {
    request(addr, "DELETE", path, &[("Accept", "application/json")], None).await
}

async fn watch(addr: SocketAddr, path: &str) -> Conn {
    let c = open(addr, "GET", path, &[("Accept", "application/json")], None).await;
    assert_eq!(c.status, 200, "{path}");
    c
}

/// `TYPE name rv` of an event line, for asserting sequences.
fn ev(line: &Value) -> String {
    format!(
        "{} {}",
        line["type"].as_str().unwrap(),
        line["object"]["metadata"]["name"].as_str().unwrap_or("-")
    )
}

fn rv_of(v: &Value) -> u64 {
    v["metadata"]["resourceVersion"].as_str().unwrap().parse().unwrap()
}

fn group_names(apis: &Value) -> Vec<String> {
    apis["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap().to_string())
        .collect()
}

/// `(type, status, reason, message)` of each condition, in order.
fn conditions(crd: &Value) -> Vec<(String, String, String, String)> {
    crd["status"]["conditions"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| {
                    let s = |k: &str| c[k].as_str().unwrap().to_string();
                    (s("type"), s("status"), s("reason"), s("message"))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn cond(t: &str, s: &str, r: &str, m: &str) -> (String, String, String, String) {
    (t.into(), s.into(), r.into(), m.into())
}

fn is_rfc3339(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.len() == 20 && s.ends_with('Z') && s.as_bytes()[10] == b'T' && s[..4].parse::<u32>().is_ok())
}

#[tokio::test]
async fn crd_create_fills_status_and_serves_discovery() {
    let sim = sim().await;
    let addr = sim.addr();
    let before = sim.resource_version();
    let r = send(addr, "POST", CRDS, &widget_crd()).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let created = r.json();
    // The POST answers the object as stored: defaults in, status as PrepareForCreate left it.
    assert_eq!(created["kind"], "CustomResourceDefinition");
    assert_eq!(created["apiVersion"], "apiextensions.k8s.io/v1");
    assert_eq!(created["metadata"]["generation"], 1);
    assert!(created["metadata"]["uid"].as_str().is_some_and(|u| u.len() == 36));
    assert_eq!(created["spec"]["names"]["singular"], "widget");
    assert_eq!(created["spec"]["names"]["listKind"], "WidgetList");
    assert_eq!(created["spec"]["conversion"], json!({"strategy": "None"}));
    assert_eq!(
        created["status"],
        json!({"acceptedNames": {"plural": "", "kind": ""}, "storedVersions": ["v1"]})
    );
    assert_eq!(rv_of(&created), before + 1);

    // The naming and establishing controllers' updates follow at once.
    let crd = get(addr, &format!("{CRDS}/widgets.acme.example")).await.json();
    assert_eq!(
        crd["status"]["acceptedNames"],
        json!({"plural": "widgets", "singular": "widget", "shortNames": ["wd"], "kind": "Widget",
               "listKind": "WidgetList", "categories": ["acme"]})
    );
    assert_eq!(crd["status"]["storedVersions"], json!(["v1"]));
    assert_eq!(
        conditions(&crd),
        [
            cond("NamesAccepted", "True", "NoConflicts", "no conflicts found"),
            cond(
                "Established",
                "True",
                "InitialNamesAccepted",
                "the initial names have been accepted"
            ),
        ]
    );
    for c in crd["status"]["conditions"].as_array().unwrap() {
        assert!(is_rfc3339(&c["lastTransitionTime"]), "{c}");
    }
    assert_eq!(crd["metadata"]["generation"], 1, "status updates keep the generation");
    assert_eq!(rv_of(&crd), before + 3);

    // A CRD watcher sees the three steps.
    let (_, lines) = watch_all(
        addr,
        &format!("{CRDS}?watch=true&resourceVersion={before}&timeoutSeconds=1"),
    )
    .await;
    let seq: Vec<String> = lines.iter().map(ev).collect();
    assert_eq!(
        seq,
        [
            "ADDED widgets.acme.example",
            "MODIFIED widgets.acme.example",
            "MODIFIED widgets.acme.example"
        ]
    );
    assert_eq!(
        conditions(&lines[1]["object"]),
        [
            cond("NamesAccepted", "True", "NoConflicts", "no conflicts found"),
            cond(
                "Established",
                "False",
                "Installing",
                "the initial names have been accepted"
            ),
        ]
    );
    assert_eq!(lines[2]["object"], crd);

    // Discovery: the group sorts after the built-ins, before metrics.k8s.io.
    let groups = group_names(&get(addr, "/apis").await.json());
    assert_eq!(
        groups[groups.len() - 2..],
        ["acme.example".to_string(), "metrics.k8s.io".to_string()]
    );
    assert!(groups.contains(&"apiextensions.k8s.io".to_string()));
    let group = get(addr, "/apis/acme.example").await.json();
    assert_eq!(
        group,
        json!({"kind": "APIGroup", "apiVersion": "v1", "name": "acme.example",
               "versions": [{"groupVersion": "acme.example/v1", "version": "v1"}],
               "preferredVersion": {"groupVersion": "acme.example/v1", "version": "v1"}})
    );
    let resources = get(addr, "/apis/acme.example/v1").await.json();
    assert_eq!(
        resources,
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "acme.example/v1", "resources": [
            {"name": "widgets", "singularName": "widget", "namespaced": true, "kind": "Widget",
             "verbs": ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"],
             "shortNames": ["wd"], "categories": ["acme"]},
            {"name": "widgets/status", "singularName": "", "namespaced": true, "kind": "Widget",
             "verbs": ["get", "patch", "update"]}
        ]})
    );
    let ext = get(addr, "/apis/apiextensions.k8s.io/v1").await.json();
    let crds = &ext["resources"][0];
    assert_eq!(crds["name"], "customresourcedefinitions");
    assert_eq!(crds["namespaced"], false);
    assert_eq!(crds["shortNames"], json!(["crd", "crds"]));
    assert_eq!(ext["resources"][1]["name"], "customresourcedefinitions/status");

    // Same name again: 409.
    let again = send(addr, "POST", CRDS, &widget_crd()).await;
    assert_eq!(again.status, 409);
    assert_eq!(
        again.json()["message"],
        "customresourcedefinitions.apiextensions.k8s.io \"widgets.acme.example\" already exists"
    );
}

#[tokio::test]
async fn invalid_crds_are_rejected_with_422() {
    let sim = sim().await;
    let addr = sim.addr();
    let mut wrong_name = widget_crd();
    wrong_name["metadata"]["name"] = json!("things.acme.example");
    let r = send(addr, "POST", CRDS, &wrong_name).await;
    assert_eq!(r.status, 422);
    let status = r.json();
    assert_eq!(status["reason"], "Invalid");
    assert_eq!(
        status["message"],
        r#"CustomResourceDefinition.apiextensions.k8s.io "things.acme.example" is invalid: metadata.name: Invalid value: "things.acme.example": must be spec.names.plural+"."+spec.group"#
    );
    assert_eq!(
        status["details"],
        json!({"name": "things.acme.example", "group": "apiextensions.k8s.io", "kind": "CustomResourceDefinition",
               "causes": [{"reason": "FieldValueInvalid",
                           "message": r#"Invalid value: "things.acme.example": must be spec.names.plural+"."+spec.group"#,
                           "field": "metadata.name"}]})
    );

    let fields = |r: &RawResponse| -> Vec<String> {
        r.json()["details"]["causes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| format!("{} {}", c["field"].as_str().unwrap(), c["reason"].as_str().unwrap()))
            .collect()
    };
    let mut no_names = widget_crd();
    no_names["spec"]["names"] = json!({});
    no_names["metadata"]["name"] = json!(".acme.example");
    let r = send(addr, "POST", CRDS, &no_names).await;
    assert_eq!(r.status, 422);
    assert!(
        fields(&r).contains(&"spec.names.plural FieldValueRequired".to_string()),
        "{}",
        r.text()
    );
    assert!(
        fields(&r).contains(&"spec.names.kind FieldValueRequired".to_string()),
        "{}",
        r.text()
    );

    let mut no_versions = widget_crd();
    no_versions["spec"]["versions"] = json!([]);
    let r = send(addr, "POST", CRDS, &no_versions).await;
    assert_eq!(r.status, 422);
    assert_eq!(
        fields(&r),
        ["spec.versions FieldValueRequired", "spec.versions FieldValueInvalid"]
    );
    assert!(r.json()["message"].as_str().unwrap().contains(
        "spec.versions: Required value: must have at least one version, spec.versions: Invalid value: []: must have exactly one version marked as storage version"
    ));

    let mut two_storage = gadget_crd();
    two_storage["spec"]["versions"][2]["storage"] = json!(true);
    let r = send(addr, "POST", CRDS, &two_storage).await;
    assert_eq!(r.status, 422);
    assert_eq!(fields(&r), ["spec.versions FieldValueInvalid"]);

    let mut no_storage = gadget_crd();
    no_storage["spec"]["versions"][1]["storage"] = json!(false);
    assert_eq!(send(addr, "POST", CRDS, &no_storage).await.status, 422);

    let mut bad_scope = widget_crd();
    bad_scope["spec"]["scope"] = json!("Global");
    let r = send(addr, "POST", CRDS, &bad_scope).await;
    assert_eq!(fields(&r), ["spec.scope FieldValueNotSupported"]);

    let mut protected = widget_crd();
    protected["metadata"]["name"] = json!("widgets.acme.k8s.io");
    protected["spec"]["group"] = json!("acme.k8s.io");
    let r = send(addr, "POST", CRDS, &protected).await;
    assert_eq!(
        fields(&r),
        ["metadata.annotations[api-approved.kubernetes.io] FieldValueRequired"]
    );

    // Nothing was stored or served.
    assert_eq!(get(addr, CRDS).await.json()["items"], json!([]));
    assert_eq!(get(addr, "/apis/acme.example").await.status, 404);
    assert!(matches!(sim.create(wrong_name), Err(SimError::Invalid(_))));
}

#[tokio::test]
async fn custom_resources_list_watch_status_and_generation() {
    let sim = sim().await;
    let addr = sim.addr();
    sim.create(widget_crd()).unwrap();
    let start = sim.resource_version();
    let mut w = watch(
        addr,
        &format!("{WIDGETS}/shop/widgets?watch=true&resourceVersion={start}&allowWatchBookmarks=true"),
    )
    .await;

    let r = send(
        addr,
        "POST",
        &format!("{WIDGETS}/shop/widgets"),
        &widget("shop", "w1", "red"),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let w1 = r.json();
    assert_eq!(w1["apiVersion"], "acme.example/v1");
    assert_eq!(w1["kind"], "Widget");
    assert_eq!(w1["metadata"]["generation"], 1);
    assert_eq!(w1["metadata"]["namespace"], "shop");
    assert_eq!(w1["spec"], json!({"color": "red", "size": 3}));
    assert!(is_rfc3339(&w1["metadata"]["creationTimestamp"]));
    let r = send(
        addr,
        "POST",
        &format!("{WIDGETS}/shop/widgets"),
        &widget("shop", "w2", "blue"),
    )
    .await;
    assert_eq!(r.status, 201);
    sim.create(widget("other", "w3", "red")).unwrap();

    // The main resource ignores status (there is a /status subresource); a spec change bumps.
    let path = format!("{WIDGETS}/shop/widgets/w1");
    let r = send(
        addr,
        "PATCH",
        &path,
        &json!({"spec": {"size": 4}, "status": {"ready": true}}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["metadata"]["generation"], 2);
    assert!(v.get("status").is_none(), "{v}");
    // /status changes only status and never the generation.
    let r = send(
        addr,
        "PATCH",
        &format!("{path}/status"),
        &json!({"spec": {"size": 9}, "status": {"ready": true}}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["status"], json!({"ready": true}));
    assert_eq!(v["spec"]["size"], 4);
    assert_eq!(v["metadata"]["generation"], 2);
    // Any other top-level field is content too (the custom resource strategy).
    let v = send(addr, "PATCH", &path, &json!({"data": {"k": "v"}})).await.json();
    assert_eq!(v["metadata"]["generation"], 3);
    // Labels are metadata: no bump.
    let v = send(addr, "PATCH", &path, &json!({"metadata": {"labels": {"tier": "db"}}}))
        .await
        .json();
    assert_eq!(v["metadata"]["generation"], 3);
    assert_eq!(v["metadata"]["labels"], json!({"tier": "db"}));

    let r = delete(addr, &format!("{WIDGETS}/shop/widgets/w2")).await;
    assert_eq!(r.status, 200);
    let st = r.json();
    assert_eq!(st["kind"], "Status");
    assert_eq!(st["details"]["kind"], "widgets");
    assert_eq!(st["details"]["group"], "acme.example");
    assert_eq!(st["details"]["name"], "w2");

    let mut seq = Vec::new();
    let mut rvs = Vec::new();
    while seq.len() < 7 {
        let line = w.next_json().await.expect("watch goes on");
        if line["type"] == "BOOKMARK" {
            assert_eq!(line["object"]["kind"], "Widget");
            assert_eq!(line["object"]["apiVersion"], "acme.example/v1");
            // An unstructured bookmark carries metadata only.
            assert_eq!(line["object"].as_object().unwrap().len(), 3, "{line}");
            continue;
        }
        assert_eq!(line["object"]["apiVersion"], "acme.example/v1");
        seq.push(ev(&line));
        rvs.push(rv_of(&line["object"]));
    }
    assert_eq!(
        seq,
        [
            "ADDED w1",
            "ADDED w2",
            "MODIFIED w1",
            "MODIFIED w1",
            "MODIFIED w1",
            "MODIFIED w1",
            "DELETED w2"
        ]
    );
    assert!(rvs.windows(2).all(|p| p[0] < p[1]), "{rvs:?}");

    // Lists: cluster-wide, namespaced, selectors (labels and the CRD's selectable field).
    let list = get(addr, "/apis/acme.example/v1/widgets").await.json();
    assert_eq!(list["kind"], "WidgetList");
    assert_eq!(list["apiVersion"], "acme.example/v1");
    assert_eq!(rv_of(&list), sim.resource_version());
    let names = |l: &Value| -> Vec<String> {
        l["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["metadata"]["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&list), ["w3", "w1"]);
    assert!(list["items"][0].get("apiVersion").is_none());
    let shop = get(addr, &format!("{WIDGETS}/shop/widgets")).await.json();
    assert_eq!(names(&shop), ["w1"]);
    let web = get(addr, "/apis/acme.example/v1/widgets?labelSelector=tier%3Dweb")
        .await
        .json();
    assert_eq!(names(&web), ["w3"]);
    let red = get(addr, "/apis/acme.example/v1/widgets?fieldSelector=spec.color%3Dred")
        .await
        .json();
    assert_eq!(names(&red), ["w3", "w1"]);
    let r = get(addr, "/apis/acme.example/v1/widgets?fieldSelector=spec.size%3D3").await;
    assert_eq!(r.status, 400, "spec.size is not a selectable field");
    let page = get(addr, "/apis/acme.example/v1/widgets?limit=1").await.json();
    assert_eq!(names(&page), ["w3"]);
    assert_eq!(page["metadata"]["remainingItemCount"], 1);

    // Get, 404 for a missing object, wrong apiVersion in the body.
    let got = get(addr, &path).await.json();
    assert_eq!(got["metadata"]["generation"], 3);
    let missing = get(addr, &format!("{WIDGETS}/shop/widgets/w2")).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["message"], "widgets.acme.example \"w2\" not found");
    // An unknown resource in a custom group falls through the CRD handler: plain-text 404.
    let unknown = get(addr, &format!("{WIDGETS}/shop/gizmos")).await;
    assert_eq!((unknown.status, unknown.text().as_str()), (404, "404 page not found\n"));
    let mut wrong = widget("shop", "w9", "red");
    wrong["apiVersion"] = json!("acme.example/v2");
    let r = send(addr, "POST", &format!("{WIDGETS}/shop/widgets"), &wrong).await;
    assert_eq!(r.status, 400);

    // Streaming list: initial ADDED events, then the initial-events-end bookmark.
    let mut s = watch(
        addr,
        &format!(
            "{WIDGETS}/shop/widgets?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true"
        ),
    )
    .await;
    let first = s.next_json().await.unwrap();
    assert_eq!(ev(&first), "ADDED w1");
    assert_eq!(first["object"]["kind"], "Widget");
    let end = s.next_json().await.unwrap();
    assert_eq!(end["type"], "BOOKMARK");
    assert_eq!(
        end["object"]["metadata"]["annotations"],
        json!({"k8s.io/initial-events-end": "true"})
    );
    assert_eq!(rv_of(&end["object"]), sim.resource_version());

    // 410 for a compacted resourceVersion.
    sim.faults().expire_resource_versions();
    let (resp, lines) = watch_all(
        addr,
        &format!("{WIDGETS}/shop/widgets?watch=true&resourceVersion={start}"),
    )
    .await;
    assert_eq!(resp.status, 200);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["type"], "ERROR");
    assert_eq!(lines[0]["object"]["code"], 410);
    let exact = get(
        addr,
        &format!("/apis/acme.example/v1/widgets?resourceVersion={start}&resourceVersionMatch=Exact"),
    )
    .await;
    assert_eq!(exact.status, 410);
}

#[tokio::test]
async fn cluster_scoped_crd_serves_every_served_version_from_one_storage() {
    let sim = sim().await;
    let addr = sim.addr();
    let r = send(addr, "POST", CRDS, &gadget_crd()).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["status"]["storedVersions"], json!(["v1beta1"]));
    let crd = sim
        .get("customresourcedefinitions", None, "gadgets.tools.example")
        .unwrap();
    assert_eq!(
        crd["status"]["acceptedNames"],
        json!({"plural": "gadgets", "singular": "gizmo", "kind": "Gadget", "listKind": "GadgetCollection"})
    );

    // v1 is preferred over v1beta1; v1alpha1 is not served.
    let group = get(addr, "/apis/tools.example").await.json();
    assert_eq!(
        group["versions"],
        json!([{"groupVersion": "tools.example/v1", "version": "v1"},
               {"groupVersion": "tools.example/v1beta1", "version": "v1beta1"}])
    );
    assert_eq!(group["preferredVersion"]["version"], "v1");
    let v1beta1 = get(addr, "/apis/tools.example/v1beta1").await.json();
    assert_eq!(v1beta1["resources"].as_array().unwrap().len(), 1, "no /status");
    assert_eq!(v1beta1["resources"][0]["namespaced"], false);
    assert_eq!(v1beta1["resources"][0]["singularName"], "gizmo");
    let alpha = get(addr, "/apis/tools.example/v1alpha1/gadgets").await;
    assert_eq!(alpha.status, 404);
    assert_eq!(alpha.text(), "404 page not found\n");

    let start = sim.resource_version();
    let mut w = watch(
        addr,
        &format!("/apis/tools.example/v1/gadgets?watch=true&resourceVersion={start}"),
    )
    .await;
    let body = json!({"apiVersion": "tools.example/v1beta1", "kind": "Gadget",
                      "metadata": {"name": "g1", "namespace": "ignored"}, "spec": {"n": 1}});
    let r = send(addr, "POST", "/apis/tools.example/v1beta1/gadgets", &body).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let created = r.json();
    assert!(created["metadata"].get("namespace").is_none(), "cluster-scoped");

    // The same object through the other version, typed for it.
    let via_v1 = get(addr, "/apis/tools.example/v1/gadgets/g1").await.json();
    assert_eq!(via_v1["apiVersion"], "tools.example/v1");
    assert_eq!(via_v1["metadata"]["uid"], created["metadata"]["uid"]);
    assert_eq!(via_v1["spec"], json!({"n": 1}));
    let list = get(addr, "/apis/tools.example/v1/gadgets").await.json();
    assert_eq!(list["kind"], "GadgetCollection");
    assert_eq!(list["apiVersion"], "tools.example/v1");
    assert_eq!(list["items"][0]["metadata"]["name"], "g1");
    let added = w.next_json().await.unwrap();
    assert_eq!(ev(&added), "ADDED g1");
    assert_eq!(added["object"]["apiVersion"], "tools.example/v1");

    // No /status subresource: status is written with the object; any content change bumps.
    let v = send(
        addr,
        "PATCH",
        "/apis/tools.example/v1/gadgets/g1",
        &json!({"status": {"ok": true}}),
    )
    .await
    .json();
    assert_eq!(v["status"], json!({"ok": true}));
    assert_eq!(v["metadata"]["generation"], 2);
    assert_eq!(get(addr, "/apis/tools.example/v1/gadgets/g1/status").await.status, 404);
    let modified = w.next_json().await.unwrap();
    assert_eq!(ev(&modified), "MODIFIED g1");
    assert_eq!(modified["object"]["apiVersion"], "tools.example/v1");

    // Namespaced URLs do not exist for it; the Rust API picks the preferred version.
    assert_eq!(
        get(addr, "/apis/tools.example/v1/namespaces/x/gadgets").await.status,
        404
    );
    let listed = sim.list("gadgets.tools.example");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["apiVersion"], "tools.example/v1");
    assert_eq!(listed[0]["kind"], "Gadget");
}

#[tokio::test]
async fn deleting_a_crd_deletes_its_objects_then_retires_it() {
    let sim = sim().await;
    let addr = sim.addr();
    sim.create(widget_crd()).unwrap();
    for (ns, name) in [("b", "w1"), ("a", "w2"), ("a", "w1")] {
        sim.create(widget(ns, name, "red")).unwrap();
    }
    let start = sim.resource_version();
    let mut cr_watch = watch(
        addr,
        &format!("/apis/acme.example/v1/widgets?watch=true&resourceVersion={start}"),
    )
    .await;
    let mut ns_watch = watch(addr, &format!("{WIDGETS}/b/widgets?watch=true&resourceVersion={start}")).await;
    let mut crd_watch = watch(addr, &format!("{CRDS}?watch=true&resourceVersion={start}")).await;

    let r = delete(addr, &format!("{CRDS}/widgets.acme.example")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    // The real DELETE answers the CRD it marked, not a Status.
    let marked = r.json();
    assert_eq!(marked["kind"], "CustomResourceDefinition");
    assert!(is_rfc3339(&marked["metadata"]["deletionTimestamp"]));
    assert_eq!(
        marked["metadata"]["finalizers"],
        json!(["customresourcecleanup.apiextensions.k8s.io"])
    );
    assert_eq!(
        conditions(&marked)[2],
        cond(
            "Terminating",
            "True",
            "InstanceDeletionPending",
            "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon"
        )
    );
    assert_eq!(marked["metadata"]["generation"], 1);

    // Every custom resource goes first, then the watches of the resource end.
    let mut seq = Vec::new();
    while let Some(line) = cr_watch.next_json().await {
        seq.push(format!(
            "{} {}",
            ev(&line),
            line["object"]["metadata"]["namespace"].as_str().unwrap()
        ));
    }
    assert_eq!(seq, ["DELETED w1 a", "DELETED w2 a", "DELETED w1 b"]);
    let mut seq = Vec::new();
    while let Some(line) = ns_watch.next_json().await {
        seq.push(ev(&line));
    }
    assert_eq!(seq, ["DELETED w1"]);

    // The CRD watcher: marked, finalizer controller at work, then gone, around the CR deletions.
    let lines: Vec<Value> = [
        crd_watch.next_json().await.unwrap(),
        crd_watch.next_json().await.unwrap(),
        crd_watch.next_json().await.unwrap(),
    ]
    .into();
    let seq: Vec<String> = lines.iter().map(ev).collect();
    assert_eq!(
        seq,
        [
            "MODIFIED widgets.acme.example",
            "MODIFIED widgets.acme.example",
            "DELETED widgets.acme.example"
        ]
    );
    assert_eq!(lines[0]["object"], marked);
    assert_eq!(
        conditions(&lines[1]["object"])[2],
        cond(
            "Terminating",
            "True",
            "InstanceDeletionInProgress",
            "CustomResource deletion is in progress"
        )
    );
    let last = &lines[2]["object"];
    assert_eq!(
        conditions(last)[2],
        cond(
            "Terminating",
            "False",
            "InstanceDeletionCompleted",
            "removed all instances"
        )
    );
    assert!(last["metadata"].get("finalizers").is_none(), "{last}");
    assert_eq!(rv_of(last), sim.resource_version());
    assert_eq!(
        rv_of(last),
        rv_of(&lines[1]["object"]) + 4,
        "three CR deletions in between"
    );

    // Gone: the CRD, its URLs (the plain-text 404 of an unknown group), discovery.
    assert_eq!(get(addr, &format!("{CRDS}/widgets.acme.example")).await.status, 404);
    for path in [
        "/apis/acme.example/v1/widgets",
        "/apis/acme.example/v1/namespaces/a/widgets/w1",
        "/apis/acme.example/v1",
        "/apis/acme.example",
    ] {
        let r = get(addr, path).await;
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.text(), "404 page not found\n", "{path}");
    }
    let r = get(addr, "/apis/acme.example/v1/widgets?watch=true").await;
    assert_eq!(r.status, 404);
    assert!(!group_names(&get(addr, "/apis").await.json()).contains(&"acme.example".to_string()));
    assert!(sim.list("widgets.acme.example").is_empty());
    assert!(matches!(
        sim.create(widget("a", "w1", "red")),
        Err(SimError::UnknownResource(_))
    ));
    assert_eq!(
        sim.faults().requests("widgets.acme.example"),
        0,
        "no longer a known name"
    );

    // Re-created: served again from scratch (no objects, no replay of the old ones).
    let rv_gone = sim.resource_version();
    sim.create(widget_crd()).unwrap();
    assert_eq!(
        get(addr, "/apis/acme.example/v1/widgets").await.json()["items"],
        json!([])
    );
    sim.create(widget("a", "w9", "green")).unwrap();
    let (_, lines) = watch_all(
        addr,
        &format!("/apis/acme.example/v1/widgets?watch=true&resourceVersion={start}&timeoutSeconds=1"),
    )
    .await;
    assert_eq!(lines.iter().map(ev).collect::<Vec<_>>(), ["ADDED w9"]);
    assert!(rv_of(&lines[0]["object"]) > rv_gone);
    assert!(group_names(&get(addr, "/apis").await.json()).contains(&"acme.example".to_string()));
    assert_eq!(
        sim.delete("customresourcedefinitions", None, "widgets.acme.example")
            .unwrap()["kind"],
        "CustomResourceDefinition"
    );
    assert!(sim.get("widgets.acme.example", Some("a"), "w9").is_none());
}

fn kube_client(sim: &Sim) -> Client {
    Client::try_from(kube::Config::new(sim.url().parse().unwrap())).unwrap()
}

fn describe(ev: &Result<watcher::Event<DynamicObject>, watcher::Error>) -> String {
    let id = |o: &DynamicObject| format!("{}/{}", o.namespace().unwrap_or_default(), o.name_any());
    match ev {
        Ok(watcher::Event::Init) => "Init".into(),
        Ok(watcher::Event::InitApply(o)) => format!("InitApply {}", id(o)),
        Ok(watcher::Event::InitDone) => "InitDone".into(),
        Ok(watcher::Event::Apply(o)) => format!("Apply {}", id(o)),
        Ok(watcher::Event::Delete(o)) => format!("Delete {}", id(o)),
        Err(watcher::Error::WatchStartFailed(kube::Error::Api(s))) => format!("WatchStartFailed {}", s.code),
        Err(watcher::Error::InitialListFailed(kube::Error::Api(s))) => format!("InitialListFailed {}", s.code),
        Err(e) => format!("Err {e}"),
    }
}

async fn take(
    stream: &mut futures::stream::BoxStream<'static, Result<watcher::Event<DynamicObject>, watcher::Error>>,
    n: usize,
) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..n {
        let ev = tokio::time::timeout(GUARD, stream.next())
            .await
            .expect("watcher event within the guard")
            .expect("stream goes on");
        out.push(describe(&ev));
    }
    out
}

#[tokio::test]
async fn kube_discovers_lists_and_watches_custom_resources() {
    let sim = sim().await;
    let client = kube_client(&sim);
    let gvk = GroupVersionKind::gvk("acme.example", "v1", "Widget");

    // Before the CRD: unknown to discovery, and the dynamic API answers 404.
    let discovery = Discovery::new(client.clone()).run().await.unwrap();
    assert!(discovery.resolve_gvk(&gvk).is_none());

    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd: CustomResourceDefinition = serde_json::from_value(widget_crd()).unwrap();
    let created = crds.create(&PostParams::default(), &crd).await.unwrap();
    assert_eq!(created.spec.names.list_kind.as_deref(), Some("WidgetList"));
    let established = crds.get("widgets.acme.example").await.unwrap();
    let status = established.status.unwrap();
    let accepted = status.accepted_names.unwrap();
    assert_eq!(accepted.plural, "widgets");
    assert_eq!(accepted.singular.as_deref(), Some("widget"));
    let conds = status.conditions.unwrap();
    assert_eq!(conds[1].type_, "Established");
    assert_eq!(conds[1].status, "True");

    let discovery = Discovery::new(client.clone()).run().await.unwrap();
    let (ar, caps) = discovery.resolve_gvk(&gvk).expect("discovery finds Widget");
    assert_eq!(ar.plural, "widgets");
    assert_eq!(ar.api_version, "acme.example/v1");
    assert_eq!(caps.scope, Scope::Namespaced);
    assert!(caps.supports_operation("watch"));
    assert_eq!(caps.subresources.len(), 1, "status");
    let group = discovery.get("acme.example").unwrap();
    assert_eq!(group.preferred_version_or_latest(), "v1");

    let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
    for (ns, name) in [("a", "w1"), ("b", "w1")] {
        let obj: DynamicObject = serde_json::from_value(widget(ns, name, "red")).unwrap();
        Api::<DynamicObject>::namespaced_with(client.clone(), ns, &ar)
            .create(&PostParams::default(), &obj)
            .await
            .unwrap();
    }
    let list = api.list(&Default::default()).await.unwrap();
    let names: Vec<String> = list
        .items
        .iter()
        .map(|o| format!("{}/{}", o.namespace().unwrap(), o.name_any()))
        .collect();
    assert_eq!(names, ["a/w1", "b/w1"]);
    assert_eq!(list.items[0].data["spec"]["color"], "red");
    assert_eq!(list.items[0].metadata.generation, Some(1));

    let mut listing = watcher::watcher(api.clone(), watcher::Config::default()).boxed();
    let mut streaming = watcher::watcher(api.clone(), watcher::Config::default().streaming_lists()).boxed();
    let init = ["Init", "InitApply a/w1", "InitApply b/w1", "InitDone"];
    assert_eq!(take(&mut listing, 4).await, init);
    assert_eq!(take(&mut streaming, 4).await, init);

    sim.create(widget("c", "w1", "blue")).unwrap();
    assert_eq!(take(&mut listing, 1).await, ["Apply c/w1"]);
    assert_eq!(take(&mut streaming, 1).await, ["Apply c/w1"]);

    // Deleting the CRD: every object DELETED, then the re-watch meets the 404.
    let deleted = crds
        .delete("widgets.acme.example", &DeleteParams::default())
        .await
        .unwrap();
    let marked = deleted.left().expect("the DELETE answers the marked CRD");
    assert!(marked.metadata.deletion_timestamp.is_some());
    for stream in [&mut listing, &mut streaming] {
        assert_eq!(
            take(stream, 4).await,
            ["Delete a/w1", "Delete b/w1", "Delete c/w1", "WatchStartFailed 404"]
        );
    }
    let err = api.list(&Default::default()).await.unwrap_err();
    assert!(matches!(&err, kube::Error::Api(s) if s.code == 404), "{err:?}");
    let discovery = Discovery::new(client.clone()).run().await.unwrap();
    assert!(discovery.resolve_gvk(&gvk).is_none());
    assert!(!discovery.has_group("acme.example"));

    // Re-created: the kind comes back, empty.
    crds.create(&PostParams::default(), &crd).await.unwrap();
    let discovery = Discovery::new(client.clone()).run().await.unwrap();
    let (ar2, _) = discovery.resolve_gvk(&gvk).expect("served again");
    assert_eq!(ar2, ar);
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar2);
    assert!(api.list(&Default::default()).await.unwrap().items.is_empty());
    let mut again = watcher::watcher(api, watcher::Config::default()).boxed();
    assert_eq!(take(&mut again, 2).await, ["Init", "InitDone"]);
}

#[tokio::test]
async fn crd_manifest_builds_a_servable_crd() {
    let sim = sim().await;
    let crd = crd_manifest("acme.example", "Widget", "widgets", true, &["v1", "v2"]);
    sim.create(crd).unwrap();
    let group = get(sim.addr(), "/apis/acme.example").await.json();
    assert_eq!(group["preferredVersion"]["version"], "v2");
    let crd = sim
        .get("customresourcedefinitions", None, "widgets.acme.example")
        .unwrap();
    assert_eq!(crd["status"]["storedVersions"], json!(["v1"]));
    let mut w = widget("a", "w1", "red");
    w["status"] = json!({"ok": true});
    let stored = sim.create(w).unwrap();
    assert_eq!(stored["status"], json!({"ok": true}), "the Rust API writes status too");
    let v2 = sim.get("widgets.acme.example", Some("a"), "w1").unwrap();
    assert_eq!(v2["apiVersion"], "acme.example/v2");
    assert_eq!(
        get(sim.addr(), "/apis/acme.example/v1/namespaces/a/widgets/w1/status")
            .await
            .json()["status"],
        json!({"ok": true})
    );
    assert_eq!(
        sim.create(crd_manifest("acme.example", "Widget", "widgets", true, &["v1"]))
            .map_err(|e| e.to_string())
            .unwrap_err(),
        "customresourcedefinitions.apiextensions.k8s.io \"widgets.acme.example\" already exists"
    );
}
