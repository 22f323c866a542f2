Feature: Single logout through NemLog-in
  Logging out at the service ends its own session and tells NemLog-in with a signed
  LogoutRequest by HTTP-Redirect.

  @needs:logout @req:SAML-LOGOUT-01
  Scenario: Logging out ends the session and sends a signed LogoutRequest to NemLog-in
    Given a citizen "Anna" with the MitID app
    When "Anna" logs in through NemLog-in
    And "Anna" logs out at the service through NemLog-in
    Then the service ended its own session before sending the browser to NemLog-in
    And NemLog-in received a LogoutRequest for "Anna" by HTTP-Redirect, signed by the service
    And no session exists
