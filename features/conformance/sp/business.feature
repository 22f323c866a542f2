Feature: Business logins (MitID Erhverv)
  An employee acting for a company logs in with their own MitID and chooses the company at the
  broker; the service asks for it with idp_values=mitid_erhverv and the nemlogin scope. The ID
  token then says identity_type professional and carries the company's CVR number and the
  persistent professional id of this person acting for this company. The token's sub is still
  the person's: only identity_type and the professional id keep a business account apart from
  the person's private one. Optional (`business_logins` in the target file); the companies are
  those of the lab's synthetic CVR register.

  @needs:business @req:SP-BUSINESS-01
  Scenario: A business login after a private login opens another account
    Given a citizen "Anna" with the MitID app
    And "Anna" acts for the company "Alpha"
    When "Anna" logs in to the service provider
    Then a session exists for "Anna"
    When "Anna" logs in to the service provider for the company "Alpha" in a new browser
    Then a business session exists for "Anna" acting for the company "Alpha"
    And the service provider's accounts in both browsers differ

  @needs:business @req:SP-BUSINESS-01
  Scenario: A private login after a business login opens another account
    Given a citizen "Anna" with the MitID app
    And "Anna" acts for the company "Alpha"
    When "Anna" logs in to the service provider for the company "Alpha"
    Then a business session exists for "Anna" acting for the company "Alpha"
    When "Anna" logs in to the service provider in a new browser
    Then a session exists for "Anna"
    And the service provider's accounts in both browsers differ

  @needs:business @req:SP-BUSINESS-02
  Scenario: Two employees of one company are two business accounts
    Given a citizen "Anna" with the MitID app
    And a citizen "Bo" with the MitID app
    And "Anna" acts for the company "Alpha"
    And "Bo" acts for the company "Alpha"
    When "Anna" logs in to the service provider for the company "Alpha"
    Then a business session exists for "Anna" acting for the company "Alpha"
    When "Bo" logs in to the service provider for the company "Alpha" in a new browser
    Then a business session exists for "Bo" acting for the company "Alpha"
    And the service provider's accounts in both browsers differ

  @needs:business @req:SP-BUSINESS-02
  Scenario: The same employee logging in twice gets the same business account
    Given a citizen "Anna" with the MitID app
    And "Anna" acts for the company "Alpha"
    When "Anna" logs in to the service provider for the company "Alpha"
    Then a business session exists for "Anna" acting for the company "Alpha"
    When "Anna" logs in to the service provider for the company "Alpha" in a new browser
    Then a business session exists for "Anna" acting for the company "Alpha"
    And the service provider's accounts in both browsers are the same

  @needs:business @req:SP-BUSINESS-03
  Scenario: A person acting for two companies has a business account for each
    Given a citizen "Anna" with the MitID app
    And "Anna" acts for the companies "Alpha" and "Beta"
    When "Anna" logs in to the service provider for the company "Alpha"
    Then a business session exists for "Anna" acting for the company "Alpha"
    When "Anna" logs in to the service provider for the company "Beta" in a new browser
    Then a business session exists for "Anna" acting for the company "Beta"
    And the service provider's accounts in both browsers differ
