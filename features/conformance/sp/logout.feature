Feature: Logout ends the session
  RP-initiated logout and back-channel logout from the broker.

  @needs:logout @req:SP-LOGOUT-RP-01
  Scenario: Logging out at the service ends the session and informs the broker
    Given a citizen "Anna" with the MitID app
    When "Anna" logs in to the service provider
    And "Anna" logs out at the service provider
    Then the browser was sent to the broker's end_session_endpoint
    And no session exists

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
