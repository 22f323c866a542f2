//! The lab's extractors: path, query, form, JSON and raw body, each with a small rejection type
//! that answers in the house JSON error shape and in the API's words.
//!
//! axum's own extractors reject with `text/plain` bodies written for Rust programmers
//! ("Failed to deserialize the JSON body into the target type: expected struct X", "Cannot
//! parse `abc` to a `u16`"). A caller of the lab speaks the API, not our types: every rejection
//! here names the field (through `serde_path_to_error`), the value when it is short enough to
//! echo, and what is allowed, and the words come from [`describe_expected`] instead of the
//! deserializer's type names.

use std::fmt::Write as _;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::ApiError;

/// A JSON body (extractor) or a JSON answer (response), like `axum::Json`, rejected with a
/// [`JsonRejection`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

/// A query string, like `axum::extract::Query`, rejected with a [`QueryRejection`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

/// An `application/x-www-form-urlencoded` body (or the query of a GET), like `axum::Form`,
/// rejected with a [`FormRejection`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Form<T>(pub T);

/// Path parameters, like `axum::extract::Path`, rejected with a [`PathRejection`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

/// The raw request body, for endpoints that parse it themselves (the OAuth endpoints: a
/// repeated parameter must be an error there, which serde's form reader cannot see). Rejected
/// with a [`BodyRejection`].
#[derive(Debug, Clone, Default)]
pub struct Body(pub Bytes);

// ---------------------------------------------------------------------------------------------
// Rejections

/// Why a request body could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyRejection {
    /// Larger than the service's body limit (413).
    #[error("the request body is larger than this service accepts")]
    TooLarge,
    /// The body ended early or its chunked encoding is broken (400).
    #[error(
        "the request body could not be read: its chunked encoding is malformed or it ended early"
    )]
    Unreadable,
}

/// Why a JSON body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonRejection {
    /// The body could not be read.
    #[error(transparent)]
    Body(#[from] BodyRejection),
    /// `Content-Type` is not `application/json` (415).
    #[error("the body must be sent as Content-Type: application/json")]
    ContentType,
    /// Not JSON at all (400).
    #[error("the body is not valid JSON: {0}")]
    Syntax(String),
    /// JSON, but a field is missing, unknown or has a value that is not allowed (400).
    #[error("{0}")]
    Field(String),
}

/// Why a form body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormRejection {
    /// The body could not be read.
    #[error(transparent)]
    Body(#[from] BodyRejection),
    /// `Content-Type` is not `application/x-www-form-urlencoded` (415).
    #[error("the body must be sent as Content-Type: application/x-www-form-urlencoded")]
    ContentType,
    /// A field is missing, unknown or has a value that is not allowed (400).
    #[error("{0}")]
    Field(String),
}

/// Why a query string was refused: a parameter is missing, unknown or not allowed (400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct QueryRejection(String);

/// Why the path parameters were refused (400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PathRejection(String);

impl From<BodyRejection> for ApiError {
    fn from(rejection: BodyRejection) -> Self {
        match rejection {
            BodyRejection::TooLarge => ApiError::PayloadTooLarge(rejection.to_string()),
            BodyRejection::Unreadable => ApiError::MalformedBody(rejection.to_string()),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::Body(body) => body.into(),
            JsonRejection::ContentType => ApiError::UnsupportedMediaType(rejection.to_string()),
            JsonRejection::Syntax(_) | JsonRejection::Field(_) => {
                ApiError::MalformedBody(rejection.to_string())
            }
        }
    }
}

