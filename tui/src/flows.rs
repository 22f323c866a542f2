//! The Flows (trainer) view's model: the journeys of `features/flows/`, one of them recorded, and
//! the trainer's place in it.
//!
//! A recording is the conformance crate's ([`mitid_conformance::journey::record`]): the journey
//! ran through the same steps and actions as `mitid-lab run` runs it. This module only reads it:
//! who spoke to whom in each exchange (for the sequence diagram), what the citizen's device
//! showed at that moment, what a token or a `/me` answer said, and a sentence of narration in
//! English or Danish. Presenter mode's redaction ([`redact`]) is here too, so the screen and the
//! exports hide the same things.

use mitid_conformance::evidence::{Actor, Exchange};
use mitid_conformance::journey::{Journey, Party, Recording};
use serde_json::Value;

/// The narration's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Da,
}

impl Lang {
    /// `en` or `da` (what `--lang` and the palette take).
    #[must_use]
    pub fn parse(text: &str) -> Option<Lang> {
        match text {
            "en" => Some(Lang::En),
            "da" => Some(Lang::Da),
            _ => None,
        }
    }

    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Da => "da",
        }
    }

    /// The English or the Danish of a phrase.
    #[must_use]
    pub fn pick(self, en: &'static str, da: &'static str) -> &'static str {
        match self {
            Lang::En => en,
            Lang::Da => da,
        }
    }
}

/// A lifeline of the sequence diagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Lifeline {
    Browser,
    /// The lab in the citizen's place: their phone's app, their chip, their answers at a desk,
    /// and the scenario's own set-up calls.
    Citizen,
    ServiceProvider,
    Broker,
    Cpr,
    CitizenService,
    Support,
    Sms,
}

impl Lifeline {
    pub const ALL: [Lifeline; 8] = [
        Lifeline::Browser,
        Lifeline::Citizen,
        Lifeline::ServiceProvider,
        Lifeline::Broker,
        Lifeline::Cpr,
        Lifeline::CitizenService,
        Lifeline::Support,
        Lifeline::Sms,
    ];

    /// The column heading (at most 9 characters, so eight fit 80 columns).
    #[must_use]
    pub fn short(self, lang: Lang) -> &'static str {
        match self {
            Lifeline::Browser => "Browser",
            Lifeline::Citizen => lang.pick("Citizen", "Borger"),
            Lifeline::ServiceProvider => lang.pick("Service", "Tjeneste"),
            Lifeline::Broker => "Broker",
            Lifeline::Cpr => "CPR",
            Lifeline::CitizenService => lang.pick("CitizenSv", "Borgersv."),
            Lifeline::Support => "Support",
            Lifeline::Sms => "SMS",
        }
    }

    fn name(self, lang: Lang) -> &'static str {
        match self {
            Lifeline::Browser => lang.pick("the browser", "browseren"),
            Lifeline::Citizen => lang.pick("the citizen's device", "borgerens enhed"),
            Lifeline::ServiceProvider => lang.pick("the service provider", "tjenesten"),
            Lifeline::Broker => lang.pick("the MitID broker", "MitID-brokeren"),
            Lifeline::Cpr => lang.pick("the CPR register", "CPR-registret"),
            Lifeline::CitizenService => lang.pick("Citizen Service", "Borgerservice"),
            Lifeline::Support => lang.pick("MitID support", "MitID-support"),
            Lifeline::Sms => lang.pick("the SMS gateway", "SMS-gatewayen"),
        }
    }
}

/// One arrow of the diagram: an exchange and its two ends.
#[derive(Debug, Clone)]
pub struct Message {
    pub from: Lifeline,
    pub to: Lifeline,
    /// The lab's own set-up call (an identity made at the broker's admin API): drawn dim,
    /// narrated as preparation, not as part of the citizen's journey.
    pub setup: bool,
    pub exchange: Exchange,
}

/// A recorded journey as the trainer steps through it.
#[derive(Debug, Clone)]
pub struct Trace {
    pub journey: Journey,
    /// Passed, or why it failed (a journey that fails is worth showing too).
    pub outcome: String,
    pub passed: bool,
    pub messages: Vec<Message>,
}

