Feature: Logout ends the session
  RP-initiated logout and back-channel logout from the broker.

  # /me is asked right after the service's own answer to GET /logout, before the browser reaches
  # the broker: the broker's back-channel call could otherwise end a session /logout kept.
  @needs:logout @req:SP-LOGOUT-RP-01
  Scenario: Logging out at the service ends the session and informs the broker
    Given a citizen "Anna" with the MitID app
    When "Anna" logs in to the service provider
    And "Anna" logs out at the service provider
    Then the service provider ended its session before sending the browser to the broker
    And the browser was sent to the broker's end_session_endpoint
    And no session exists

  @needs:logout @req:SP-LOGOUT-RP-02
  Scenario: Logging out at the service sends the session's ID token as id_token_hint
    Given a citizen "Anna" with the MitID app
    When "Anna" logs in to the service provider
    And "Anna" logs out at the service provider
    Then the logout request to the broker carried an id_token_hint for "Anna"

  @needs:backchannel @req:SP-LOGOUT-BC-01
  Scenario: A back-channel logout from the broker ends the session
    Given a citizen "Anna" with the MitID app
    When "Anna" logs in to the service provider
    And the broker sends a back-channel logout for "Anna"
    Then no session exists

  @needs:backchannel @req:SP-LOGOUT-BC-02
  Scenario: A back-channel logout signed by a foreign key is refused
    Given a citizen "Anna" with the MitID app
    When "Anna" logs in to the service provider
    And someone sends a back-channel logout for "Anna" signed by a foreign key
    Then a session exists for "Anna"

  @needs:backchannel @req:SP-LOGOUT-BC-03
  Scenario: A back-channel logout token that does not verify is answered with 400
    Given a citizen "Anna" with the MitID app
    When "Anna" logs in to the service provider
    And someone sends a back-channel logout for "Anna" signed by a foreign key
    Then the service provider answered the forged logout token with 400