impl From<FormRejection> for ApiError {
    fn from(rejection: FormRejection) -> Self {
        match rejection {
            FormRejection::Body(body) => body.into(),
            FormRejection::ContentType => ApiError::UnsupportedMediaType(rejection.to_string()),
            FormRejection::Field(_) => ApiError::MalformedBody(rejection.to_string()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::MalformedQuery(rejection.0)
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::InvalidRequest(rejection.0)
    }
}

macro_rules! respond_as_api_error {
    ($($rejection:ty),*) => {$(
        impl IntoResponse for $rejection {
            fn into_response(self) -> Response {
                ApiError::from(self).into_response()
            }
        }
    )*};
}
respond_as_api_error!(
    BodyRejection,
    JsonRejection,
    FormRejection,
    QueryRejection,
    PathRejection
);

// ---------------------------------------------------------------------------------------------
// Extractors

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = BodyRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Bytes::from_request(req, state)
            .await
            .map(Body)
            .map_err(|rejection| match rejection {
                BytesRejection::FailedToBufferBody(_)
                    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE =>
                {
                    BodyRejection::TooLarge
                }
                _ => BodyRejection::Unreadable,
            })
    }
}

fn content_type_is(headers: &HeaderMap, wanted: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| {
            let mime = mime.trim();
            mime.eq_ignore_ascii_case(wanted)
                // `application/jwk+json`, `application/problem+json`, ...
                || (wanted == "application/json"
                    && mime.len() > 5
                    && mime.to_ascii_lowercase().starts_with("application/")
                    && mime.to_ascii_lowercase().ends_with("+json"))
        })
}

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = JsonRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !content_type_is(req.headers(), "application/json") {
            return Err(JsonRejection::ContentType);
        }
        let Body(bytes) = Body::from_request(req, state).await?;
        parse_json(&bytes).map(Json)
    }
}

/// Parses a JSON document into `T`, naming the field that does not fit.
///
/// # Errors
/// [`JsonRejection::Syntax`] when the text is not JSON, [`JsonRejection::Field`] when a field is
/// missing, unknown or holds a value `T` does not allow.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, JsonRejection> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let message = json_message(&inner);
        match inner.classify() {
            serde_json::error::Category::Data => {
                JsonRejection::Field(describe_field_error(&path, &message))
            }
            _ => JsonRejection::Syntax(format!(
                "{message} at line {}, column {}",
                inner.line(),
                inner.column()
            )),
        }
    })?;
    deserializer.end().map_err(|error| {
        JsonRejection::Syntax(format!(
            "unexpected text after the JSON value at line {}, column {}",
            error.line(),
            error.column()
        ))
    })?;
    Ok(value)
}

/// `serde_json`'s message without its " at line L column C" suffix.
fn json_message(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    text.strip_suffix(&suffix).unwrap_or(&text).to_owned()
}

/// Parses `application/x-www-form-urlencoded` text into `T`, naming the field that does not fit.
fn parse_urlencoded<T: DeserializeOwned>(bytes: &[u8], noun: &str) -> Result<T, String> {
    let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(bytes));
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let message = error.into_inner().to_string();
        describe_error(noun, &path, &message)
    })
}

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = QueryRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        parse_urlencoded(query.as_bytes(), "parameter")
            .map(Query)
            .map_err(QueryRejection)
    }
}

