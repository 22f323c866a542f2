@needs:services
Feature: Citizens log in with each MitID authenticator
  The seed's login journeys with the citizen's own device through the broker's pages (not the
  broker's headless test mode): the app's signed approval, a code display's and an audio code
  reader's TOTP code with the password, and the chip's FIDO-style assertion with the password.

  Scenario: Logging in with the MitID app (a swipe)
    Given a citizen "Anna" with the MitID app on her phone
    When "Anna" logs in to the service provider with the app on her phone
    Then a session exists for "Anna"
    And the session reports LoA "Substantial"

  Scenario: Logging in with the code display
    Given a citizen "Bo" with a code display and a password
    When "Bo" logs in to the service provider with his code display
    Then a session exists for "Bo"

  # The code display computes its code from the time it reads; the broker checks it against the
  # lab clock. A device on the wall clock would show a code 40 days off and be refused.
  @serial @needs:shared-clock
  Scenario: The citizen's devices keep the lab's time when the lab clock moves
    Given a citizen "Lise" with the MitID app on her phone and a code display
    When 40 days pass
    And "Lise" logs in to the service provider with her code display
    Then a session exists for "Lise"

  Scenario: Logging in with the audio code reader
    Given a citizen "Jens" with an audio code reader and a password
    When "Jens" logs in to the service provider with his audio code reader
    Then a session exists for "Jens"

  Scenario: Logging in with the MitID chip at LoA High
    Given a citizen "Karen" with a MitID chip activated in two steps a day apart
    When "Karen" logs in to the service provider with her MitID chip asking for LoA high
    Then a session exists for "Karen"
    And the session reports LoA "High"
    And a second chip's activation for "Karen" completed within 24 hours is refused
