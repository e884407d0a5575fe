//! A minimal raw HTTP/1.1 client for the sim's tests: sees the exact status line, headers and
//! (de-chunked) body, and reads watch streams line by line.

use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Guard against hangs only; never a timing assertion.
pub const GUARD: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn chunked(&self) -> bool {
        self.header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Watch bodies: one JSON value per line.
    pub fn lines(&self) -> Vec<Value> {
        self.text()
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_str(l).expect("event line is JSON"))
            .collect()
    }
}

/// An open response whose body is read incrementally.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    chunked: bool,
    remaining: Option<usize>,
    body: Vec<u8>,
    eof: bool,
}

impl Conn {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    async fn fill(&mut self) -> bool {
        let mut tmp = [0u8; 16 * 1024];
        match self.stream.read(&mut tmp).await {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&tmp[..n]);
                true
            }
        }
    }

    /// Moves complete body bytes from `buf` into `body`; returns false at the end of the body.
    fn decode(&mut self) -> bool {
        if self.eof {
            return false;
        }
        if !self.chunked {
            let take = match self.remaining {
                Some(r) => r.min(self.buf.len()),
                None => self.buf.len(),
            };
            self.body.extend(self.buf.drain(..take));
            if let Some(r) = &mut self.remaining {
                *r -= take;
                if *r == 0 {
                    self.eof = true;
                }
            }
            return !self.eof;
        }
        loop {
            let Some(pos) = self.buf.windows(2).position(|w| w == b"\r\n") else {
                return true;
            };
            let size_line = String::from_utf8_lossy(&self.buf[..pos]).to_string();
            let size = usize::from_str_radix(size_line.split(';').next().unwrap_or("").trim(), 16).expect("chunk size");
            if size == 0 {
                self.eof = true;
                return false;
            }
            if self.buf.len() < pos + 2 + size + 2 {
                return true;
            }
            self.body.extend_from_slice(&self.buf[pos + 2..pos + 2 + size]);
            self.buf.drain(..pos + 2 + size + 2);
        }
    }

    /// The next complete body line (without `\n`), or None when the body ended.
    pub async fn next_line(&mut self) -> Option<String> {
        loop {
            if let Some(pos) = self.body.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.body.drain(..=pos).collect();
                return Some(String::from_utf8_lossy(&line[..line.len() - 1]).into_owned());
            }
            let more = self.decode();
            if self.body.contains(&b'\n') {
                continue;
            }
            if !more {
                if self.body.is_empty() {
                    return None;
                }
                return Some(String::from_utf8_lossy(&std::mem::take(&mut self.body)).into_owned());
            }
            if !self.fill().await {
                self.eof = true;
                self.decode();
                if self.body.is_empty() {
                    return None;
                }
            }
        }
    }

    /// The next line as JSON, failing the test after [`GUARD`].
    pub async fn next_json(&mut self) -> Option<Value> {
        let line = tokio::time::timeout(GUARD, self.next_line())
            .await
            .expect("watch line within the guard")?;
        Some(serde_json::from_str(&line).unwrap_or_else(|e| panic!("line is not JSON ({e}): {line}")))
    }

    /// Reads the rest of the body.
    pub async fn read_all(mut self) -> RawResponse {
        tokio::time::timeout(GUARD, async {
            while self.decode() {
                if !self.fill().await {
                    break;
                }
            }
        })
        .await
        .expect("body within the guard");
        RawResponse {
            status: self.status,
            headers: self.headers,
            body: self.body,
        }
    }
}

/// Sends a request and returns once the response head has arrived.
pub async fn open(addr: SocketAddr, method: &str, target: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> Conn {
    tokio::time::timeout(GUARD, async {
        let mut stream = TcpStream::connect(addr).await.expect("connect to the sim");
        let mut req = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        if let Some(b) = body {
            req.push_str(&format!("Content-Length: {}\r\n", b.len()));
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        if let Some(b) = body {
            bytes.extend_from_slice(b);
        }
        stream.write_all(&bytes).await.expect("write request");
        let mut conn = Conn {
            stream,
            buf: Vec::new(),
            status: 0,
            headers: Vec::new(),
            chunked: false,
            remaining: None,
            body: Vec::new(),
            eof: false,
        };
        let head_end = loop {
            if let Some(p) = conn.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p;
            }
            assert!(conn.fill().await, "connection closed before the response head");
        };
        let head = String::from_utf8_lossy(&conn.buf[..head_end]).to_string();
        conn.buf.drain(..head_end + 4);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or("");
        conn.status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status code");
        for l in lines {
            if let Some((k, v)) = l.split_once(':') {
                conn.headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        conn.chunked = conn
            .header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
        conn.remaining = conn.header("content-length").and_then(|v| v.parse().ok());
        if conn.remaining == Some(0) {
            conn.eof = true;
        }
        conn
    })
    .await
    .expect("response head within the guard")
}

/// A whole request/response.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> RawResponse {
    open(addr, method, target, headers, body).await.read_all().await
}

pub async fn get(addr: SocketAddr, target: &str) -> RawResponse {
    request(addr, "GET", target, &[("Accept", "application/json")], None).await
}

/// Reads a watch to its end (the server closes it), as JSON lines.
pub async fn watch_all(addr: SocketAddr, target: &str) -> (RawResponse, Vec<Value>) {
    let resp = get(addr, target).await;
    let lines = if resp.status == 200 { resp.lines() } else { Vec::new() };
    (resp, lines)
}