impl Trace {
    /// Reads `recording` into arrows. The service provider's own calls to the broker (token,
    /// userinfo) are recorded by the broker and come after the browser's; each is put right
    /// after the browser's call to the service provider that caused it.
    #[must_use]
    pub fn new(recording: &Recording) -> Trace {
        let mut messages: Vec<Message> = Vec::new();
        let mut backend: Vec<Message> = Vec::new();
        for exchange in &recording.result.evidence {
            let party = recording.party_at(&exchange.url);
            let to = match party {
                Some(Party::ServiceProvider) => Lifeline::ServiceProvider,
                Some(Party::Broker | Party::BrokerAdmin) | None => Lifeline::Broker,
                Some(Party::Cpr) => Lifeline::Cpr,
                Some(Party::CitizenService) => Lifeline::CitizenService,
                Some(Party::Support) => Lifeline::Support,
                Some(Party::Sms) => Lifeline::Sms,
            };
            let from = match exchange.actor {
                Actor::Browser => Lifeline::Browser,
                Actor::Lab => Lifeline::Citizen,
                Actor::ServiceProvider => Lifeline::ServiceProvider,
            };
            let message = Message {
                from,
                to,
                setup: party == Some(Party::BrokerAdmin),
                exchange: exchange.clone(),
            };
            if exchange.actor == Actor::ServiceProvider {
                backend.push(message);
            } else {
                messages.push(message);
            }
        }
        // The callback to the service provider is what makes it call the broker.
        let mut backend = backend.into_iter().peekable();
        let mut ordered = Vec::with_capacity(messages.len() + backend.len());
        for message in messages {
            let callback = message.from == Lifeline::Browser
                && message.to == Lifeline::ServiceProvider
                && message.exchange.url.contains("code=");
            ordered.push(message);
            if callback {
                while let Some(next) = backend.next_if(|m| !m.exchange.url.contains("/jwks")) {
                    ordered.push(next);
                    if ordered
                        .last()
                        .is_some_and(|m| m.exchange.url.contains("/userinfo"))
                    {
                        break;
                    }
                }
            }
        }
        ordered.extend(backend);
        let (passed, outcome) = match &recording.result.outcome {
            mitid_conformance::outcome::RawOutcome::Passed => (true, "passed".to_owned()),
            mitid_conformance::outcome::RawOutcome::Failed(why) => {
                (false, format!("failed: {why}"))
            }
            mitid_conformance::outcome::RawOutcome::Skipped(why) => {
                (false, format!("skipped: {why}"))
            }
        };
        Trace {
            journey: recording.journey.clone(),
            outcome,
            passed,
            messages: ordered,
        }
    }

    /// What the citizen's device showed when message `at` was exchanged: the latest screen a
    /// message up to `at` put on it.
    #[must_use]
    pub fn device_at(&self, at: usize) -> Device {
        let upto = at.min(self.messages.len().saturating_sub(1));
        self.messages
            .get(..=upto)
            .unwrap_or_default()
            .iter()
            .rev()
            .find_map(|m| device_of(&m.exchange))
            .unwrap_or(Device::Idle)
    }

    /// The decoded token (or, failing one, the service provider's account of the login) nearest
    /// before or at message `at`.
    #[must_use]
    pub fn token_at(&self, at: usize) -> Option<Token> {
        let upto = at.min(self.messages.len().saturating_sub(1));
        self.messages
            .get(..=upto)
            .unwrap_or_default()
            .iter()
            .rev()
            .find_map(|m| token_of(&m.exchange))
    }
}

/// How the MitID app binds the login to the computer it started on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binding {
    /// The 4-digit code the broker's page shows and the app shows too.
    Code(String),
    /// The QR code the citizen scans with the app (its payload).
    Qr(String),
}

/// What the citizen's device shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Device {
    /// No device involved yet.
    Idle,
    /// The MitID app's approval screen: swipe to approve, with the channel binding.
    App(Option<Binding>),
    /// A code display (or, `audio`, an audio code reader) asked for its one-time code.
    CodeDevice { audio: bool },
    /// The MitID chip waiting for its button to be pressed.
    Chip,
    /// The NemID key card with the key number the login asks for.
    KeyCard { key_number: String },
}

