//! The lab's browser: a cookie jar that follows redirects one hop at a time and records every
//! exchange (redacted) as evidence.
//!
//! Redirects are followed by hand, not by the HTTP client, because the lab must see and sometimes
//! change each hop: it reads the authorization request the service provider builds, adds the
//! broker's headless `login_hint`, and tampers with or replays the callback.
//!
//! Pages are read with an HTML parser and CSS selectors (`scraper`): a form field is found the
//! way a browser finds it, whatever the attribute order, quoting or character references.

use std::fmt::Write as _;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use scraper::{Html, Selector};
use url::Url;

use super::evidence::{Actor, Exchange, redact_body, redact_header, redact_url};

/// How long one request may take before the lab calls the other side unresponsive. Generous:
/// tests run on a loaded 2-core machine, and a service provider waiting for a dead broker should
/// give up well before this.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// Redirect hops followed before the lab calls it a loop.
const MAX_HOPS: usize = 10;

/// Where this process reaches the origins only the components can resolve: in containers, every
/// component's URL is `http://<container name>:8080` (that is what the broker puts in redirects,
/// and what the service provider registered as its redirect URI), while the lab reaches the
/// mapped port on 127.0.0.1. Each lab HTTP client sends requests for such an origin through
/// the mapped port (as an HTTP proxy: the request keeps its URL, so redirects, cookies and
/// same-origin checks see the names the components use). Process-wide, because every client of a
/// run needs it — each scenario's browsers, the lab's own API client — and a process runs one
/// stack at a time. Empty when embedded or against an integrator's service.
static ROUTES: RwLock<Vec<Route>> = RwLock::new(Vec::new());

#[derive(Debug, Clone)]
struct Route {
    /// `host:port` as the components name it.
    authority: String,
    /// Where this process reaches it (`http://127.0.0.1:<mapped port>`).
    via: Url,
}

/// Sets the routes of this process's lab clients: `(origin as the components see it, origin as
/// this process reaches it)`. Clients built afterwards use them; pairs that are equal are
/// dropped (embedded).
pub fn set_routes(routes: &[(Url, Url)]) {
    let routes: Vec<Route> = routes
        .iter()
        .filter(|(internal, host)| !same_origin(internal, host))
        .filter_map(|(internal, host)| {
            Some(Route {
                authority: authority(internal)?,
                via: host.clone(),
            })
        })
        .collect();
    *ROUTES
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = routes;
}

/// The TLS settings of every client the lab builds, made once per process. Left to itself,
/// reqwest reads all the system's root certificates for each client it builds, and a live run
/// builds a browser per sampled citizen (a few per cent of the embedded bench went there). The
/// lab's own traffic is plain HTTP; an integrator's service on https is still verified against
/// the system's roots.
fn tls() -> rustls::ClientConfig {
    static TLS: OnceLock<rustls::ClientConfig> = OnceLock::new();
    TLS.get_or_init(|| {
        let mut roots = rustls::RootCertStore::empty();
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("ring offers rustls' default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
    })
    .clone()
}

fn authority(url: &Url) -> Option<String> {
    Some(format!(
        "{}:{}",
        url.host_str()?,
        url.port_or_known_default()?
    ))
}

/// A client builder for every HTTP client of the lab: plain HTTP, [`REQUEST_TIMEOUT`], and the
/// run's routes to containers (see [`set_routes`]).
pub fn client_builder() -> reqwest::ClientBuilder {
    let routes = ROUTES
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let builder = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .use_preconfigured_tls(tls());
    if routes.is_empty() {
        return builder;
    }
    builder.proxy(reqwest::Proxy::custom(move |url| {
        let wanted = authority(url)?;
        routes
            .iter()
            .find(|route| route.authority == wanted)
            .map(|route| route.via.clone())
    }))
}

/// One answer as the browser saw it.
#[derive(Debug, Clone)]
pub struct Page {
    pub status: u16,
    /// The `Location` header resolved against the request URL, for 3xx answers.
    pub location: Option<Url>,
    pub body: String,
}

impl Page {
    #[must_use]
    pub fn is_redirect(&self) -> bool {
        (300..400).contains(&self.status) && self.location.is_some()
    }

    /// The body as JSON, when it is JSON.
    #[must_use]
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }

    /// The `value` of the page's form field `name`, as a browser would submit it.
    #[must_use]
    pub fn field_value(&self, name: &str) -> Option<String> {
        let document = Html::parse_document(&self.body);
        let selector = field_selector(name)?;
        document
            .select(&selector)
            .find_map(|field| field.value().attr("value").map(str::to_owned))
    }

    /// Whether the page has a form field (input, select, textarea, button) named `name`.
    #[must_use]
    pub fn has_field(&self, name: &str) -> bool {
        let document = Html::parse_document(&self.body);
        field_selector(name).is_some_and(|selector| document.select(&selector).next().is_some())
    }

    /// The text of the first element matching the CSS `selector`, character references decoded
    /// and surrounding white space trimmed; `None` when nothing matches or the selector is bad.
    #[must_use]
    pub fn text_of(&self, selector: &str) -> Option<String> {
        let document = Html::parse_document(&self.body);
        let selector = Selector::parse(selector).ok()?;
        let element = document.select(&selector).next()?;
        Some(element.text().collect::<String>().trim().to_owned())
    }
}

