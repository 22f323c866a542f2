Feature: The authorization request the service provider builds
  The lab is the browser: it reads the redirect to the broker before following it.

  @req:SP-REQ-STATE-01
  Scenario: Every login gets its own unguessable state
    Given a citizen "Anna" with the MitID app
    When "Anna" starts 2 logins at the service provider
    Then each authorization request has a different "state" of at least 16 characters

  @req:SP-REQ-NONCE-01
  Scenario: Every login gets its own nonce
    Given a citizen "Anna" with the MitID app
    When "Anna" starts 2 logins at the service provider
    Then each authorization request has a different "nonce" of at least 16 characters

  @req:SP-PKCE-01
  Scenario: The authorization request uses PKCE S256
    Given a citizen "Anna" with the MitID app
    When "Anna" logs in to the service provider
    Then the authorization request uses PKCE with S256
    And a session exists for "Anna"

  @req:SP-REQ-REDIRECT-01
  Scenario: The redirect URI is exactly the registered one
    Given a citizen "Anna" with the MitID app
    When "Anna" starts 1 login at the service provider
    Then the authorization request's redirect_uri is the registered one

  @req:SP-REQ-SCOPE-01
  Scenario: The service asks for an OpenID Connect login
    Given a citizen "Anna" with the MitID app
    When "Anna" starts 1 login at the service provider
    Then the authorization request's scope includes "openid"
