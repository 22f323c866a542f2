Feature: NemID logins and services before and after each milestone of the phase-out calendar
  Journeys of the seed against the lab's own components: the MitID broker (which also holds
  NemID), NemID support and Citizen Service, with the lab clock frozen on the day before and on
  the day of each milestone (fixtures/nemid-calendar.yaml). Moving the clock moves every
  component's "now", so these scenarios run alone (@serial) and the runner puts the clock back
  afterwards.

  @serial
  Scenario: From 2022-11-01 a bank refuses NemID while a public site still accepts it
    Given a citizen "Karen" with a NemID key card
    And a bank and a public site are clients of the broker
    And it is the day before the NemID milestone 2022-11-01
    Then "Karen" can log in with NemID at the bank
    And "Karen" can log in with NemID at the public site
    When the calendar reaches the NemID milestone 2022-11-01
    Then the broker refuses "Karen"'s NemID login at the bank with "nemid_cutoff_passed"
    And "Karen" can log in with NemID at the public site
    And "Karen" can log in with MitID at the bank

  @serial
  Scenario: From 2023-05-30 new key cards and temporary passwords come only from Citizen Service
    Given a citizen "Ole" with a NemID key card
    And a bank and a public site are clients of the broker
    And it is the day before the NemID milestone 2023-05-30
    Then NemID support gives "Ole" a new key card
    When the calendar reaches the NemID milestone 2023-05-30
    Then NemID support refuses "Ole" a new key card with "nemid_post_orders_ended"
    And NemID support refuses "Ole" a temporary password with "nemid_post_orders_ended"
    And Citizen Service gives "Ole" a temporary password
    When "Ole" sets a new NemID password with the temporary password
    Then "Ole" can log in with NemID at the public site

  @serial
  Scenario: From 2023-06-05 NemID can no longer be used to get MitID
    Given a citizen "Birgit" who has only NemID
    And a citizen "Poul" who has only NemID
    And it is the day before the NemID milestone 2023-06-05
    When "Birgit" gets MitID with NemID on MitID.dk
    Then "Birgit" has a MitID at identity assurance Substantial with an app activation code
    When the calendar reaches the NemID milestone 2023-06-05
    Then MitID.dk refuses "Poul" MitID with NemID with "nemid_migration_ended"

  @serial
  Scenario: From 2023-06-30 NemID support is closed and no new NemID is issued
    Given a citizen "Jens" with a NemID key card
    And it is the day before the NemID milestone 2023-06-30
    Then Citizen Service gives "Jens" a new key card
    When the calendar reaches the NemID milestone 2023-06-30
    Then NemID support refuses "Jens" a new key card with "nemid_support_closed"
    And Citizen Service refuses "Jens" a new key card with "nemid_not_issued"
    And a new citizen "Lise" can no longer get NemID with "nemid_not_issued"

  @serial
  Scenario: From 2023-10-31 every NemID login is refused
    Given a citizen "Erik" with a NemID key card
    And a bank and a public site are clients of the broker
    And it is the day before the NemID milestone 2023-10-31
    Then "Erik" can log in with NemID at the public site
    When the calendar reaches the NemID milestone 2023-10-31
    Then the broker refuses "Erik"'s NemID login at the public site with "nemid_shut_down"
    And the broker refuses "Erik"'s NemID login at the bank with "nemid_shut_down"
    And "Erik" can log in with MitID at the public site
