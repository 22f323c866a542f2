#!/usr/bin/env python3
"""A MitID relying party hand-rolled on `requests` + PyJWT, configured only from the target file
that `mitid-lab certify init` writes and the rules the README gives integrators.

It is independent of the lab's own reference service provider: the tests certify it as an
integrator would (tests/cli/certify_python_rp.rs). `--variant` switches in one integration
mistake the README warns about, so the tests can prove the suite catches it by its own
requirement:

  cpr-accounts      accounts keyed on dk.cpr instead of sub
  global-state      pending logins in one table looked up by state, not per browser
  no-id-token-hint  RP-initiated logout without id_token_hint
"""

import argparse
import base64
import datetime
import hashlib
import json
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import requests
import yaml

NSIS = "https://data.gov.dk/concept/core/nsis/"
LEVELS = ["low", "substantial", "high"]
# README: NemID is refused at the latest from the shutdown; the day itself is included (UTC).
NEMID_SHUTDOWN = datetime.date(2023, 10, 31)
BROKER_TIMEOUT = 5
LEEWAY = 60
LOGIN_TTL = 600
BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"


class Refused(Exception):
    """A login or logout token that must not be accepted; `status` is what the browser gets."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


def level_of(value):
    text = (value or "").rsplit("/", 1)[-1].lower()
    return LEVELS.index(text) if text in LEVELS else -1


class Broker:
    """Discovery and the JWKS, fetched when first needed and refetched once on an unknown kid."""

    def __init__(self, issuer):
        self.issuer = issuer
        self.lock = threading.Lock()
        self.meta = None
        self.jwks = None

    def metadata(self):
        with self.lock:
            if self.meta is None:
                url = self.issuer + "/.well-known/openid-configuration"
                answer = requests.get(url, timeout=BROKER_TIMEOUT)
                answer.raise_for_status()
                meta = answer.json()
                if meta.get("issuer") != self.issuer:
                    raise Refused("discovery names another issuer", 502)
                self.meta = meta
            return self.meta

    def keys(self, refresh=False):
        with self.lock:
            cached = self.jwks
        if cached is None or refresh:
            answer = requests.get(self.metadata()["jwks_uri"], timeout=BROKER_TIMEOUT)
            answer.raise_for_status()
            cached = answer.json().get("keys", [])
            with self.lock:
                self.jwks = cached
        return cached

    def verify(self, token, audience, nonce=None):
        """Signature by a published key with an algorithm discovery lists; iss, aud, exp, iat,
        and the nonce when one was sent."""
        header = jwt.get_unverified_header(token)
        alg, kid = header.get("alg"), header.get("kid")
        allowed = [a for a in self.metadata().get("id_token_signing_alg_values_supported", [])
                   if a.startswith(("ES", "RS", "PS"))]
        if alg not in allowed:
            raise Refused(f"alg {alg!r} is not one the broker signs with")
        key = self._key(kid, alg) or self._key(kid, alg, refresh=True)
        if key is None:
            raise Refused(f"no published key {kid!r}")
        try:
            claims = jwt.decode(
                token, key, algorithms=[alg], audience=audience, issuer=self.issuer,
                leeway=LEEWAY, options={"require": ["iss", "aud", "exp", "iat", "sub"]})
        except jwt.PyJWTError as err:
            raise Refused(f"token refused: {err}") from err
        if claims["iat"] > time.time() + LEEWAY:
            raise Refused("token issued in the future")
        auds = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(auds) > 1 and claims.get("azp") != audience:
            raise Refused("several audiences and no azp naming us")
        if nonce is not None and claims.get("nonce") != nonce:
            raise Refused("nonce")
        return claims

    def _key(self, kid, alg, refresh=False):
        for jwk in self.keys(refresh):
            if jwk.get("kid") == kid and jwk.get("alg", alg) == alg:
                return jwt.PyJWK(jwk, algorithm=alg).key
        return None


class RelyingParty:
    def __init__(self, target, variant):
        sp, client = target["service_provider"], target["client"]
        self.base = sp["base_url"].rstrip("/")
        self.paths = {name: sp.get(name + "_path", default) for name, default in
                      [("login", "/login"), ("me", "/me"), ("logout", "/logout"),
                       ("backchannel_logout", "/backchannel-logout")]}
        self.callback_path = urllib.parse.urlsplit(client["redirect_uri"]).path
        self.client_id = client["client_id"]
        self.secret = client["client_secret"]
        self.redirect_uri = client["redirect_uri"]
        self.post_logout = client["post_logout_redirect_uris"][0]
        self.broker = Broker("http://" + target["broker"]["listen"])
        self.variant = variant
        self.lock = threading.Lock()
        self.pending = {}
        self.sessions = {}
        self.accounts = {}

    # -- login ---------------------------------------------------------------------------------
    def login(self, query, cookies):
        loa = query.get("loa", "substantial")
        if loa not in LEVELS:
            return 400, {}, {"error": "invalid_request", "error_description": "loa"}
        meta = self.broker.metadata()
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        verifier = secrets.token_urlsafe(48)
        challenge = self.pkce_challenge(verifier)
        params = {
            "response_type": "code", "client_id": self.client_id,
            "redirect_uri": self.redirect_uri, "scope": "openid mitid ssn",
            "state": state, "nonce": nonce, "code_challenge": challenge,
            "code_challenge_method": "S256", "acr_values": NSIS + loa.capitalize(),
        }
        session = self.session_of(cookies)
        if session and level_of(session["loa"]) < LEVELS.index(loa):
            # Step-up: a fresh login at the higher level (README); idp_params is JSON as
            # Python writes it, with a space after the colon.
            params["prompt"] = "login"
            params["idp_params"] = json.dumps({"loa_value": loa})
        txn = {"state": state, "nonce": nonce, "verifier": verifier, "loa": loa,
               "created": time.time()}
        txn_id = state if self.variant == "global-state" else secrets.token_urlsafe(24)
        with self.lock:
            now = time.time()
            for old in [k for k, t in self.pending.items() if now - t["created"] > LOGIN_TTL]:
                del self.pending[old]
            self.pending[txn_id] = txn
        location = meta["authorization_endpoint"] + "?" + urllib.parse.urlencode(params)
        return 302, {"Location": location,
                     "Set-Cookie": cookie("rp_login", txn_id, LOGIN_TTL)}, None

    @staticmethod
    def pkce_challenge(verifier):
        """RFC 7636 S256."""
        return base64.urlsafe_b64encode(
            hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()

    def callback(self, query, cookies):
        if self.variant == "global-state":
            txn_id = query.get("state", "")
        else:
            txn_id = cookies.get("rp_login", "")
        with self.lock:
            txn = self.pending.pop(txn_id, None)
        if txn is None or query.get("state") != txn["state"]:
            raise Refused("no login of this browser has that state")
        if "error" in query:
            raise Refused(f"login ended: {query['error']} {query.get('error_description', '')}",
                          401)
        if "iss" in query and query["iss"] != self.broker.issuer:
            raise Refused("the answer comes from another issuer")
        meta = self.broker.metadata()
        tokens = self.exchange(meta, query.get("code", ""), txn["verifier"])
        id_token = tokens.get("id_token", "")
        claims = self.broker.verify(id_token, self.client_id, txn["nonce"])
        if level_of(claims.get("loa")) < LEVELS.index(txn["loa"]):
            raise Refused("loa below what was asked")
        if claims.get("idp") == "nemid" and \
                datetime.datetime.now(datetime.timezone.utc).date() >= NEMID_SHUTDOWN:
            raise Refused("NemID is retired", 403)
        try:
            info = requests.get(meta["userinfo_endpoint"], timeout=BROKER_TIMEOUT, headers={
                "Authorization": "Bearer " + tokens.get("access_token", "")})
        except requests.RequestException as err:
            raise Refused(f"userinfo did not answer: {err}", 504) from err
        if info.status_code != 200:
            raise Refused(f"userinfo answered {info.status_code}", 502)
        userinfo = info.json()
        if userinfo.get("sub") != claims["sub"]:
            raise Refused("userinfo names another person")
        merged = {**claims, **userinfo}
        key = ("cpr:" + merged.get("dk.cpr", "")) if self.variant == "cpr-accounts" \
            else "sub:" + claims["sub"]
        session_id = secrets.token_urlsafe(24)
        with self.lock:
            account = self.accounts.setdefault(key, f"acct-{len(self.accounts) + 1}")
            self.sessions.pop(cookies.get("rp_session", ""), None)
            self.sessions[session_id] = {
                "sub": claims["sub"], "account": account, "loa": claims.get("loa"),
                "cpr": merged.get("dk.cpr"), "sid": claims.get("sid"), "id_token": id_token}
        return 303, {"Location": self.base + "/",
                     "Set-Cookie": [cookie("rp_session", session_id, None),
                                    cookie("rp_login", "", 0)]}, None

    def exchange(self, meta, code, verifier):
        """The code for tokens at the token endpoint (client_secret_basic, PKCE verifier)."""
        try:
            answer = requests.post(
                meta["token_endpoint"], timeout=BROKER_TIMEOUT,
                auth=(urllib.parse.quote(self.client_id, safe=""),
                      urllib.parse.quote(self.secret, safe="")),
                data={"grant_type": "authorization_code", "code": code,
                      "redirect_uri": self.redirect_uri, "code_verifier": verifier})
        except requests.RequestException as err:
            raise Refused(f"the broker did not answer: {err}", 504) from err
        if answer.status_code != 200:
            raise Refused(f"token endpoint answered {answer.status_code}", 502)
        return answer.json()

    def session_of(self, cookies):
        with self.lock:
            return self.sessions.get(cookies.get("rp_session", ""))

    # -- contract ------------------------------------------------------------------------------
    def me(self, cookies):
        session = self.session_of(cookies)
        if session is None:
            return 401, {}, {"error": "not signed in"}
        return 200, {}, {"sub": session["sub"], "account": session["account"],
                         "loa": session["loa"], "mitid_uuid": session["sub"],
                         "cpr": session["cpr"]}

    def logout(self, cookies):
        with self.lock:
            session = self.sessions.pop(cookies.get("rp_session", ""), None)
        clear = cookie("rp_session", "", 0)
        if session is None:
            return 303, {"Location": self.base + "/", "Set-Cookie": clear}, None
        params = {"client_id": self.client_id, "post_logout_redirect_uri": self.post_logout}
        if self.variant != "no-id-token-hint":
            params["id_token_hint"] = session["id_token"]
        location = self.broker.metadata()["end_session_endpoint"] + "?" + \
            urllib.parse.urlencode(params)
        return 303, {"Location": location, "Set-Cookie": clear}, None

    def backchannel_logout(self, form):
        token = form.get("logout_token", "")
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
            if "iat" not in claims or "sub" not in claims and "sid" not in claims:
                raise Refused("logout token without iat, sub or sid")
            if "sub" in claims:
                claims = self.broker.verify(token, self.client_id)
            else:
                raise Refused("a logout token without sub is not handled here")
        except jwt.PyJWTError as err:
            raise Refused(f"logout_token: {err}") from err
        if BACKCHANNEL_EVENT not in (claims.get("events") or {}) or "nonce" in claims:
            raise Refused("not a logout token")
        with self.lock:
            for key in [k for k, s in self.sessions.items()
                        if s["sub"] == claims["sub"]
                        and (claims.get("sid") is None or s["sid"] == claims.get("sid"))]:
                del self.sessions[key]
        return 200, {}, {"logged_out": True}


def cookie(name, value, max_age):
    age = "" if max_age is None else f"; Max-Age={max_age}"
    return f"{name}={value}; Path=/; HttpOnly; SameSite=Lax{age}"


def make_handler(rp):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def cookies(self):
            jar = {}
            for part in (self.headers.get("Cookie") or "").split(";"):
                if "=" in part:
                    name, value = part.strip().split("=", 1)
                    jar[name] = value
            return jar

        def answer(self, status, headers, body):
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            for name, value in headers.items():
                for one in value if isinstance(value, list) else [value]:
                    self.send_header(name, one)
            if body is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def route(self, handler):
            try:
                self.answer(*handler())
            except Refused as refusal:
                self.answer(refusal.status, {}, {"error": "refused",
                                                 "error_description": str(refusal)})
            except requests.RequestException as err:
                self.answer(502, {}, {"error": "broker_unreachable",
                                      "error_description": str(err)})

        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(url.query))
            jar = self.cookies()
            routes = {
                rp.paths["login"]: lambda: rp.login(query, jar),
                rp.callback_path: lambda: rp.callback(query, jar),
                rp.paths["me"]: lambda: rp.me(jar),
                rp.paths["logout"]: lambda: rp.logout(jar),
                "/": lambda: (200, {}, {"service": "hand-rolled relying party"}),
            }
            handler = routes.get(url.path)
            if handler is None:
                self.answer(404, {}, {"error": "not_found"})
            else:
                self.route(handler)

        def do_POST(self):
            url = urllib.parse.urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
            if url.path == rp.paths["backchannel_logout"]:
                self.route(lambda: rp.backchannel_logout(form))
            elif url.path == rp.paths["logout"]:
                self.route(lambda: rp.logout(self.cookies()))
            else:
                self.answer(404, {}, {"error": "not_found"})

    return Handler


def main(relying_party=None, description=None):
    parser = argparse.ArgumentParser(description=description or __doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--listen", required=True, help="HOST:PORT")
    parser.add_argument("--variant", choices=["cpr-accounts", "global-state", "no-id-token-hint"])
    args = parser.parse_args()
    with open(args.config, encoding="utf-8") as file:
        target = yaml.safe_load(file)
    host, port = args.listen.rsplit(":", 1)
    rp = (relying_party or RelyingParty)(target, args.variant)
    server = ThreadingHTTPServer((host, int(port)), make_handler(rp))
    server.daemon_threads = True
    print(f"{type(rp).__name__} on http://{args.listen}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
