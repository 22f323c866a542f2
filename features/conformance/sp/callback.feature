Feature: The callback: state and authorization code
  The lab is the browser, so it can change the callback before delivering it, or deliver it
  from a browser that never started the login.

  @req:SP-STATE-01
  Scenario: A callback with another state is refused
    Given a citizen "Anna" with the MitID app
    When "Anna" logs in to the service provider but the browser replaces the callback's state
    Then no session exists

  @req:SP-STATE-02
  Scenario: A callback without state is refused
    Given a citizen "Anna" with the MitID app
    When "Anna" logs in to the service provider but the browser removes the callback's state
    Then no session exists

  # Login CSRF: the attacker logs in with their own MitID, keeps the (valid, unused) callback and
  # has it delivered to the victim's browser, which has a login of its own under way.
  @req:SP-STATE-03
  Scenario: A callback of a login started in another browser does not log this browser in
    Given a citizen "Anna" with the MitID app
    When "Anna" logs in to the service provider but the browser keeps the callback
    And the callback of that login is delivered to a victim's browser that started a login of its own
    Then the victim's browser has no session

  @req:SP-CODE-01
  Scenario: A replayed callback from another browser gives no session
    Given a citizen "Anna" with the MitID app
    When "Anna" logs in to the service provider
    And an attacker's browser replays the callback of that login
    Then a session exists for "Anna"
    And the attacker's browser has no session

  @req:SP-CODE-02
  Scenario: A callback with a forged authorization code gives no session
    Given a citizen "Anna" with the MitID app
    When "Anna" logs in to the service provider but the browser replaces the callback's code
    Then no session exists

  @req:SP-CODE-03
  Scenario: A callback replayed in the same browser is refused without a second code redemption
    Given a citizen "Anna" with the MitID app
    And the broker keeps a log of this login
    When "Anna" logs in to the service provider
    And the same browser replays the callback of that login
    Then the service provider did not redeem the code a second time
