//! The shared server plumbing answers every malformed request with a JSON error, never a panic.

use mitid_components::service::routing::{get, post};
use mitid_components::service::{self, ApiError, Json, Path, Query, RunningService};
use reqwest::StatusCode;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Greeting {
    name: String,
    times: u8,
}

#[derive(Debug, Deserialize)]
struct Page {
    page: u32,
}

async fn greet(Json(greeting): Json<Greeting>) -> Result<Json<serde_json::Value>, ApiError> {
    if greeting.name.is_empty() {
        return Err(ApiError::invalid_request("name must not be empty"));
    }
    Ok(Json(
        serde_json::json!({ "hello": greeting.name, "times": greeting.times }),
    ))
}

async fn list(Query(page): Query<Page>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "page": page.page }))
}

async fn item(Path(number): Path<u16>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "number": number }))
}

async fn start_test_service(body_limit: usize) -> RunningService {
    let router = service::Routes::new()
        .route("/greet", post(greet))
        .route("/list", get(list))
        .route("/items/{number}", get(item));
    let router = service::standard_with_limit("test-service", router, body_limit);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    service::spawn(listener, router).expect("spawn test service")
}

/// Sends a request and returns status and JSON body; the failure message names everything.
async fn call(request: reqwest::RequestBuilder, what: &str) -> (StatusCode, serde_json::Value) {
    let response = request
        .send()
        .await
        .unwrap_or_else(|err| panic!("{what}: request failed: {err}"));
    let status = response.status();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .map(|value| value.to_str().unwrap_or("<non-ascii>").to_owned());
    let text = response
        .text()
        .await
        .unwrap_or_else(|err| panic!("{what}: reading body failed: {err}"));
    let body = serde_json::from_str(&text).unwrap_or_else(|err| {
        panic!("{what}: status {status}, content type {content_type:?}, body is not JSON ({err}): {text:?}")
    });
    (status, body)
}

fn assert_error(what: &str, got: &(StatusCode, serde_json::Value), status: StatusCode, code: &str) {
    let (got_status, body) = got;
    assert_eq!(*got_status, status, "{what}: wrong status; body {body}");
    assert_eq!(body["error"], code, "{what}: wrong error code; body {body}");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|text| !text.is_empty()),
        "{what}: error_description missing or empty; body {body}"
    );
}

#[tokio::test]
async fn health_names_the_component() {
    let running = start_test_service(service::DEFAULT_BODY_LIMIT).await;
    let client = reqwest::Client::new();
    let got = call(
        client.get(format!("{}/health", running.url())),
        "GET /health",
    )
    .await;
    assert_eq!(got.0, StatusCode::OK, "GET /health: {}", got.1);
    assert_eq!(
        got.1,
        serde_json::json!({ "status": "ok", "component": "test-service" })
    );
    running.shutdown().await;
}