/// The screen `exchange` puts on the citizen's device, if it is one that does.
fn device_of(exchange: &Exchange) -> Option<Device> {
    let body = exchange.response_body.as_deref().unwrap_or_default();
    if let Some(shown) = between(body, "id=\"binding\">", "</p>") {
        let shown = shown
            .trim_start_matches("<code>")
            .trim_end_matches("</code>")
            .trim();
        let binding = if shown.len() == 4 && shown.chars().all(|c| c.is_ascii_digit()) {
            Binding::Code(shown.to_owned())
        } else {
            Binding::Qr(shown.to_owned())
        };
        return Some(Device::App(Some(binding)));
    }
    if body.contains("name=\"code\"") {
        let audio = exchange
            .request_body
            .as_deref()
            .is_some_and(|b| b.contains("audio"));
        return Some(Device::CodeDevice { audio });
    }
    if body.contains("id=\"challenge\"") {
        return Some(Device::Chip);
    }
    if let Some(key) = between(body, "id=\"key_number\">", "<") {
        return Some(Device::KeyCard {
            key_number: key.trim().to_owned(),
        });
    }
    if let Ok(json) = serde_json::from_str::<Value>(body)
        && let Some(key) = json.get("key_number")
    {
        let key = match key {
            Value::String(text) => text.clone(),
            Value::Number(n) => n
                .as_u64()
                .map_or_else(|| n.to_string(), |n| format!("{n:04}")),
            other => other.to_string(),
        };
        return Some(Device::KeyCard { key_number: key });
    }
    None
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(&text[from..from + len])
}

/// A token (or claims) decoded for the trainer.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// Where it came from: the ID token of a token response, or the service provider's `/me`.
    pub source: &'static str,
    pub header: Option<Value>,
    pub claims: Value,
}

/// The token an exchange carries: an ID token the evidence shows decoded (`[JWT header {..}
/// claims {..} signature withheld]`), or the claims a `/me` answer reports.
fn token_of(exchange: &Exchange) -> Option<Token> {
    let body = exchange.response_body.as_deref()?;
    let json: Value = serde_json::from_str(body).ok()?;
    if let Some(shown) = json.get("id_token").and_then(Value::as_str)
        && let Some(rest) = shown.strip_prefix("[JWT header ")
    {
        let mut values = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
        let header = values.next()?.ok()?;
        let after = &rest[values.byte_offset()..];
        let claims_text = after.trim_start().strip_prefix("claims ")?;
        let claims = serde_json::Deserializer::from_str(claims_text)
            .into_iter::<Value>()
            .next()?
            .ok()?;
        return Some(Token {
            source: "ID token (token response)",
            header: Some(header),
            claims,
        });
    }
    let path = exchange.url.split('?').next().unwrap_or_default();
    if exchange.actor == Actor::Browser
        && path.ends_with("/me")
        && exchange.status == Some(200)
        && json.is_object()
    {
        return Some(Token {
            source: "the service provider's /me",
            header: None,
            claims: json,
        });
    }
    None
}

