#!/usr/bin/env python3
"""An OIOSAML 3 service provider on pysaml2 (a standard SAML library, not the lab's code),
configured only from what `mitid-lab certify init --protocol oiosaml` writes (the folder with the
lab's NemLog-in metadata and the test keys) and the rules the README gives integrators.

The tests certify it as an integrator would (tests/cli/certify_saml_sp.rs):

  pysaml2_sp.py --dir DIR --base-url URL --write-metadata FILE   writes the SP's metadata
  pysaml2_sp.py --dir DIR --base-url URL --listen HOST:PORT      serves the SP

pysaml2 checks the signature (only keys of the IdP's metadata), decrypts the assertion,
Destination, InResponseTo against the outstanding requests, Audience and the validity windows.
The rest is checked here: exactly one EncryptedAssertion, the bearer confirmation's Recipient
(pysaml2 7.5.5 let a wrong one through: the lab's SAML-DEST-02 caught it), specVersion
OIO-SAML-3.0, the NSIS level of assurance at least the one requested, each request and assertion
used once, and no NemID login (AuthenticatingAuthority NemID) after the NemID shutdown.
Business logins (GET /login?identity=professional): the identity type asked for, and the
target file's business_privilege granted for the login's own company (OIOBPP); accounts are keyed
on the persistent NameID, which in a business login is the professional identifier.
"""

import argparse
import base64
import json
import os
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from defusedxml import ElementTree
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import entity_descriptor
from saml2.saml import NAMEID_FORMAT_PERSISTENT, AuthnContextClassRef, NameID
from saml2.samlp import RequestedAuthnContext
from saml2.sigver import get_xmlsec_binary
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
SPEC_VERSION = "https://data.gov.dk/model/core/specVersion"
LOA_ATTRIBUTE = "https://data.gov.dk/concept/core/nsis/loa"
CPR_ATTRIBUTE = "https://data.gov.dk/model/core/eid/cprNumber"
LOA_URI = "https://data.gov.dk/concept/core/nsis/loa/"
PERSON = "https://data.gov.dk/eid/Person"
PROFESSIONAL = "https://data.gov.dk/eid/Professional"
CVR_ATTRIBUTE = "https://data.gov.dk/model/core/eid/professional/cvr"
PRIVILEGES_ATTRIBUTE = "https://data.gov.dk/model/core/eid/privilegesIntermediate"
CVR_SCOPE = "urn:dk:gov:saml:cvrNumberIdentifier:"
LEVELS = ["low", "substantial", "high"]
REQUEST_TTL = 600
# Who authenticated the person, as the lab's NemLog-in names it in AuthenticatingAuthority, and
# the day NemID was shut down (README: NemID cut-off).
NEMID_AUTHORITY = "https://www.nemid.nu"
NEMID_SHUTDOWN = "2023-10-31"


def level_of(value):
    text = (value or "").rsplit("/", 1)[-1].lower()
    return LEVELS.index(text) if text in LEVELS else -1


def sp_config(directory, base_url, with_idp):
    keys = lambda name: os.path.join(directory, name)
    config = {
        "entityid": f"{base_url}/saml/metadata",
        "service": {
            "sp": {
                "endpoints": {
                    "assertion_consumer_service": [(f"{base_url}/saml/acs", BINDING_HTTP_POST)],
                    "single_logout_service": [(f"{base_url}/saml/slo", BINDING_HTTP_REDIRECT)],
                },
                "name_id_format": [NAMEID_FORMAT_PERSISTENT],
                "authn_requests_signed": True,
                "logout_requests_signed": True,
                "want_assertions_signed": True,
                "want_response_signed": False,
                "allow_unsolicited": False,
                "signing_algorithm": SIG_RSA_SHA256,
                "digest_algorithm": DIGEST_SHA256,
            }
        },
        "key_file": keys("sp-signing.key.pem"),
        "cert_file": keys("sp-signing.cert.pem"),
        "encryption_keypairs": [
            {"key_file": keys("sp-encryption.key.pem"), "cert_file": keys("sp-encryption.cert.pem")}
        ],
        "xmlsec_binary": get_xmlsec_binary(["/usr/bin", "/usr/local/bin"]),
        "accepted_time_diff": 60,
        "allow_unknown_attributes": True,
    }
    if with_idp:
        config["metadata"] = {"local": [keys("idp-metadata.xml")]}
    conf = SPConfig()
    conf.load(config)
    return conf


class Refused(Exception):
    pass


def business_privilege(directory):
    """The privilege target.yaml says the service demands of a business login (None: no business
    logins), read by its one line: this sample needs no YAML library."""
    with open(os.path.join(directory, "target.yaml"), encoding="utf-8") as target:
        for line in target:
            key, _, value = line.strip().partition(":")
            if key == "business_privilege" and value.strip():
                return value.strip()
    return None


