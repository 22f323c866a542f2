Feature: Who the session is for
  Accounts are keyed on the MitID UUID (sub). People identified with a P code have no CPR.

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

  @req:SP-USERINFO-01
  Scenario: Userinfo about another person does not become the session
    Given a citizen "Anna" with the MitID app
    And for this login the broker answers userinfo with another person's sub and CPR
    When "Anna" logs in to the service provider
    Then no session carries the userinfo's person
