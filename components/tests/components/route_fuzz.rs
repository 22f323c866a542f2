//! Route-table-driven fuzzing of the whole stack of `components up`: every route and method
//! that the components list at `GET /routes` gets bounded malformed input (bad JSON, wrong
//! types, hostile and invalid-UTF-8 path parameters, malformed chunked bodies, two
//! `Authorization` headers), and every answer must be
//! - below 500 (a malformed request is the caller's fault, never a crash of ours),
//! - for an error, the JSON error shape `{"error", "error_description"}` (or an HTML page for a
//!   browser), never plain text or an empty body,
//! - in the API's words: no Rust type or crate name in the text.
//!
//! The table comes from the routers themselves, so a route added tomorrow is fuzzed tomorrow.
//! The `idp_fuzz` and `nemid_fuzz` modules go deeper on the OAuth and NemID parameters.

use std::time::Duration;

use mitid_components::runtime::{StackOptions, embedded};
use mitid_components::service::RouteTable;
use reqwest::Method;

/// Words that only the implementation speaks: type names, serde's and axum's own phrases.
const INTERNAL: [&str; 14] = [
    "struct ",
    "enum ",
    "u16",
    "u32",
    "u64",
    "i64",
    "usize",
    "::",
    "Failed to",
    "Invalid URL",
    "borrowed string",
    "serde",
    "axum",
    "Request",
];

/// Hostile path parameter values: plain, invalid UTF-8 once decoded, huge, path-like.
fn path_values() -> Vec<String> {
    vec![
        "x".to_owned(),
        "%FF%FE".to_owned(),
        "a".repeat(3_000),
        "..%2Fx".to_owned(),
        "0101901234".to_owned(),
    ]
}

/// Bodies sent to routes that take one: `(content type, bytes)`.
fn bodies() -> Vec<(Option<&'static str>, Vec<u8>)> {
    vec![
        (Some("application/json"), b"{\"a\":".to_vec()),
        (Some("application/json"), b"[1,\"x\",null]".to_vec()),
        (
            Some("application/json"),
            br#"{"cpr":7,"date_of_birth":"9999-99-99","client_id":{},"password":[],"seconds":1e400,"kind":"nope"}"#.to_vec(),
        ),
        (
            Some("application/x-www-form-urlencoded"),
            b"a=1&a=2&%FF=%FE&grant_type=".to_vec(),
        ),
        (None, vec![0xff, 0xfe, 0x00]),
    ]
}

fn fill(template: &str, value: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find('}')
            .map_or(rest.len(), |e| start + e + 1);
        out.push_str(value);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The checks every answer must pass; `Err` says which and why.
fn judge(what: &str, status: u16, content_type: Option<&str>, body: &[u8]) -> Result<(), String> {
    if status >= 500 {
        return Err(format!(
            "{what}: answered {status}: {}",
            String::from_utf8_lossy(body)
        ));
    }
    let text = String::from_utf8_lossy(body);
    if status >= 400 {
        let kind = content_type.unwrap_or("").to_ascii_lowercase();
        if kind.starts_with("application/json") {
            let value: serde_json::Value = serde_json::from_slice(body)
                .map_err(|err| format!("{what}: {status} body is not JSON ({err}): {text}"))?;
            if !value["error"].is_string() || !value["error_description"].is_string() {
                return Err(format!(
                    "{what}: {status} body is not the error shape: {text}"
                ));
            }
        } else if !kind.starts_with("text/html") {
            return Err(format!(
                "{what}: {status} answered as {content_type:?}, not JSON: {text:?}"
            ));
        }
        if let Some(word) = INTERNAL.iter().find(|word| text.contains(*word)) {
            return Err(format!("{what}: {status} names {word:?}: {text}"));
        }
    }
    Ok(())
}

async fn send(what: &str, request: reqwest::RequestBuilder) -> Result<(), String> {
    let response = request
        .send()
        .await
        .map_err(|err| format!("{what}: no answer: {err}"))?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response
        .bytes()
        .await
        .map_err(|err| format!("{what}: body: {err}"))?;
    judge(what, status, content_type.as_deref(), &body)
}

/// A POST whose chunked encoding is broken after the first chunk, over a raw socket (HTTP
/// clients refuse to send one).
async fn malformed_chunked(base: &str, method: &str, path: &str) -> Result<(), String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let what = format!("{method} {path} with a malformed chunked body");
    let addr = base.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|err| format!("{what}: connect: {err}"))?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n4\r\na=1&\r\nzz\r\nnot a chunk\r\n\r\n"
    );
    let _ = socket.write_all(request.as_bytes()).await;
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), socket.read_to_end(&mut response)).await;
    let text = String::from_utf8_lossy(&response).into_owned();
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return Err(format!("{what}: no complete answer: {text:?}"));
    };
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("{what}: no status line: {text:?}"))?;
    let lower = head.to_ascii_lowercase();
    let content_type = lower
        .lines()
        .find_map(|line| line.strip_prefix("content-type:"))
        .map(str::trim);
    // The body may be chunk-encoded itself: judge the outermost JSON object or page.
    let body = if lower.contains("transfer-encoding: chunked") {
        body.find(['{', '<']).map_or("", |start| {
            &body[start..=body.rfind(['}', '>']).unwrap_or(start)]
        })
    } else {
        body
    };
    judge(&what, status, content_type, body.as_bytes())
}