/// What a claim means, for the claims a trainer is asked about (none for the rest).
#[must_use]
pub fn explain_claim(name: &str, value: &Value, lang: Lang) -> Option<String> {
    let text = value.as_str().unwrap_or_default();
    let level = text.rsplit('/').next().unwrap_or(text);
    let explained = match name {
        "loa" | "acr" => format!(
            "{}: {level}",
            lang.pick(
                "level of assurance (NSIS), the lower of identity and authenticator assurance",
                "sikringsniveau (NSIS), det laveste af identitets- og autentificeringssikring"
            )
        ),
        "ial" | "mitid.ial_identity_assurance_level" => format!(
            "{}: {level}",
            lang.pick(
                "how surely the identity was proven",
                "hvor sikkert identiteten er bevist"
            )
        ),
        "aal" => format!(
            "{}: {level}",
            lang.pick(
                "how strong the authenticator is",
                "hvor stærk autentifikatoren er"
            )
        ),
        "amr" => {
            let methods: Vec<String> = value
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .filter_map(Value::as_str)
                        .map(|m| amr_word(m, lang).to_owned())
                        .collect()
                })
                .unwrap_or_default();
            format!(
                "{}: {}",
                lang.pick("how the citizen logged in", "hvordan borgeren loggede ind"),
                methods.join(", ")
            )
        }
        "dk.cpr" | "cpr" => lang
            .pick(
                "the CPR number (only with the ssn scope; personal data)",
                "CPR-nummeret (kun med scope ssn; personoplysning)",
            )
            .to_owned(),
        "mitid.uuid" | "uuid" => lang
            .pick(
                "the MitID identity's lasting id",
                "MitID-identitetens faste id",
            )
            .to_owned(),
        "sub" => lang
            .pick(
                "the subject: who the token is about",
                "subjektet: hvem tokenet handler om",
            )
            .to_owned(),
        "nemid.pid" => lang
            .pick("the person's NemID PID", "personens NemID-PID")
            .to_owned(),
        "nonce" => lang
            .pick(
                "ties the token to this login's request",
                "binder tokenet til dette logins forespørgsel",
            )
            .to_owned(),
        "iss" => lang.pick("who issued it", "hvem udstedte det").to_owned(),
        "aud" => lang
            .pick(
                "whom it is for (the client id)",
                "hvem det er til (klient-id)",
            )
            .to_owned(),
        "exp" => lang
            .pick(
                "expires (ID tokens live 5 minutes)",
                "udløber (ID-tokens lever 5 minutter)",
            )
            .to_owned(),
        "alg" => lang
            .pick("the signature's algorithm", "signaturens algoritme")
            .to_owned(),
        "kid" => lang
            .pick(
                "which of the broker's keys signed it",
                "hvilken af brokerens nøgler signerede",
            )
            .to_owned(),
        _ => return None,
    };
    Some(explained)
}

fn amr_word(method: &str, lang: Lang) -> &str {
    match method {
        "password" => lang.pick("password", "adgangskode"),
        "code_token" => lang.pick("code display", "kodeviser"),
        "code_reader" => lang.pick("audio code reader", "kodeoplæser"),
        "code_app" => lang.pick("MitID app", "MitID-app"),
        "code_app_enhanced" => lang.pick("MitID app with PIN", "MitID-app med PIN"),
        "u2f_token" => lang.pick("MitID chip", "MitID-chip"),
        other => other,
    }
}

