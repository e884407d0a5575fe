//! `certificatesigningrequests`: KSM's `internal/store/certificatesigningrequest.go`. Base labels
//! `certificatesigningrequest,signer_name`.

use k8s_openapi::api::certificates::v1::CertificateSigningRequest;

use super::{FamilyDef, ObjectFamilies, RenderContext, Samples, Stability::*};

/// The condition types KSM counts, with the label value it writes for each.
const CONDITIONS: [(&str, &str); 3] = [("Approved", "approved"), ("Denied", "denied"), ("Failed", "failed")];

impl ObjectFamilies for CertificateSigningRequest {
    const BASE_LABELS: &'static [&'static str] = &["certificatesigningrequest", "signer_name"];

    fn base_label_values(&self) -> Vec<&str> {
        vec![
            self.metadata.name.as_deref().unwrap_or(""),
            self.spec.signer_name.as_str(),
        ]
    }

    fn families() -> Vec<FamilyDef<Self>> {
        const P: &str = "kube_certificatesigningrequest";
        vec![
            FamilyDef::annotations(P, Alpha),
            FamilyDef::labels(P, Stable),
            FamilyDef::created(P, Stable, "Unix creation timestamp"),
            FamilyDef::gauge(
                "kube_certificatesigningrequest_condition",
                Stable,
                "The number of each certificatesigningrequest condition",
                |c: &CertificateSigningRequest, _: &RenderContext, out: &mut Samples| conditions(c, out),
            ),
            FamilyDef::gauge(
                "kube_certificatesigningrequest_cert_length",
                Stable,
                "Length of the issued cert",
                |c: &CertificateSigningRequest, _: &RenderContext, out: &mut Samples| {
                    // The decoded bytes (PEM text), not the base64 the API sends; 0 until issued.
                    let len = c
                        .status
                        .as_ref()
                        .and_then(|s| s.certificate.as_ref())
                        .map_or(0, |b| b.0.len());
                    out.value(len as f64);
                },
            ),
        ]
    }
}

/// KSM counts conditions by type only, whatever their `status`, so a request carrying the same
/// type twice counts 2; all three series are always written, 0 when absent.
fn conditions(c: &CertificateSigningRequest, out: &mut Samples) {
    let list = c
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default();
    for (type_, label) in CONDITIONS {
        let count = list.iter().filter(|cond| cond.type_ == type_).count();
        out.push([("condition", label)], count as f64);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::families::render_text;

    /// "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" (59 bytes), base64.
    const CERT_B64: &str = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUIKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=";

    fn csr(status: serde_json::Value) -> CertificateSigningRequest {
        serde_json::from_value(json!({
            "kind": "CertificateSigningRequest",
            "apiVersion": "certificates.k8s.io/v1",
            "metadata": {
                "name": "csr-node-a-client",
                "uid": "c5e24952-8375-4d71-855e-57cfd8459377",
                "resourceVersion": "468",
                "creationTimestamp": "2026-12-04T17:10:31Z",
                "labels": {"app.kubernetes.io/name": "shop"},
                "annotations": {"example.com/requested-by": "node-a"}
            },
            "spec": {
                "request": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURSBSRVFVRVNULS0tLS0K",
                "signerName": "kubernetes.io/kube-apiserver-client-kubelet",
                "usages": ["digital signature", "client auth"],
                "username": "system:node:node-a",
                "groups": ["system:nodes", "system:authenticated"]
            },
            "status": status
        }))
        .expect("valid CertificateSigningRequest")
    }

    fn render(c: &CertificateSigningRequest, family: &str) -> String {
        render_text(c, &RenderContext::default(), family)
    }

    const BASE: &str =
        "certificatesigningrequest=\"csr-node-a-client\",signer_name=\"kubernetes.io/kube-apiserver-client-kubelet\"";

    fn condition_lines(approved: u32, denied: u32, failed: u32) -> String {
        [("approved", approved), ("denied", denied), ("failed", failed)]
            .iter()
            .map(|(c, n)| format!("kube_certificatesigningrequest_condition{{{BASE},condition=\"{c}\"}} {n}\n"))
            .collect()
    }

    fn cond(type_: &str) -> serde_json::Value {
        json!({"type": type_, "status": "True", "reason": "Test", "message": "",
               "lastUpdateTime": "2026-11-24T01:02:03Z", "lastTransitionTime": "2026-11-24T01:02:03Z"})
    }

    #[test]
    fn pending_request_has_zero_conditions_and_no_cert() {
        let c = csr(json!({}));
        assert_eq!(
            render(&c, "kube_certificatesigningrequest_condition"),
            condition_lines(0, 0, 0)
        );
        assert_eq!(
            render(&c, "kube_certificatesigningrequest_cert_length"),
            format!("kube_certificatesigningrequest_cert_length{{{BASE}}} 0\n")
        );
        let mut c = c;
        c.status = None;
        assert_eq!(
            render(&c, "kube_certificatesigningrequest_condition"),
            condition_lines(0, 0, 0)
        );
        assert_eq!(
            render(&c, "kube_certificatesigningrequest_created"),
            format!("kube_certificatesigningrequest_created{{{BASE}}} 1.796404231e+09\n")
        );
        c.metadata.creation_timestamp = None;
        assert_eq!(render(&c, "kube_certificatesigningrequest_created"), "");
    }

    #[test]
    fn issued_certificate_length_is_the_decoded_length() {
        let c = csr(json!({"conditions": [cond("Approved")], "certificate": CERT_B64}));
        assert_eq!(
            render(&c, "kube_certificatesigningrequest_condition"),
            condition_lines(1, 0, 0)
        );
        assert_eq!(
            render(&c, "kube_certificatesigningrequest_cert_length"),
            format!("kube_certificatesigningrequest_cert_length{{{BASE}}} 59\n")
        );
    }

    #[test]
    fn conditions_are_counted_by_type_regardless_of_status() {
        let mut denied_false = cond("Denied");
        denied_false["status"] = json!("False");
        let c = csr(json!({"conditions": [
            cond("Approved"), cond("Failed"), denied_false, cond("Approved"), cond("Denied"), cond("SomethingElse")
        ]}));
        assert_eq!(
            render(&c, "kube_certificatesigningrequest_condition"),
            condition_lines(2, 2, 1)
        );
    }

    #[test]
    fn empty_signer_name_is_written_empty() {
        let mut c = csr(json!({}));
        c.spec.signer_name.clear();
        assert_eq!(
            render(&c, "kube_certificatesigningrequest_cert_length"),
            "kube_certificatesigningrequest_cert_length{certificatesigningrequest=\"csr-node-a-client\",signer_name=\"\"} 0\n"
        );
    }

    #[test]
    fn labels_and_annotations_only_when_allowlisted() {
        let c = csr(json!({}));
        assert_eq!(render(&c, "kube_certificatesigningrequest_labels"), "");
        assert_eq!(render(&c, "kube_certificatesigningrequest_annotations"), "");
        let all = RenderContext::allow_all();
        assert_eq!(
            render_text(&c, &all, "kube_certificatesigningrequest_labels"),
            format!("kube_certificatesigningrequest_labels{{{BASE},label_app_kubernetes_io_name=\"shop\"}} 1\n")
        );
        assert_eq!(
            render_text(&c, &all, "kube_certificatesigningrequest_annotations"),
            format!(
                "kube_certificatesigningrequest_annotations{{{BASE},annotation_example_com_requested_by=\"node-a\"}} 1\n"
            )
        );
    }
}