impl<T, S> FromRequest<S> for Form<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = FormRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if req.method() == Method::GET || req.method() == Method::HEAD {
            let query = req.uri().query().unwrap_or_default().to_owned();
            return parse_urlencoded(query.as_bytes(), "field")
                .map(Form)
                .map_err(FormRejection::Field);
        }
        if !content_type_is(req.headers(), "application/x-www-form-urlencoded") {
            return Err(FormRejection::ContentType);
        }
        let Body(bytes) = Body::from_request(req, state).await?;
        parse_urlencoded(&bytes, "field")
            .map(Form)
            .map_err(FormRejection::Field)
    }
}

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = PathRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        use axum::extract::path::ErrorKind;
        use axum::extract::rejection::PathRejection as AxumPathRejection;

        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(AxumPathRejection::FailedToDeserializePathParams(failure)) => {
                // A single parameter is parsed without its name; the route template has it.
                let names: Vec<String> =
                    axum::extract::RawPathParams::from_request_parts(parts, state)
                        .await
                        .map(|params| params.iter().map(|(name, _)| name.to_owned()).collect())
                        .unwrap_or_default();
                let parameter_at = |index: usize| {
                    names.get(index).map_or_else(
                        || "a path parameter".to_owned(),
                        |name| format!("path parameter `{name}`"),
                    )
                };
                let text = match failure.into_kind() {
                    ErrorKind::InvalidUtf8InPathParam { key } => {
                        format!("path parameter `{key}` is not valid UTF-8 once percent-decoded")
                    }
                    ErrorKind::ParseErrorAtKey {
                        key,
                        value,
                        expected_type,
                    } => format!(
                        "path parameter `{key}` must be {}, not {}",
                        describe_expected(expected_type),
                        echo(&value)
                    ),
                    ErrorKind::ParseErrorAtIndex {
                        index,
                        value,
                        expected_type,
                    } => format!(
                        "{} must be {}, not {}",
                        parameter_at(index),
                        describe_expected(expected_type),
                        echo(&value)
                    ),
                    ErrorKind::ParseError {
                        value,
                        expected_type,
                    } => format!(
                        "{} must be {}, not {}",
                        parameter_at(0),
                        describe_expected(expected_type),
                        echo(&value)
                    ),
                    ErrorKind::DeserializeError {
                        key,
                        value,
                        message,
                    } => {
                        format!("path parameter `{key}` = {}: {message}", echo(&value))
                    }
                    // The route and the handler disagree on the parameters: a defect of ours,
                    // never the caller's, but still no plain-text answer.
                    _ => "the path parameters do not match this route".to_owned(),
                };
                Err(PathRejection(text))
            }
            Err(_) => Err(PathRejection(
                "the path parameters do not match this route".to_owned(),
            )),
        }
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

// ---------------------------------------------------------------------------------------------
// The API's words

/// A caller's value, quoted, or its length when it is too long to echo.
fn echo(value: &str) -> String {
    const LONGEST_ECHO: usize = 40;
    if value.chars().count() <= LONGEST_ECHO {
        format!("{value:?}")
    } else {
        format!("a value of {} characters", value.chars().count())
    }
}

/// What a deserializer's `expected ...` says, in the words of a JSON or form API: no Rust type
/// names (`struct PassportCheckRequest`, `u16`, `a borrowed string`).
#[must_use]
pub fn describe_expected(expected: &str) -> String {
    let expected = expected.trim();
    let whole = |min: &str, max: &str| format!("a whole number from {min} to {max}");
    match expected {
        "u8" => whole("0", "255"),
        "u16" => whole("0", "65535"),
        "u32" => whole("0", "4294967295"),
        "u64" | "usize" | "u128" => whole("0", "18446744073709551615"),
        "i8" => whole("-128", "127"),
        "i16" => whole("-32768", "32767"),
        "i32" => whole("-2147483648", "2147483647"),
        "i64" | "isize" | "i128" => whole("-9223372036854775808", "9223372036854775807"),
        "f32" | "f64" => "a number".to_owned(),
        "a string"
        | "a borrowed string"
        | "a string or borrowed string"
        | "a character"
        | "char"
        | "String"
        | "alloc::string::String" => "a string".to_owned(),
        "a boolean" | "bool" => "true or false".to_owned(),
        "a sequence" | "a sequence of bytes" | "a byte array" => "a list".to_owned(),
        "a map" => "an object".to_owned(),
        "option" | "an option" => "a value or null".to_owned(),
        "unit" | "unit value" => "null".to_owned(),
        "a formatted date string" | "NaiveDate" | "chrono::naive::date::NaiveDate" => {
            "a date written YYYY-MM-DD".to_owned()
        }
        "a formatted date and time string" | "NaiveDateTime" => {
            "a date and time written YYYY-MM-DDTHH:MM:SS".to_owned()
        }
        other if other.starts_with("struct ") || other.starts_with("tuple struct ") => {
            "an object".to_owned()
        }
        other if other.starts_with("enum ") => "one of the allowed values".to_owned(),
        // `internally tagged enum X`, `adjacently tagged enum X`: an object with a tag field.
        other if other.contains("tagged enum ") => "an object".to_owned(),
        other if other.starts_with("a tuple of size ") || other.starts_with("tuple of ") => {
            "a list".to_owned()
        }
        other if other.contains("::") => "a value of another form".to_owned(),
        other => other.to_owned(),
    }
}