/// A sentence on what message `m` does in the journey.
#[must_use]
#[allow(
    clippy::too_many_lines,
    reason = "the narration table: one arm per kind of message, in two languages"
)]
pub fn narrate(m: &Message, lang: Lang) -> String {
    let path = m
        .exchange
        .url
        .split('?')
        .next()
        .unwrap_or_default()
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split_once('/'))
        .map_or("", |(_, path)| path);
    let path = format!("/{path}");
    let body = m.exchange.request_body.as_deref().unwrap_or_default();
    let said = |en: &'static str, da: &'static str| lang.pick(en, da).to_owned();
    let line = match (m.from, m.to) {
        _ if m.setup => said(
            "The lab prepares the scenario at the broker (identities, authenticators).",
            "Laboratoriet forbereder scenariet hos brokeren (identiteter, autentifikatorer).",
        ),
        (Lifeline::Browser, Lifeline::ServiceProvider) if path.ends_with("/login") => said(
            "The citizen opens the service provider and asks to log in.",
            "Borgeren åbner tjenesten og beder om at logge ind.",
        ),
        (Lifeline::Browser, Lifeline::ServiceProvider) if m.exchange.url.contains("code=") => said(
            "The browser brings the broker's answer, a one-time code, back to the service provider.",
            "Browseren bringer brokerens svar, en engangskode, tilbage til tjenesten.",
        ),
        (Lifeline::Browser, Lifeline::ServiceProvider) if path.ends_with("/me") => said(
            "The service provider says who is logged in.",
            "Tjenesten viser, hvem der er logget ind.",
        ),
        (Lifeline::Browser, Lifeline::ServiceProvider) if path.contains("logout") => said(
            "The citizen logs out of the service provider.",
            "Borgeren logger ud af tjenesten.",
        ),
        (Lifeline::Browser, Lifeline::Broker) if path.contains("authorize") => said(
            "The browser follows the redirect to the MitID broker, carrying the login request.",
            "Browseren følger omdirigeringen til MitID-brokeren med login-forespørgslen.",
        ),
        (Lifeline::Browser, Lifeline::Broker) if path.ends_with("/user") => said(
            "The citizen types their MitID user ID.",
            "Borgeren indtaster sit MitID bruger-ID.",
        ),
        (Lifeline::Browser, Lifeline::Broker)
            if path.ends_with("/method") && body.contains("app") =>
        {
            said(
                "The citizen chooses the MitID app; the page shows what the app will show.",
                "Borgeren vælger MitID-appen; siden viser det, appen også vil vise.",
            )
        }
        (Lifeline::Browser, Lifeline::Broker)
            if path.ends_with("/method") && body.contains("chip") =>
        {
            said(
                "The citizen chooses the MitID chip; the page sends the chip a challenge.",
                "Borgeren vælger MitID-chippen; siden sender chippen en udfordring.",
            )
        }
        (Lifeline::Browser, Lifeline::Broker) if path.ends_with("/method") => said(
            "The citizen chooses the code device; the page asks for its code and the password.",
            "Borgeren vælger kodeviseren; siden beder om koden og adgangskoden.",
        ),
        (Lifeline::Browser, Lifeline::Broker) if path.ends_with("/code") => said(
            "The citizen types the device's one-time code and the password.",
            "Borgeren indtaster enhedens engangskode og adgangskoden.",
        ),
        (Lifeline::Browser, Lifeline::Broker) if path.ends_with("/chip") => said(
            "The chip's signed answer (after a press of its button) and the password go to the broker.",
            "Chippens signerede svar (efter et tryk på knappen) og adgangskoden sendes til brokeren.",
        ),
        (Lifeline::Browser, Lifeline::Broker) if path.contains("nemid") => said(
            "The citizen logs in with NemID: user ID, password and a code from the key card.",
            "Borgeren logger ind med NemID: bruger-ID, adgangskode og en kode fra nøglekortet.",
        ),
        (Lifeline::Browser, Lifeline::Broker)
            if m.exchange.status.is_some_and(|s| (300..400).contains(&s)) =>
        {
            said(
                "The broker is done and sends the browser back to the service provider.",
                "Brokeren er færdig og sender browseren tilbage til tjenesten.",
            )
        }
        (Lifeline::Browser, Lifeline::Broker) => said(
            "The broker shows its login page.",
            "Brokeren viser sin login-side.",
        ),
        (Lifeline::ServiceProvider, Lifeline::Broker) if path.contains("token") => said(
            "Behind the scenes the service provider trades the code for tokens at the broker.",
            "Bag kulisserne bytter tjenesten koden til tokens hos brokeren.",
        ),
        (Lifeline::ServiceProvider, Lifeline::Broker) if path.contains("userinfo") => said(
            "The service provider asks the broker for the citizen's details.",
            "Tjenesten spørger brokeren om borgerens oplysninger.",
        ),
        (Lifeline::ServiceProvider, Lifeline::Broker) => said(
            "The service provider fetches the broker's signing keys.",
            "Tjenesten henter brokerens signeringsnøgler.",
        ),
        (Lifeline::Citizen, Lifeline::Broker) if path.contains("/app") => said(
            "On the phone the MitID app shows the login; the citizen swipes to approve.",
            "På telefonen viser MitID-appen login'et; borgeren swiper for at godkende.",
        ),
        (Lifeline::Citizen, Lifeline::Broker) if path.contains("mitid") => said(
            "On MitID.dk the citizen manages their MitID.",
            "På MitID.dk administrerer borgeren sit MitID.",
        ),
        (Lifeline::Citizen, Lifeline::Broker) if path.contains("nemid") => said(
            "The citizen deals with NemID (orders, key cards, passwords).",
            "Borgeren håndterer NemID (bestillinger, nøglekort, adgangskoder).",
        ),
        (Lifeline::Citizen, Lifeline::Broker) => said(
            "The citizen's device talks to the broker.",
            "Borgerens enhed taler med brokeren.",
        ),
        (_, Lifeline::Cpr) if m.exchange.method == "POST" => said(
            "The CPR register records the (synthetic) person.",
            "CPR-registret opretter den (syntetiske) person.",
        ),
        (_, Lifeline::Cpr) => said(
            "The CPR register is asked about the person.",
            "CPR-registret bliver spurgt om personen.",
        ),
        (_, Lifeline::CitizenService) => said(
            "At the Citizen Service counter: documents, questions from the CPR register, a decision.",
            "Ved Borgerservice: dokumenter, spørgsmål fra CPR-registret, en afgørelse.",
        ),
        (_, Lifeline::Support) => said(
            "The citizen calls MitID support, who check who is calling.",
            "Borgeren ringer til MitID-support, som tjekker, hvem der ringer.",
        ),
        (_, Lifeline::Sms) => said(
            "The phone receives a text message.",
            "Telefonen modtager en sms.",
        ),
        (from, to) => format!(
            "{} → {}: {} {path}",
            from.name(lang),
            to.name(lang),
            m.exchange.method
        ),
    };
    match m.exchange.status {
        Some(status) if status >= 400 => format!(
            "{line} {} {status}.",
            lang.pick("It is refused with", "Det afvises med")
        ),
        None => format!(
            "{line} {}",
            lang.pick("No answer came.", "Der kom intet svar.")
        ),
        Some(_) => line,
    }
}

