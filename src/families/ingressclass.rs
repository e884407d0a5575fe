//! `ingressclasses` (opt-in resource): KSM's `internal/store/ingressclass.go`. Base label
//! `ingressclass` (cluster-scoped, no namespace).

use k8s_openapi::api::networking::v1::IngressClass;

use super::{FamilyDef, ObjectFamilies, Stability::*};

impl ObjectFamilies for IngressClass {
    const BASE_LABELS: &'static [&'static str] = &["ingressclass"];

    fn base_label_values(&self) -> Vec<&str> {
        vec![self.metadata.name.as_deref().unwrap_or("")]
    }

    fn families() -> Vec<FamilyDef<Self>> {
        family_defs()
    }
}

type Def = FamilyDef<IngressClass>;

fn family_defs() -> Vec<Def> {
    const P: &str = "kube_ingressclass";
    vec![
        // One series even without a spec: KSM prints the zero value.
        Def::gauge(
            "kube_ingressclass_info",
            Alpha,
            "Information about ingressclass.",
            |c, _, out| {
                let controller = c.spec.as_ref().and_then(|s| s.controller.as_deref());
                out.push([("controller", controller.unwrap_or(""))], 1.0)
            },
        ),
        Def::created(P, Alpha, "Unix creation timestamp"),
        Def::annotations(P, Alpha),
        Def::labels(P, Alpha),
    ]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::families::{RenderContext, render_text};

    fn class(v: serde_json::Value) -> IngressClass {
        serde_json::from_value(v).expect("valid IngressClass")
    }

    fn render(c: &IngressClass, family: &str) -> String {
        render_text(c, &RenderContext::default(), family)
    }

    /// The `alb` IngressClass as a v1.36 API server returns it (managedFields dropped).
    fn alb() -> IngressClass {
        class(json!({
            "kind": "IngressClass",
            "apiVersion": "networking.k8s.io/v1",
            "metadata": {
                "name": "alb",
                "uid": "cde61c24-8181-474e-9cf8-5410e2f40fc4",
                "resourceVersion": "408",
                "generation": 1,
                "creationTimestamp": "2026-12-04T17:10:30Z",
                "labels": {"app.kubernetes.io/name": "shop"},
                "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}
            },
            "spec": {
                "controller": "ingress.k8s.aws/alb",
                "parameters": {"apiGroup": "elbv2.k8s.aws", "kind": "IngressClassParams", "name": "alb-params", "scope": "Cluster"}
            }
        }))
    }

    #[test]
    fn info_and_created() {
        let c = alb();
        assert_eq!(
            render(&c, "kube_ingressclass_info"),
            "kube_ingressclass_info{ingressclass=\"alb\",controller=\"ingress.k8s.aws/alb\"} 1\n"
        );
        assert_eq!(
            render(&c, "kube_ingressclass_created"),
            "kube_ingressclass_created{ingressclass=\"alb\"} 1.79640423e+09\n"
        );
    }

    #[test]
    fn missing_spec_and_timestamp() {
        let c =
            class(json!({"kind": "IngressClass", "apiVersion": "networking.k8s.io/v1", "metadata": {"name": "bare"}}));
        assert_eq!(
            render(&c, "kube_ingressclass_info"),
            "kube_ingressclass_info{ingressclass=\"bare\",controller=\"\"} 1\n"
        );
        assert_eq!(render(&c, "kube_ingressclass_created"), "");
    }

    #[test]
    fn labels_and_annotations_follow_the_allowlist() {
        let c = alb();
        assert_eq!(render(&c, "kube_ingressclass_labels"), "");
        assert_eq!(render(&c, "kube_ingressclass_annotations"), "");
        let ctx = RenderContext::allow_all();
        assert_eq!(
            render_text(&c, &ctx, "kube_ingressclass_labels"),
            "kube_ingressclass_labels{ingressclass=\"alb\",label_app_kubernetes_io_name=\"shop\"} 1\n"
        );
        assert_eq!(
            render_text(&c, &ctx, "kube_ingressclass_annotations"),
            "kube_ingressclass_annotations{ingressclass=\"alb\",annotation_ingressclass_kubernetes_io_is_default_class=\"true\"} 1\n"
        );
    }
}