/// What a deserializer's `invalid type: ...` names as the value found, in the API's words.
fn describe_found(unexpected: &str) -> String {
    match unexpected {
        "sequence" => "a list".to_owned(),
        "map" => "an object".to_owned(),
        "unit value" => "null".to_owned(),
        other => other
            .replace("floating point", "the number")
            .replace("integer", "the number")
            .replace("boolean", "")
            .replace("string", "the string")
            .trim()
            .to_owned(),
    }
}

/// `field.path: what is wrong`, from serde's error text and the path where it happened.
///
/// serde's data errors have a handful of fixed shapes (`invalid type: X, expected Y`,
/// `missing field`, `unknown field`, `unknown variant`, ...); each gets an API sentence. Any
/// other text comes from a type's own parser (a CPR number, a date) and is kept, prefixed with
/// the field it concerns.
#[must_use]
pub fn describe_field_error(path: &str, message: &str) -> String {
    describe_error("field", path, message)
}

fn describe_error(noun: &str, path: &str, message: &str) -> String {
    let at = |name: &str| {
        if path.is_empty() || path == "." {
            name.to_owned()
        } else if name.is_empty() {
            path.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    let field = if path.is_empty() || path == "." {
        None
    } else {
        Some(path)
    };
    let root = if noun == "parameter" {
        "the query string"
    } else {
        "the body"
    };
    let subject = field.map_or_else(|| root.to_owned(), |f| format!("{noun} `{f}`"));
    let backticked = |text: &str| {
        text.split('`')
            .nth(1)
            .map(str::to_owned)
            .unwrap_or_default()
    };

    if let Some(rest) = message.strip_prefix("missing field ") {
        return format!("{noun} `{}` is missing", at(&backticked(rest)));
    }
    if let Some(rest) = message.strip_prefix("duplicate field ") {
        return format!("{noun} `{}` is given more than once", at(&backticked(rest)));
    }
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let name = backticked(rest);
        let allowed = rest
            .split_once(", expected ")
            .map(|(_, list)| list.trim_start_matches("one of "))
            .map_or_else(String::new, |list| format!(" (allowed: {list})"));
        let allowed = if rest.ends_with("there are no fields") {
            " (nothing is allowed here)".to_owned()
        } else {
            allowed
        };
        return format!("{noun} `{}` is not allowed{allowed}", at(&name));
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        let value = backticked(rest);
        let allowed = rest
            .split_once(", expected ")
            .map_or("", |(_, list)| list)
            .trim_start_matches("one of ");
        let mut text = format!("{subject} must be one of {allowed}, not {}", echo(&value));
        if allowed.is_empty() || rest.ends_with("there are no variants") {
            text = format!("{subject}: {} is not an allowed value", echo(&value));
        }
        return text;
    }
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix)
            && let Some((found, expected)) = rest.rsplit_once(", expected ")
        {
            return format!(
                "{subject} must be {}, not {}",
                describe_expected(expected),
                describe_found(found)
            );
        }
    }
    if message.starts_with("data did not match any variant of untagged enum") {
        return format!("{subject} does not have any of the accepted forms");
    }
    if let Some(rest) = message.strip_prefix("invalid length ")
        && let Some((length, expected)) = rest.split_once(", expected ")
    {
        return format!(
            "{subject} has {length} elements; it must be {}",
            describe_expected(expected)
        );
    }
    // serde_urlencoded and number parsers: "invalid digit found in string", "cannot parse
    // integer from empty string", chrono's "input contains invalid characters", our own types'
    // texts: the field is what the caller needs added.
    let mut text = String::new();
    let _ = write!(text, "{subject}: {message}");
    text
}