def granted(encoded, cvr, privilege):
    """Whether the OIOBPP list (base64) grants `privilege` in the group scoped to `cvr`."""
    try:
        root = ElementTree.fromstring(base64.b64decode(encoded or ""))
    except Exception:  # noqa: BLE001 - an unreadable list grants nothing
        return False
    return any(
        group.get("Scope") == CVR_SCOPE + cvr
        and any((p.text or "").strip() == privilege for p in group.iter("Privilege"))
        for group in root.iter("PrivilegeGroup")
    )


class ServiceProvider:
    def __init__(self, directory, base_url):
        self.base_url = base_url
        self.privilege = business_privilege(directory)
        self.client = Saml2Client(config=sp_config(directory, base_url, with_idp=True))
        (self.idp,) = list(self.client.metadata.identity_providers())
        self.lock = threading.Lock()
        # Outstanding AuthnRequests: ID -> (requested level, expiry, professional). One use each.
        self.outstanding = {}
        self.seen_assertions = {}
        self.sessions = {}
        self.accounts = {}

    def login(self, query):
        loa = (query.get("loa") or ["substantial"])[0].lower()
        if loa not in LEVELS:
            raise Refused(f"loa: {loa!r} is not low, substantial or high")
        professional = (query.get("identity") or ["person"])[0] == "professional"
        context = RequestedAuthnContext(
            authn_context_class_ref=[
                AuthnContextClassRef(text=LOA_URI + loa.capitalize()),
                AuthnContextClassRef(text=PROFESSIONAL if professional else PERSON),
            ],
            comparison="minimum",
        )
        request_id, info = self.client.prepare_for_authenticate(
            entityid=self.idp,
            relay_state=secrets.token_urlsafe(16),
            binding=BINDING_HTTP_REDIRECT,
            sign=True,
            sigalg=SIG_RSA_SHA256,
            nameid_format=NAMEID_FORMAT_PERSISTENT,
            requested_authn_context=context,
        )
        now = time.time()
        with self.lock:
            self.outstanding = {k: v for k, v in self.outstanding.items() if v[1] > now}
            self.outstanding[request_id] = (LEVELS.index(loa), now + REQUEST_TTL, professional)
        return dict(info["headers"])["Location"]

    def acs(self, form):
        encoded = (form.get("SAMLResponse") or [""])[0]
        try:
            xml = base64.b64decode(encoded)
            root = ElementTree.fromstring(xml)
        except Exception as err:  # noqa: BLE001 - anything unreadable is refused the same way
            raise Refused(f"SAMLResponse is not a readable SAML message: {err}")
        encrypted = root.findall(f"{{{SAML}}}EncryptedAssertion")
        plain = root.findall(f"{{{SAML}}}Assertion")
        if len(encrypted) != 1 or plain:
            raise Refused("OIOSAML 3: the response must carry exactly one EncryptedAssertion")
        with self.lock:
            outstanding = {k: "" for k in self.outstanding}
        try:
            response = self.client.parse_authn_request_response(
                encoded, BINDING_HTTP_POST, outstanding=outstanding
            )
        except Exception as err:  # noqa: BLE001 - pysaml2 raises many types; all are refusals
            raise Refused(f"pysaml2 refused the response: {type(err).__name__}: {err}")
        if response is None:
            raise Refused("pysaml2 refused the response")
        request_id = response.in_response_to
        assertion = response.assertion
        acs = f"{self.base_url}/saml/acs"
        bearer = [
            c.subject_confirmation_data
            for c in assertion.subject.subject_confirmation
            if c.method == "urn:oasis:names:tc:SAML:2.0:cm:bearer"
        ]
        if not bearer or any(data is None or data.recipient != acs for data in bearer):
            raise Refused(f"the bearer SubjectConfirmationData's Recipient is not {acs}")
        values = {}
        for statement in assertion.attribute_statement:
            for attribute in statement.attribute:
                values[attribute.name] = [v.text for v in attribute.attribute_value]
        authorities = [
            authority.text
            for statement in assertion.authn_statement
            if statement.authn_context is not None
            for authority in statement.authn_context.authenticating_authority
        ]
        if NEMID_AUTHORITY in authorities and time.strftime("%Y-%m-%d", time.gmtime()) >= NEMID_SHUTDOWN:
            raise Refused(f"a NemID login after the NemID shutdown on {NEMID_SHUTDOWN}")
        spec = (values.get(SPEC_VERSION) or [None])[0]
        if spec != "OIO-SAML-3.0":
            raise Refused(f"specVersion is {spec!r}, not OIO-SAML-3.0")
        now = time.time()
        with self.lock:
            pending = self.outstanding.pop(request_id, None)
            if pending is None or pending[1] <= now:
                raise Refused(f"InResponseTo {request_id!r} is no outstanding request")
            wanted = pending[0]
            got = level_of((values.get(LOA_ATTRIBUTE) or [None])[0])
            if got < wanted:
                raise Refused(f"level of assurance {got} is lower than the {wanted} requested")
            cvr = (values.get(CVR_ATTRIBUTE) or [None])[0]
            if pending[2] != (cvr is not None):
                raise Refused("the identity type (person or professional) is not the one asked for")
            if cvr is not None and not (
                self.privilege
                and granted((values.get(PRIVILEGES_ATTRIBUTE) or [None])[0], cvr, self.privilege)
            ):
                raise Refused(f"no {self.privilege} granted for the company {cvr}")
            self.seen_assertions = {k: v for k, v in self.seen_assertions.items() if v > now}
            if assertion.id in self.seen_assertions:
                raise Refused(f"assertion {assertion.id} was already used")
            self.seen_assertions[assertion.id] = now + 2 * REQUEST_TTL
            name_id = response.name_id.text
            account = self.accounts.setdefault(name_id, f"account-{len(self.accounts) + 1}")
            session_index = None
            for statement in assertion.authn_statement:
                session_index = statement.session_index
            session = secrets.token_urlsafe(24)
            self.sessions[session] = {
                "sub": name_id,
                "account": account,
                "cpr": (values.get(CPR_ATTRIBUTE) or [None])[0],
                "loa": LEVELS[got] if got >= 0 else None,
                "identity_type": "person" if cvr is None else "professional",
                "cvr": cvr,
                "session_index": session_index,
            }
        return session

    def me(self, session):
        with self.lock:
            found = self.sessions.get(session)
        if not found:
            return None
        return {k: v for k, v in found.items() if k != "session_index"}

    def logout(self, session):
        with self.lock:
            found = self.sessions.pop(session, None)
        if not found:
            return None
        destination = self.client.metadata.single_logout_service(
            self.idp, BINDING_HTTP_REDIRECT, "idpsso"
        )[0]["location"]
        _, request = self.client.create_logout_request(
            destination,
            self.idp,
            name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text=found["sub"]),
            session_indexes=[found["session_index"]] if found["session_index"] else None,
            sign=False,
        )
        info = self.client.apply_binding(
            BINDING_HTTP_REDIRECT,
            str(request),
            destination,
            relay_state="",
            sign=True,
            sigalg=SIG_RSA_SHA256,
        )
        return dict(info["headers"])["Location"]

    def slo(self, query):
        response = (query.get("SAMLResponse") or [""])[0]
        try:
            self.client.parse_logout_request_response(response, BINDING_HTTP_REDIRECT)
        except Exception as err:  # noqa: BLE001
            raise Refused(f"LogoutResponse refused: {type(err).__name__}: {err}")


