Feature: Levels of assurance and step-up
  NSIS: the service checks the level it got, not the level it asked for.

  @req:SP-LOA-01
  Scenario: A token at LoA Low when Substantial was asked is refused
    Given a citizen "Anna" with the MitID app
    And for this login the broker downgrades the level of assurance to low
    When "Anna" logs in to the service provider asking for LoA substantial
    Then no session exists

  @req:SP-LOA-01
  Scenario: A token at LoA Substantial when High was asked is refused
    Given a citizen "Bo" with a MitID chip and identity assurance High
    And for this login the broker downgrades the level of assurance to substantial
    When "Bo" logs in to the service provider asking for LoA high
    Then no session exists

  @needs:step-up @req:SP-LOA-STEPUP-01
  Scenario: Step-up to High forces a fresh login
    Given a citizen "Bo" with the MitID app and identity assurance High
    When "Bo" logs in to the service provider asking for LoA substantial
    And "Bo" steps up to LoA high
    Then the step-up authorization request asks for a fresh login at LoA high
    And a session exists for "Bo"
    And the session reports LoA "high"
