Feature: Sessions exist only after a login
  The lab judges a service provider by what its /me endpoint answers: 200 with the person once
  a login completed, 401 otherwise.

  @req:SP-SESSION-01
  Scenario: A browser that never logged in has no session
    When a fresh browser asks the service provider who is logged in
    Then no session exists

  @req:SP-COOKIE-01
  Scenario: The session cookie cannot be read by scripts and is not sent cross-site
    Given a citizen "Anna" with the MitID app
    When "Anna" logs in to the service provider
    Then a session exists for "Anna"
    And the session cookie is HttpOnly and has a SameSite attribute