def make_handler(sp):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):
            print("%s %s" % (self.address_string(), fmt % args), flush=True)

        def session(self):
            for part in (self.headers.get("Cookie") or "").split(";"):
                name, _, value = part.strip().partition("=")
                if name == "sp_session":
                    return value
            return None

        def answer(self, status, body, headers=()):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def redirect(self, status, location, headers=()):
            self.send_response(status)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()

        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(url.query)
            try:
                if url.path == "/login":
                    self.redirect(302, sp.login(query))
                elif url.path == "/me":
                    found = sp.me(self.session())
                    if found:
                        self.answer(200, found)
                    else:
                        self.answer(401, {"error": "no session; log in at /login"})
                elif url.path == "/logout":
                    clear = [("Set-Cookie", "sp_session=; Path=/; Max-Age=0")]
                    location = sp.logout(self.session())
                    self.redirect(302 if location else 303, location or "/logged-out", clear)
                elif url.path == "/saml/slo":
                    sp.slo(query)
                    self.redirect(303, "/logged-out")
                elif url.path == "/logged-out":
                    self.answer(200, {"logged_out": True})
                else:
                    self.answer(404, {"error": "not found"})
            except Refused as err:
                self.answer(400, {"error": str(err)})

        def do_POST(self):
            url = urllib.parse.urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            form = urllib.parse.parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
            if url.path != "/saml/acs":
                self.answer(404, {"error": "not found"})
                return
            try:
                session = sp.acs(form)
            except Refused as err:
                print(f"refused: {err}", flush=True)
                self.answer(403, {"error": str(err)})
                return
            cookie = f"sp_session={session}; Path=/; HttpOnly; SameSite=Lax"
            self.redirect(303, "/me", [("Set-Cookie", cookie)])

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, help="the folder certify init wrote")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--listen")
    parser.add_argument("--write-metadata")
    args = parser.parse_args()
    base_url = args.base_url.rstrip("/")
    if args.write_metadata:
        conf = sp_config(args.dir, base_url, with_idp=False)
        with open(args.write_metadata, "w", encoding="utf-8") as out:
            out.write(str(entity_descriptor(conf)))
        return
    host, _, port = args.listen.rpartition(":")
    sp = ServiceProvider(args.dir, base_url)
    server = ThreadingHTTPServer((host, int(port)), make_handler(sp))
    print(f"listening on {args.listen}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