/// Presenter mode's redaction of text on screen and in exports: CPR numbers, codes (the app's
/// binding, one-time codes, key numbers and PINs quoted as `name=value` or JSON), and tokens.
/// Evidence already withholds secrets; this also hides what is personal or could be read off
/// a projector.
#[must_use]
pub fn redact(text: &str) -> String {
    let text = mitid_conformance::evidence::redact_jwts(text);
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        // A CPR number: six digits, an optional dash, four digits, not inside a longer number.
        let digits = |from: usize, n: usize| {
            (from..from + n).all(|j| chars.get(j).is_some_and(char::is_ascii_digit))
        };
        let starts_number = i == 0 || !chars[i - 1].is_ascii_alphanumeric();
        // Its first six digits are a birth date (DDMMYY), which a timestamp's seldom are.
        let two = |at: usize| {
            chars[at].to_digit(10).unwrap_or(0) * 10 + chars[at + 1].to_digit(10).unwrap_or(0)
        };
        if starts_number
            && digits(i, 6)
            && (1..=31).contains(&two(i))
            && (1..=12).contains(&two(i + 2))
        {
            let (len, ok) = if chars.get(i + 6) == Some(&'-') && digits(i + 7, 4) {
                (11, true)
            } else {
                (10, digits(i + 6, 4))
            };
            if ok && !chars.get(i + len).is_some_and(char::is_ascii_alphanumeric) {
                out.push_str("[CPR]");
                i += len;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    redact_named_codes(&out)
}

/// The values of fields that carry codes, in JSON (`"name": "1234"` or `"name": 1234`), forms
/// (`name=1234`) and the broker's pages (`id="name">1234<`).
fn redact_named_codes(text: &str) -> String {
    const NAMES: &[&str] = &[
        "binding",
        "key_number",
        "code",
        "pin",
        "temporary_pin",
        "activation_code",
        "p_code",
        "dk.cpr",
        "cpr",
        "cpr_hint",
    ];
    let mut out = text.to_owned();
    for name in NAMES {
        for (open, close) in [
            (format!("\"{name}\":\""), "\""),
            (format!("\"{name}\": \""), "\""),
            (format!("\"{name}\":"), ","),
            (format!("{name}="), "&"),
            (format!("id=\"{name}\">"), "<"),
            (format!("id=\"{name}\"><code>"), "<"),
        ] {
            out = replace_values(&out, &open, close);
        }
    }
    out
}

fn replace_values(text: &str, open: &str, close: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(open) {
        // A name inside a longer one (`qr_code=`, `"error_code":`) is not this field.
        let before = rest[..at].chars().last();
        out.push_str(&rest[..at + open.len()]);
        rest = &rest[at + open.len()..];
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') {
            continue;
        }
        let end = rest
            .find(|c: char| close.contains(c) || c == '}' || c == '"' || c.is_whitespace())
            .unwrap_or(rest.len());
        let value = &rest[..end];
        if value.chars().any(|c| c.is_ascii_digit()) && !value.starts_with('[') {
            out.push_str("[hidden]");
            rest = &rest[end..];
        }
    }
    out.push_str(rest);
    out
}

/// Where the Flows view stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowStatus {
    Idle,
    /// Recording `name` for `ticks` ticks.
    Recording {
        name: String,
        ticks: u32,
    },
    Error(String),
}

