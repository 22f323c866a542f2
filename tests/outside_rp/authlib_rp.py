#!/usr/bin/env python3
"""A MitID relying party on Authlib, configured only from the target file that
`mitid-lab certify init` writes and the rules the README gives integrators.

The OAuth and OpenID Connect work is Authlib's: the token request (client_secret_basic, PKCE
verifier) through its requests client, the PKCE challenge, and ID-token validation (JWKS key by
kid, the algorithms discovery lists, iss, aud, azp, exp, iat, nonce) through its JOSE and OIDC
claim classes. What the README says is the application's job (accounts, level of assurance,
NemID, userinfo sub, logout) and the HTTP plumbing come from handrolled_rp.py, so the two RPs
differ exactly in the library that validates what the broker sends.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import handrolled_rp as base  # noqa: E402
import requests  # noqa: E402
from authlib.integrations.requests_client import OAuth2Session  # noqa: E402
from authlib.jose import JsonWebKey, JsonWebToken  # noqa: E402
from authlib.jose.errors import JoseError  # noqa: E402
from authlib.oauth2.rfc7636 import create_s256_code_challenge  # noqa: E402
from authlib.oidc.core import CodeIDToken  # noqa: E402


class AuthlibBroker(base.Broker):
    def verify(self, token, audience, nonce=None):
        allowed = [a for a in self.metadata().get("id_token_signing_alg_values_supported", [])
                   if a.startswith(("ES", "RS", "PS"))]

        def load_key(header, _payload):
            kid = header.get("kid")
            for refresh in (False, True):
                keys = self.keys(refresh)
                if any(k.get("kid") == kid for k in keys):
                    return JsonWebKey.import_key_set({"keys": keys}).find_by_kid(kid)
            raise base.Refused(f"no published key {kid!r}")

        try:
            claims = JsonWebToken(allowed).decode(
                token, load_key, claims_cls=CodeIDToken,
                claims_options={"iss": {"essential": True, "value": self.issuer}},
                claims_params={"nonce": nonce, "client_id": audience})
            claims.validate(leeway=base.LEEWAY)
        except (JoseError, ValueError) as err:
            raise base.Refused(f"token refused: {err}") from err
        if claims["iat"] > time.time() + base.LEEWAY:
            raise base.Refused("token issued in the future")
        auds = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(auds) > 1 and claims.get("azp") != audience:
            raise base.Refused("several audiences and no azp naming us")
        return dict(claims)


class AuthlibRelyingParty(base.RelyingParty):
    def __init__(self, target, variant):
        super().__init__(target, variant)
        self.broker = AuthlibBroker(self.broker.issuer)

    @staticmethod
    def pkce_challenge(verifier):
        return create_s256_code_challenge(verifier)

    def exchange(self, meta, code, verifier):
        client = OAuth2Session(self.client_id, self.secret,
                               token_endpoint_auth_method="client_secret_basic",
                               redirect_uri=self.redirect_uri)
        try:
            return dict(client.fetch_token(meta["token_endpoint"], grant_type="authorization_code",
                                           code=code, code_verifier=verifier,
                                           timeout=base.BROKER_TIMEOUT))
        except requests.RequestException as err:
            raise base.Refused(f"the broker did not answer: {err}", 504) from err
        except Exception as err:  # an error answer in any shape: no tokens, no session
            raise base.Refused(f"token endpoint refused: {err}", 502) from err


if __name__ == "__main__":
    base.main(AuthlibRelyingParty, __doc__.splitlines()[0])