/// The form fields called `name` (the HTML parser is the judge of what a field is, not a
/// substring of the markup).
fn field_selector(name: &str) -> Option<Selector> {
    let quoted = serde_json::to_string(name).ok()?;
    Selector::parse(&format!(
        "input[name={quoted}], select[name={quoted}], textarea[name={quoted}], button[name={quoted}]"
    ))
    .ok()
}

/// A browser: one cookie jar, one evidence log.
pub struct Browser {
    client: reqwest::Client,
    pub exchanges: Vec<Exchange>,
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    #[must_use]
    pub fn new() -> Self {
        Self::with(client_builder())
    }

    /// A browser whose requests leave from `local` (the live driver's citizens abroad come
    /// from an address of their own, which a gate in front of the broker can block).
    #[must_use]
    pub fn leaving_from(local: std::net::IpAddr) -> Self {
        Self::with(client_builder().local_address(local))
    }

    fn with(builder: reqwest::ClientBuilder) -> Self {
        let client = builder
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a plain-HTTP client with a cookie store always builds");
        Browser {
            client,
            exchanges: Vec::new(),
        }
    }

    /// `GET url`, one hop, recorded.
    pub async fn get(&mut self, url: &Url) -> Result<Page, String> {
        self.send(reqwest::Method::GET, url, None).await
    }

    /// `POST url` with a form body, one hop, recorded.
    pub async fn post_form(&mut self, url: &Url, form: &[(&str, &str)]) -> Result<Page, String> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        self.send(reqwest::Method::POST, url, Some(body)).await
    }

    async fn send(
        &mut self,
        method: reqwest::Method,
        url: &Url,
        form: Option<String>,
    ) -> Result<Page, String> {
        let mut request = self.client.request(method.clone(), url.clone());
        if let Some(body) = &form {
            request = request
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(body.clone());
        }
        let mut exchange = Exchange::request(
            Actor::Browser,
            &method,
            redact_url(url.as_str()),
            form.as_deref().map(redact_body),
        );
        let response = match request.send().await {
            Ok(response) => response,
            Err(err) => {
                let message = describe_error(&err);
                exchange.error = Some(message.clone());
                self.exchanges.push(exchange);
                return Err(message);
            }
        };
        let status = response.status().as_u16();
        for (name, value) in response.headers() {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            exchange
                .response_headers
                .push((name.to_string(), redact_header(name.as_str(), &value)));
        }
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| url.join(value).ok());
        let body = match response.text().await {
            Ok(body) => body,
            Err(err) => {
                let message = describe_error(&err);
                exchange.status = Some(status);
                exchange.error = Some(message.clone());
                self.exchanges.push(exchange);
                return Err(message);
            }
        };
        exchange.status = Some(status);
        exchange.response_body = (!body.is_empty()).then(|| redact_body(&body));
        self.exchanges.push(exchange);
        Ok(Page {
            status,
            location,
            body,
        })
    }

    /// Follows redirects from `url` while `follow(next)` says so; answers the last page (whose
    /// `location`, if any, is the hop that was not followed).
    pub async fn navigate(
        &mut self,
        url: &Url,
        follow: impl Fn(&Url) -> bool,
    ) -> Result<Page, String> {
        let mut page = self.get(url).await?;
        for _ in 0..MAX_HOPS {
            match &page.location {
                Some(next) if page.is_redirect() && follow(next) => {
                    let next = next.clone();
                    page = self.get(&next).await?;
                }
                _ => return Ok(page),
            }
        }
        Err(format!(
            "more than {MAX_HOPS} redirects starting at {}",
            redact_url(url.as_str())
        ))
    }
}

/// Whether two URLs share scheme, host and port.
#[must_use]
pub fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

fn describe_error(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        format!("no answer within {} s", REQUEST_TIMEOUT.as_secs())
    } else if err.is_connect() {
        "connection refused or unreachable".to_owned()
    } else {
        let mut text = err.to_string();
        let mut source = std::error::Error::source(err);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    }
}

/// The exchanges so far, one line each, for failure messages.
#[must_use]
pub fn trail(browser: &Browser) -> String {
    let mut text = String::from("HTTP exchanges so far (secrets redacted):\n");
    for exchange in &browser.exchanges {
        let _ = writeln!(text, "  {}", exchange.line());
        // What came back when it was not a plain success or redirect: the error page says why.
        if exchange.status.is_some_and(|s| s >= 400)
            && let Some(body) = &exchange.response_body
        {
            let cut: String = body.chars().take(200).collect();
            let more = if cut.len() < body.len() { "…" } else { "" };
            let _ = writeln!(text, "    answered: {cut}{more}");
        }
    }
    text
}

#[must_use]
pub fn excerpt(body: &str) -> String {
    let cut: String = body.chars().take(300).collect();
    if cut.len() < body.len() {
        format!("{cut}…")
    } else {
        cut
    }
}