/// The Flows view's state.
#[derive(Debug, Clone)]
pub struct Flows {
    pub journeys: Vec<Journey>,
    pub selected: usize,
    pub status: FlowStatus,
    pub trace: Option<Trace>,
    /// The message the trainer is on.
    pub cursor: usize,
}

impl Default for Flows {
    fn default() -> Self {
        Flows::new(Vec::new())
    }
}

impl Flows {
    #[must_use]
    pub fn new(journeys: Vec<Journey>) -> Flows {
        Flows {
            journeys,
            selected: 0,
            status: FlowStatus::Idle,
            trace: None,
            cursor: 0,
        }
    }

    /// The journeys whose name or feature contains `filter` (case-insensitive), as indices.
    #[must_use]
    pub fn rows(&self, filter: &str) -> Vec<usize> {
        let needle = filter.to_lowercase();
        self.journeys
            .iter()
            .enumerate()
            .filter(|(_, j)| {
                needle.is_empty()
                    || j.name.to_lowercase().contains(&needle)
                    || j.feature.to_lowercase().contains(&needle)
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// Shows `recording`, on its first message.
    pub fn show(&mut self, recording: &Recording) {
        self.trace = Some(Trace::new(recording));
        self.cursor = 0;
        self.status = FlowStatus::Idle;
    }

    /// One message on (`forward`) or back; answers whether it moved.
    pub fn step(&mut self, forward: bool) -> bool {
        let Some(trace) = &self.trace else {
            return false;
        };
        let last = trace.messages.len().saturating_sub(1);
        let next = if forward {
            (self.cursor + 1).min(last)
        } else {
            self.cursor.saturating_sub(1)
        };
        let moved = next != self.cursor;
        self.cursor = next;
        moved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presenter_redaction_hides_cpr_numbers_codes_and_tokens_but_not_dates() {
        let text = r#"{"dk.cpr":"0101901234","loa":"https://data.gov.dk/concept/core/nsis/Substantial","binding":"4821"} cpr 010190-1234 on 2023-06-05, token eyJa.eyJb.sig, <p id="key_number">0042</p> method=app&code=123456"#;
        let shown = redact(text);
        for secret in [
            "0101901234",
            "010190-1234",
            "4821",
            "eyJa.eyJb.sig",
            "0042",
            "123456",
        ] {
            assert!(!shown.contains(secret), "{secret} shows in {shown}");
        }
        assert!(shown.contains("2023-06-05"), "{shown}");
        assert!(shown.contains("Substantial"), "{shown}");
        assert!(shown.contains("method=app"), "{shown}");
        // A field whose name only ends like a secret one keeps its value.
        assert_eq!(redact("error_code=7"), "error_code=7");
    }

    #[test]
    fn claims_are_explained_in_both_languages() {
        let loa = Value::String("https://data.gov.dk/concept/core/nsis/Substantial".into());
        let en = explain_claim("loa", &loa, Lang::En).expect("loa is explained");
        let da = explain_claim("loa", &loa, Lang::Da).expect("loa is explained");
        assert!(
            en.contains("Substantial") && en.contains("assurance"),
            "{en}"
        );
        assert!(
            da.contains("Substantial") && da.contains("sikringsniveau"),
            "{da}"
        );
        let amr = serde_json::json!(["code_app"]);
        assert!(
            explain_claim("amr", &amr, Lang::Da)
                .expect("amr is explained")
                .contains("MitID-app")
        );
        assert_eq!(explain_claim("favourite_colour", &loa, Lang::En), None);
    }
}
