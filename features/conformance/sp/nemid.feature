Feature: NemID identities after the NemID calendar has ended them
  NemID was retired sector by sector and shut down on 2023-10-31. A broker that still lets a NemID
  login through (here: the lab's broker, scripted for this one login to ignore the calendar) must
  not give the citizen a session: the service checks the idp claim against its own cut-off.

  @req:SP-NEMID-01
  Scenario: A NemID login after the NemID shutdown gives no session
    Given a citizen "Niels" with a NemID key card
    And the calendar is past the NemID shutdown on 2023-10-31
    And the broker lets the next NemID login through although the NemID calendar has passed
    When "Niels" logs in to the service provider with NemID
    Then the broker let the NemID login through with a code
    And no session exists