#[tokio::test]
async fn well_formed_requests_reach_the_handler() {
    let running = start_test_service(service::DEFAULT_BODY_LIMIT).await;
    let client = reqwest::Client::new();
    let got = call(
        client
            .post(format!("{}/greet", running.url()))
            .json(&serde_json::json!({ "name": "Freja", "times": 2 })),
        "POST /greet with valid JSON",
    )
    .await;
    assert_eq!(
        got,
        (
            StatusCode::OK,
            serde_json::json!({ "hello": "Freja", "times": 2 })
        )
    );
    let got = call(
        client.get(format!("{}/list?page=3", running.url())),
        "GET /list?page=3",
    )
    .await;
    assert_eq!(got, (StatusCode::OK, serde_json::json!({ "page": 3 })));
    let got = call(
        client
            .post(format!("{}/greet", running.url()))
            .json(&serde_json::json!({ "name": "", "times": 1 })),
        "POST /greet with empty name",
    )
    .await;
    assert_error(
        "handler's own ApiError",
        &got,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    running.shutdown().await;
}

#[tokio::test]
async fn malformed_requests_get_json_errors() {
    let running = start_test_service(1024).await;
    let base = running.url();
    let client = reqwest::Client::new();
    let json_post = |body: &'static str| {
        client
            .post(format!("{base}/greet"))
            .header("content-type", "application/json")
            .body(body)
    };

    for (what, body) in [
        ("truncated JSON", r#"{"name": "Freja""#),
        ("not JSON at all", "\u{0}\u{1}garbage"),
        ("missing field", r#"{"name": "Freja"}"#),
        ("wrong type", r#"{"name": 7, "times": 1}"#),
        ("number out of range", r#"{"name": "Freja", "times": 300}"#),
        ("empty body", ""),
    ] {
        let got = call(json_post(body), &format!("POST /greet, {what}: {body:?}")).await;
        assert_error(
            &format!("POST /greet, {what}: {body:?}"),
            &got,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        );
    }

    let got = call(
        client
            .post(format!("{base}/greet"))
            .header("content-type", "text/plain")
            .body(r#"{"name":"a","times":1}"#),
        "POST /greet as text/plain",
    )
    .await;
    assert_error(
        "POST /greet as text/plain",
        &got,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );

    let got = call(
        client.get(format!("{base}/list?page=minus-one")),
        "GET /list?page=minus-one",
    )
    .await;
    assert_error(
        "GET /list with a bad page",
        &got,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    let got = call(client.get(format!("{base}/list")), "GET /list without page").await;
    assert_error(
        "GET /list without page",
        &got,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );

    let got = call(
        client.get(format!("{base}/no/such/route")),
        "GET /no/such/route",
    )
    .await;
    assert_error("unknown route", &got, StatusCode::NOT_FOUND, "not_found");
    let got = call(client.delete(format!("{base}/greet")), "DELETE /greet").await;
    assert_error(
        "wrong method",
        &got,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );

    running.shutdown().await;
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused_with_413() {
    let running = start_test_service(1024).await;
    let base = running.url();
    let client = reqwest::Client::new();
    let huge = format!(r#"{{"name": "{}", "times": 1}}"#, "x".repeat(64 * 1024));

    // Declared length over the limit: refused before the handler runs, even on a GET route.
    let got = call(
        client
            .post(format!("{base}/greet"))
            .header("content-type", "application/json")
            .body(huge.clone()),
        "POST /greet with a 64 KiB body and Content-Length",
    )
    .await;
    assert_error(
        "declared oversize body",
        &got,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );

    // No declared length (chunked): the extractor's limit catches it while buffering.
    let (status, body) = raw_chunked_post(running.addr(), "/greet", huge.as_bytes()).await;
    let got = (status, body);
    assert_error(
        "chunked oversize body",
        &got,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );

    // The service still serves after refusing.
    let got = call(
        client.get(format!("{base}/health")),
        "GET /health after oversize bodies",
    )
    .await;
    assert_eq!(got.0, StatusCode::OK, "{}", got.1);
    running.shutdown().await;
}

#[tokio::test]
async fn shutdown_frees_the_port() {
    let running = start_test_service(service::DEFAULT_BODY_LIMIT).await;
    let addr = running.addr();
    // A keep-alive connection in the client's pool must not keep the server alive.
    let client = reqwest::Client::new();
    let got = call(
        client.get(format!("{}/health", running.url())),
        "GET /health",
    )
    .await;
    assert_eq!(got.0, StatusCode::OK);
    running.shutdown().await;
    tokio::net::TcpListener::bind(addr)
        .await
        .unwrap_or_else(|err| panic!("port {addr} still taken after shutdown: {err}"));
}

/// POSTs `body` with `Transfer-Encoding: chunked` (no `Content-Length`) over a raw socket and
/// returns the status and JSON body; reqwest only sends chunked bodies from streams.
async fn raw_chunked_post(
    addr: std::net::SocketAddr,
    path: &str,
    body: &[u8],
) -> (StatusCode, serde_json::Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    for chunk in body.chunks(4096) {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    // The server may answer and close before reading everything; a write error then is fine.
    let _ = socket.write_all(&request).await;
    let mut response = Vec::new();
    let _ = socket.read_to_end(&mut response).await;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status_code: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("chunked POST {path}: no status line in {text:?}"));
    let (head, payload) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("chunked POST {path}: no header end in {text:?}"));
    // The JSON answer may itself be chunk-encoded: take the outermost JSON object.
    let json_text = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        &payload[payload.find('{').unwrap_or(0)..=payload.rfind('}').unwrap_or(payload.len() - 1)]
    } else {
        payload
    };
    let body = serde_json::from_str(json_text)
        .unwrap_or_else(|err| panic!("chunked POST {path}: body not JSON ({err}): {text:?}"));
    (
        StatusCode::from_u16(status_code).expect("valid status"),
        body,
    )
}

/// The words of a rejection: the field, what is allowed; never a Rust type.
#[tokio::test]
async fn rejections_name_the_field_in_the_api_s_words() {
    let running = start_test_service(service::DEFAULT_BODY_LIMIT).await;
    let base = running.url();
    let client = reqwest::Client::new();
    let cases: [(reqwest::RequestBuilder, &str, &str); 6] = [
        (
            client
                .post(format!("{base}/greet"))
                .header("content-type", "application/json")
                .body(r#"{"name": "Freja", "times": 300}"#),
            "field `times` must be a whole number from 0 to 255",
            "number out of range",
        ),
        (
            client
                .post(format!("{base}/greet"))
                .header("content-type", "application/json")
                .body(r#"{"name": 7, "times": 1}"#),
            "field `name` must be a string",
            "wrong type",
        ),
        (
            client
                .post(format!("{base}/greet"))
                .header("content-type", "application/json")
                .body("7"),
            "the body must be an object",
            "a list for an object",
        ),
        (
            client
                .post(format!("{base}/greet"))
                .header("content-type", "application/json")
                .body(r#"{"name": "Freja"}"#),
            "field `times` is missing",
            "missing field",
        ),
        (
            client.get(format!("{base}/list?page=x")),
            "parameter `page`",
            "bad query parameter",
        ),
        (
            client.get(format!("{base}/items/70000")),
            "path parameter `number` must be a whole number from 0 to 65535",
            "path parameter out of range",
        ),
    ];
    for (request, wanted, what) in cases {
        let (status, body) = call(request, what).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {body}");
        let text = body["error_description"].as_str().unwrap_or_default();
        assert!(text.contains(wanted), "{what}: {text:?} lacks {wanted:?}");
        for internal in [
            "struct",
            "u8",
            "u16",
            "u32",
            "Greeting",
            "Page",
            "Failed to",
        ] {
            assert!(
                !text.contains(internal),
                "{what}: {text:?} names {internal:?}"
            );
        }
    }
    running.shutdown().await;
}

/// A percent-encoded path parameter that is not UTF-8, and two Authorization headers, get the
/// JSON error shape from the house rules, on any route.
#[tokio::test]
async fn invalid_utf8_paths_and_repeated_authorization_are_json_errors() {
    let running = start_test_service(service::DEFAULT_BODY_LIMIT).await;
    let base = running.url();
    let client = reqwest::Client::new();
    let got = call(
        client.get(format!("{base}/items/%FF%FE")),
        "invalid UTF-8 path",
    )
    .await;
    assert_error(
        "invalid UTF-8 path",
        &got,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    assert!(
        got.1["error_description"]
            .as_str()
            .unwrap()
            .contains("`number`"),
        "{}",
        got.1
    );

    let got = call(
        client
            .get(format!("{base}/list?page=1"))
            .header("authorization", "Bearer a")
            .header("authorization", "Bearer b"),
        "two Authorization headers",
    )
    .await;
    assert_error(
        "two Authorization headers",
        &got,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    running.shutdown().await;
}

/// `GET /routes` lists every route the component registered, with its methods.
#[tokio::test]
async fn routes_lists_the_route_table() {
    let running = start_test_service(service::DEFAULT_BODY_LIMIT).await;
    let (status, body) = call(
        reqwest::Client::new().get(format!("{}/routes", running.url())),
        "GET /routes",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let table: service::RouteTable = serde_json::from_value(body).expect("a route table");
    let listed: Vec<(String, Vec<String>)> = table
        .routes
        .into_iter()
        .map(|r| (r.path, r.methods))
        .collect();
    let want = |path: &str, method: &str| (path.to_owned(), vec![method.to_owned()]);
    assert_eq!(
        listed,
        vec![
            want("/greet", "POST"),
            want("/list", "GET"),
            want("/items/{number}", "GET"),
            want("/health", "GET"),
            want("/routes", "GET"),
        ]
    );
    assert_eq!(table.component, "test-service");
    running.shutdown().await;
}
