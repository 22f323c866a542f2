Feature: A response answers this service's own request, once
  Bearer assertions are one-time: a captured response must not log anyone in again, and a
  response the service never asked for must not log anyone in at all.

  @req:SAML-REPLAY-01
  Scenario: The same response posted again in another browser gives no session
    Given a citizen "Anna" with the MitID app
    When "Anna" logs in through NemLog-in
    And another browser posts "Anna"'s SAML response to the service again
    Then the other browser has no session

  @req:SAML-IRT-01
  Scenario: A response to a request the service never sent (InResponseTo) is refused
    Given a citizen "Anna" with the MitID app
    And NemLog-in serves "Anna"'s next login the fault "foreign_in_response_to"
    When "Anna" logs in through NemLog-in
    Then no session exists

  @req:SAML-IRT-02
  Scenario: An unsolicited response (no InResponseTo) is refused
    Given a citizen "Anna" with the MitID app
    And NemLog-in serves "Anna"'s next login the fault "unsolicited"
    When "Anna" logs in through NemLog-in
    Then no session exists
