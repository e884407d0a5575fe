//! `serviceaccounts` (opt-in resource in KSM): `internal/store/serviceaccount.go`. Base labels
//! `namespace,serviceaccount,uid`.

use k8s_openapi::api::core::v1::ServiceAccount;

use super::{FamilyDef, ObjectFamilies, RenderContext, Samples, Stability::*, meta};

impl ObjectFamilies for ServiceAccount {
    const BASE_LABELS: &'static [&'static str] = &["namespace", "serviceaccount", "uid"];

    fn base_label_values(&self) -> Vec<&str> {
        vec![
            self.metadata.namespace.as_deref().unwrap_or(""),
            self.metadata.name.as_deref().unwrap_or(""),
            self.metadata.uid.as_deref().unwrap_or(""),
        ]
    }

    fn families() -> Vec<FamilyDef<Self>> {
        const P: &str = "kube_serviceaccount";
        vec![
            FamilyDef::gauge(
                "kube_serviceaccount_info",
                Alpha,
                "Information about a service account",
                |sa: &ServiceAccount, _: &RenderContext, out: &mut Samples| {
                    // Unset is written as "", distinct from an explicit "false".
                    let automount = match sa.automount_service_account_token {
                        Some(true) => "true",
                        Some(false) => "false",
                        None => "",
                    };
                    out.push([("automount_token", automount)], 1.0);
                },
            ),
            FamilyDef::created(P, Alpha, "Unix creation timestamp"),
            // KSM names this one `_deleted`, not `_deletion_timestamp`.
            FamilyDef::gauge(
                "kube_serviceaccount_deleted",
                Alpha,
                "Unix deletion timestamp",
                |sa: &ServiceAccount, _: &RenderContext, out: &mut Samples| meta::deletion_timestamp(&sa.metadata, out),
            ),
            FamilyDef::gauge(
                "kube_serviceaccount_secret",
                Alpha,
                "Secret being referenced by a service account",
                |sa: &ServiceAccount, _: &RenderContext, out: &mut Samples| {
                    for secret in sa.secrets.as_deref().unwrap_or_default() {
                        out.push([("name", secret.name.as_deref().unwrap_or(""))], 1.0);
                    }
                },
            ),
            FamilyDef::gauge(
                "kube_serviceaccount_image_pull_secret",
                Alpha,
                "Secret being referenced by a service account for the purpose of pulling images",
                |sa: &ServiceAccount, _: &RenderContext, out: &mut Samples| {
                    for secret in sa.image_pull_secrets.as_deref().unwrap_or_default() {
                        out.push([("name", secret.name.as_str())], 1.0);
                    }
                },
            ),
            FamilyDef::annotations(P, Alpha),
            FamilyDef::labels(P, Alpha),
        ]
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::families::render_text;

    /// The `web` service account as a v1.36 API server returns it (managedFields dropped).
    fn web() -> serde_json::Value {
        json!({
            "kind": "ServiceAccount",
            "apiVersion": "v1",
            "metadata": {
                "name": "web",
                "namespace": "shop",
                "uid": "eb74370d-d5e5-425f-aad2-ad65f581a018",
                "resourceVersion": "426",
                "creationTimestamp": "2026-12-04T17:10:30Z",
                "labels": {"app.kubernetes.io/name": "shop"},
                "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::000000000000:role/web"}
            },
            "secrets": [{"name": "web-token"}],
            "imagePullSecrets": [{"name": "regcred"}, {"name": "regcred-2"}]
        })
    }

    fn sa(v: serde_json::Value) -> ServiceAccount {
        serde_json::from_value(v).expect("valid ServiceAccount")
    }

    fn render(s: &ServiceAccount, family: &str) -> String {
        render_text(s, &RenderContext::default(), family)
    }

    const BASE: &str = "namespace=\"shop\",serviceaccount=\"web\",uid=\"eb74370d-d5e5-425f-aad2-ad65f581a018\"";

    #[test]
    fn info_writes_automount_as_true_false_or_empty() {
        let mut v = web();
        assert_eq!(
            render(&sa(v.clone()), "kube_serviceaccount_info"),
            format!("kube_serviceaccount_info{{{BASE},automount_token=\"\"}} 1\n")
        );
        v["automountServiceAccountToken"] = json!(false);
        assert_eq!(
            render(&sa(v.clone()), "kube_serviceaccount_info"),
            format!("kube_serviceaccount_info{{{BASE},automount_token=\"false\"}} 1\n")
        );
        v["automountServiceAccountToken"] = json!(true);
        assert_eq!(
            render(&sa(v), "kube_serviceaccount_info"),
            format!("kube_serviceaccount_info{{{BASE},automount_token=\"true\"}} 1\n")
        );
    }

    #[test]
    fn created_and_deleted_timestamps() {
        let mut v = web();
        let s = sa(v.clone());
        assert_eq!(
            render(&s, "kube_serviceaccount_created"),
            format!("kube_serviceaccount_created{{{BASE}}} 1.79640423e+09\n")
        );
        assert_eq!(render(&s, "kube_serviceaccount_deleted"), "");
        v["metadata"]["deletionTimestamp"] = json!("2026-12-04T18:07:00Z");
        v["metadata"]["finalizers"] = json!(["example.com/token-revoker"]);
        assert_eq!(
            render(&sa(v.clone()), "kube_serviceaccount_deleted"),
            format!("kube_serviceaccount_deleted{{{BASE}}} 1.79640762e+09\n")
        );
        v["metadata"].as_object_mut().unwrap().remove("creationTimestamp");
        assert_eq!(render(&sa(v), "kube_serviceaccount_created"), "");
    }

    #[test]
    fn one_series_per_referenced_secret() {
        let s = sa(web());
        assert_eq!(
            render(&s, "kube_serviceaccount_secret"),
            format!("kube_serviceaccount_secret{{{BASE},name=\"web-token\"}} 1\n")
        );
        assert_eq!(
            render(&s, "kube_serviceaccount_image_pull_secret"),
            format!(
                "kube_serviceaccount_image_pull_secret{{{BASE},name=\"regcred\"}} 1\n\
                 kube_serviceaccount_image_pull_secret{{{BASE},name=\"regcred-2\"}} 1\n"
            )
        );
    }

    #[test]
    fn no_secrets_and_unnamed_references() {
        let mut v = web();
        v.as_object_mut().unwrap().remove("imagePullSecrets");
        v["secrets"] = json!([{"kind": "Secret", "namespace": "shop"}]);
        let s = sa(v);
        assert_eq!(render(&s, "kube_serviceaccount_image_pull_secret"), "");
        assert_eq!(
            render(&s, "kube_serviceaccount_secret"),
            format!("kube_serviceaccount_secret{{{BASE},name=\"\"}} 1\n")
        );
    }

    #[test]
    fn labels_and_annotations_only_when_allowlisted() {
        let s = sa(web());
        assert_eq!(render(&s, "kube_serviceaccount_labels"), "");
        assert_eq!(render(&s, "kube_serviceaccount_annotations"), "");
        let all = RenderContext::allow_all();
        assert_eq!(
            render_text(&s, &all, "kube_serviceaccount_labels"),
            format!("kube_serviceaccount_labels{{{BASE},label_app_kubernetes_io_name=\"shop\"}} 1\n")
        );
        assert_eq!(
            render_text(&s, &all, "kube_serviceaccount_annotations"),
            format!(
                "kube_serviceaccount_annotations{{{BASE},\
                 annotation_eks_amazonaws_com_role_arn=\"arn:aws:iam::000000000000:role/web\"}} 1\n"
            )
        );
    }
}
