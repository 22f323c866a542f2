Feature: NemID logins through NemLog-in after the NemID calendar has ended them
  NemID was retired sector by sector and shut down on 2023-10-31. An IdP that still lets a NemID
  login through (here: the lab's broker behind NemLog-in, scripted for this one login to ignore
  the calendar) must not give the citizen a session: the service reads who authenticated the
  person (AuthenticatingAuthority) and checks its own cut-off, as SP-NEMID-01 asks of an OIDC
  service.

  @req:SAML-NEMID-01
  Scenario: A NemID login through NemLog-in after the NemID shutdown gives no session
    Given a citizen "Niels" with a NemID key card
    And the calendar is past the NemID shutdown on 2023-10-31
    And the broker lets the next NemID login through although the NemID calendar has passed
    When "Niels" logs in through NemLog-in asking for LoA low
    Then NemLog-in answered "Niels"'s login with a signed assertion
    And no session exists
