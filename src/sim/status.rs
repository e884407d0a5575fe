//! `Status` bodies and HTTP response helpers, shaped like a real kube-apiserver's (see the
//! captures in `apiserver-wire/`: field order `kind, apiVersion, metadata, status, message,
//! reason, details, code`; `Cache-Control: no-cache, private`; bodies end with a newline; a body
//! over 2048 bytes goes out chunked, as Go's net/http does).

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use serde::Serialize;

#[derive(Serialize, Default, Debug, Clone)]
pub struct StatusMeta {
    #[serde(rename = "continue", skip_serializing_if = "Option::is_none")]
    pub continue_: Option<String>,
}

#[derive(Serialize, Debug, Clone)]
pub struct Cause {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Serialize, Default, Debug, Clone)]
pub struct Details {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<Cause>,
    #[serde(rename = "retryAfterSeconds", skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u32>,
}

/// A `meta/v1 Status`.
#[derive(Serialize, Debug, Clone)]
pub struct Status {
    kind: &'static str,
    #[serde(rename = "apiVersion")]
    api_version: &'static str,
    pub metadata: StatusMeta,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Details>,
    #[serde(skip_serializing_if = "is_zero")]
    pub code: u16,
}

fn is_zero(c: &u16) -> bool {
    *c == 0
}

impl Status {
    pub fn failure(code: u16, reason: &str, message: impl Into<String>) -> Status {
        Status {
            kind: "Status",
            api_version: "v1",
            metadata: StatusMeta::default(),
            status: "Failure",
            message: Some(message.into()),
            reason: Some(reason.to_string()),
            details: None,
            code,
        }
    }

    pub fn success(details: Details) -> Status {
        Status {
            kind: "Status",
            api_version: "v1",
            metadata: StatusMeta::default(),
            status: "Success",
            message: None,
            reason: None,
            details: Some(details),
            code: 0,
        }
    }

    pub fn with_details(mut self, details: Details) -> Status {
        self.details = Some(details);
        self
    }

    pub fn with_continue(mut self, token: String) -> Status {
        self.metadata.continue_ = Some(token);
        self
    }

    /// Compact JSON without a trailing newline (for embedding in a watch ERROR event).
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_else(|_| b"{}".to_vec())
    }

    /// The HTTP status code this Status is answered with (`code`, 200 for Success).
    pub fn http_code(&self) -> u16 {
        if self.code == 0 { 200 } else { self.code }
    }

    pub fn into_response(self) -> Response {
        let code = self.http_code();
        let retry = self.details.as_ref().and_then(|d| d.retry_after_seconds);
        let mut body = self.to_json();
        body.push(b'\n');
        let mut resp = json_response(code, body);
        if let Some(secs) = retry {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if code == 403 {
            resp.headers_mut()
                .insert("x-content-type-options", HeaderValue::from_static("nosniff"));
        }
        resp
    }

    /// A Status for a status code only, as `Faults::fail_next` answers: reason and message of the
    /// errors a real server returns with that code.
    pub fn for_code(code: u16, what: &str) -> Status {
        match code {
            400 => Status::failure(
                400,
                "BadRequest",
                "the server rejected our request for an unknown reason",
            ),
            401 => Status::failure(401, "Unauthorized", "Unauthorized"),
            404 => Status::failure(404, "NotFound", "the server could not find the requested resource")
                .with_details(Details::default()),
            409 => Status::failure(409, "Conflict", format!("Operation cannot be fulfilled on {what}")),
            410 => Status::failure(410, "Expired", "The resourceVersion for the provided list is too old."),
            429 => Status::failure(429, "TooManyRequests", "Too many requests, please try again later.").with_details(
                Details {
                    retry_after_seconds: Some(1),
                    ..Details::default()
                },
            ),
            500 => Status::failure(500, "InternalError", "Internal error occurred: simulated failure").with_details(
                Details {
                    causes: vec![Cause {
                        reason: None,
                        message: "simulated failure".into(),
                        field: None,
                    }],
                    ..Details::default()
                },
            ),
            503 => Status::failure(
                503,
                "ServiceUnavailable",
                "the server is currently unable to handle the request",
            ),
            504 => Status::failure(
                504,
                "Timeout",
                format!("Timeout: request did not complete within the allowed duration ({what})"),
            ),
            c if c >= 500 => Status::failure(c, "InternalError", "Internal error occurred: simulated failure"),
            c => Status::failure(c, "BadRequest", format!("simulated failure ({what})")),
        }
    }
}

fn base_response(code: u16, content_type: &'static str, body: Body) -> Response {
    let mut resp = Response::new(body);
    *resp.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache, private"));
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// Go's net/http sends a response without Content-Length chunked once it outgrows this buffer.
pub const CHUNKING_THRESHOLD: usize = 2048;

/// A JSON response: `Content-Length` for small bodies, chunked above [`CHUNKING_THRESHOLD`].
pub fn json_response(code: u16, body: Vec<u8>) -> Response {
    let body = if body.len() <= CHUNKING_THRESHOLD {
        Body::from(body)
    } else {
        chunked_body(vec![Bytes::from(body)])
    };
    base_response(code, "application/json", body)
}

/// A body sent with `Transfer-Encoding: chunked`, one chunk per element.
pub fn chunked_body(chunks: Vec<Bytes>) -> Body {
    Body::from_stream(futures::stream::iter(
        chunks.into_iter().map(Ok::<Bytes, std::convert::Infallible>),
    ))
}

/// A streamed JSON response (list pages, watches): always chunked.
pub fn json_stream_response(body: Body) -> Response {
    base_response(200, "application/json", body)
}

/// `text/plain` answers (`404 page not found`, `service unavailable`), as Go's http.Error writes them.
pub fn text_response(code: u16, text: &str) -> Response {
    let mut resp = base_response(code, "text/plain; charset=utf-8", Body::from(format!("{text}\n")));
    resp.headers_mut()
        .insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    resp
}

/// The error page a proxy in front of the API server answers with (nginx's shape).
pub fn proxy_page(code: u16) -> Response {
    let reason = StatusCode::from_u16(code)
        .ok()
        .and_then(|c| c.canonical_reason())
        .unwrap_or("Error");
    let page = format!(
        "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n<center><h1>{code} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    );
    base_response(code, "text/html", Body::from(page))
}

pub fn not_found_text() -> Response {
    text_response(404, "404 page not found")
}
