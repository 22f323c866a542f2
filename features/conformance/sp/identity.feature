Feature: Who the session is for
  Accounts are keyed on the MitID UUID (sub). People identified with a P code have no CPR, and a
  CPR number can change. The lab judges by the account /me names (`account`), the service
  provider's own identifier of the local account.

  @req:SP-ACCOUNT-02
  Scenario: A person without CPR can log in
    Given a citizen "Mohammed" without a CPR number, identified with a P code
    When "Mohammed" logs in to the service provider
    Then a session exists for "Mohammed"

  @req:SP-ACCOUNT-01
  Scenario: Two persons without CPR are two accounts
    Given a citizen "Mohammed" without a CPR number, identified with a P code
    And a citizen "Amira" without a CPR number, identified with a P code
    When "Mohammed" logs in to the service provider
    Then a session exists for "Mohammed"
    When "Amira" logs in to the service provider in a new browser
    Then a session exists for "Amira"
    And the service provider's accounts for "Mohammed" and "Amira" differ

  @req:SP-ACCOUNT-01
  Scenario: A person with CPR and a person without are two accounts
    Given a citizen "Anna" with the MitID app
    And a citizen "Amira" without a CPR number, identified with a P code
    When "Anna" logs in to the service provider
    Then a session exists for "Anna"
    When "Amira" logs in to the service provider in a new browser
    Then a session exists for "Amira"
    And the service provider's accounts for "Anna" and "Amira" differ

  @req:SP-ACCOUNT-03
  Scenario: The same person logging in twice gets the same account
    Given a citizen "Anna" with the MitID app
    When "Anna" logs in to the service provider
    Then a session exists for "Anna"
    When "Anna" logs in to the service provider in a new browser
    Then a session exists for "Anna"
    And the service provider's accounts in both browsers are the same

  @req:SP-ACCOUNT-04
  Scenario: A person whose CPR number changes keeps their account
    Given a citizen "Anna" with the MitID app
    When "Anna" logs in to the service provider
    Then a session exists for "Anna"
    Given for the next login the broker reports a new CPR number for "Anna"
    When "Anna" logs in to the service provider in a new browser
    Then a session exists for "Anna"
    And the service provider's accounts in both browsers are the same

  @req:SP-ACCOUNT-04
  Scenario: A CPR number given to another person does not open the first person's account
    Given a citizen "Anna" with the MitID app
    And a citizen "Bo" with the MitID app
    When "Anna" logs in to the service provider
    Then a session exists for "Anna"
    Given for the next login the broker reports the CPR number of "Anna", since given to someone else
    When "Bo" logs in to the service provider in a new browser
    Then a session exists for "Bo"
    And the service provider's accounts for "Anna" and "Bo" differ

  @req:SP-USERINFO-01
  Scenario: Userinfo about another person does not become the session
    Given a citizen "Anna" with the MitID app
    And for this login the broker answers userinfo with another person's sub and CPR
    When "Anna" logs in to the service provider
    Then no session carries the userinfo's person