/// The bounded malformed requests for one route and method: hostile path values (with a
/// hostile query), hostile bodies, and two `Authorization` headers.
fn malformed_requests(
    http: &reqwest::Client,
    component: &str,
    base: &str,
    template: &str,
    m: &Method,
) -> Vec<(String, reqwest::RequestBuilder)> {
    let method = m.as_str();
    let with_body = *m != Method::GET;
    let mut requests = Vec::new();
    for value in path_values() {
        let path = fill(template, &value);
        let url = format!("{base}{path}?page=x&date=notadate&%FF=1&max_age=-1");
        let request = http.request(m.clone(), url);
        let (ct, body) = bodies().swap_remove(0);
        let request = if with_body {
            request.header("content-type", ct.unwrap_or("")).body(body)
        } else {
            request
        };
        requests.push((format!("{component} {method} {path:.80}"), request));
    }
    let path = fill(template, "x");
    if with_body {
        for (ct, body) in bodies() {
            let mut request = http.request(m.clone(), format!("{base}{path}"));
            if let Some(ct) = ct {
                request = request.header("content-type", ct);
            }
            requests.push((
                format!(
                    "{component} {method} {path} body {:?}",
                    String::from_utf8_lossy(&body)
                ),
                request.body(body),
            ));
        }
    }
    requests.push((
        format!("{component} {method} {path} with two Authorization headers"),
        http.request(m.clone(), format!("{base}{path}"))
            .header("authorization", "Bearer a")
            .header("authorization", "Basic Yjpj"),
    ));
    requests
}

#[test]
fn every_route_and_method_answers_malformed_input_with_a_json_client_error() {
    let stack = embedded::start(StackOptions {
        population: 200,
        ..StackOptions::default()
    })
    .expect("embedded stack starts");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let failures = rt.block_on(async {
        let mut failures = Vec::new();
        let mut pairs = 0;
        for (component, _endpoint, base) in stack.host_urls().iter() {
            let table: RouteTable = http
                .get(format!("{base}/routes"))
                .send()
                .await
                .and_then(reqwest::Response::error_for_status)
                .unwrap_or_else(|err| panic!("{component}: GET /routes: {err}"))
                .json()
                .await
                .unwrap_or_else(|err| panic!("{component}: /routes is not a table: {err}"));
            assert!(
                table.routes.len() > 2,
                "{component}: /routes lists only the house routes: {table:?}"
            );
            for route in &table.routes {
                for method in ["GET", "POST", "PUT", "DELETE"] {
                    let listed = route.methods.iter().any(|m| m == method);
                    let m = Method::from_bytes(method.as_bytes()).unwrap();
                    if !listed {
                        // Not routed: a JSON 405, whatever the input.
                        let path = fill(&route.path, "x");
                        let response = http.request(m, format!("{base}{path}")).send().await;
                        match response {
                            Ok(r) if r.status() == 405 => {}
                            Ok(r) => failures.push(format!(
                                "{component} {method} {path}: not in the table, answered {}",
                                r.status()
                            )),
                            Err(err) => failures.push(format!("{method} {path}: {err}")),
                        }
                        continue;
                    }
                    pairs += 1;
                    let with_body = method != "GET";
                    let path = fill(&route.path, "x");
                    let requests =
                        malformed_requests(&http, &component.to_string(), base, &route.path, &m);
                    for (what, request) in requests {
                        if let Err(failure) = send(&what, request).await {
                            failures.push(failure);
                        }
                    }
                    if with_body && let Err(failure) = malformed_chunked(base, method, &path).await
                    {
                        failures.push(failure);
                    }
                }
            }
        }
        assert!(
            pairs >= 100,
            "only {pairs} route x method pairs found: the table is incomplete"
        );
        failures
    });
    drop(stack);
    assert!(
        failures.is_empty(),
        "{} malformed requests were answered badly:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
