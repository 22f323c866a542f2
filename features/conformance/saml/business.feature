Feature: Business logins through NemLog-in (MitID Erhverv)
  An employee acting for a company logs in with their own MitID; the service asks NemLog-in for
  one with the identity type https://data.gov.dk/eid/Professional in RequestedAuthnContext. The
  assertion then names the company (CVR number, organisation name, RID where the employee had
  one), the employee's privileges for it (privilegesIntermediate, base64 OIOBPP) and, as its
  NameID, the persistent professional identifier of this person acting for this company.
  Optional (`business_logins` in the target file, with `business_login_path` and the
  `business_privilege` the service demands); the companies are those of the lab's synthetic CVR
  register.

  @needs:business @req:SAML-BUSINESS-01
  Scenario: A professional assertion where the service asked for a person gives no session
    Given a citizen "Anna" with the MitID app
    And "Anna" acts for the company "Alpha"
    And NemLog-in serves "Anna"'s next login the fault "professional_for_person"
    When "Anna" logs in through NemLog-in
    Then NemLog-in answered "Anna"'s login with a signed assertion
    And no session exists

  @needs:business @req:SAML-BUSINESS-01
  Scenario: A person's assertion where the service asked for a professional gives no session
    Given a citizen "Anna" with the MitID app
    And "Anna" acts for the company "Alpha"
    And NemLog-in serves "Anna"'s next login the fault "person_for_professional"
    When "Anna" logs in through NemLog-in for the company "Alpha"
    Then NemLog-in answered "Anna"'s login with a signed assertion
    And no session exists

  @needs:business @req:SAML-BUSINESS-02
  Scenario: Two employees of one company are two business accounts
    Given a citizen "Anna" with the MitID app
    And a citizen "Bo" with the MitID app
    And "Anna" acts for the company "Alpha"
    And "Bo" acts for the company "Alpha"
    When "Anna" logs in through NemLog-in for the company "Alpha"
    Then a business session exists for "Anna" acting for the company "Alpha", named by the professional NameID NemLog-in issued
    When "Bo" logs in through NemLog-in for the company "Alpha" in a new browser
    Then a business session exists for "Bo" acting for the company "Alpha", named by the professional NameID NemLog-in issued
    And the service provider's accounts in both browsers differ

  @needs:business @req:SAML-BUSINESS-02
  Scenario: The same employee logging in twice gets the same business account
    Given a citizen "Anna" with the MitID app
    And "Anna" acts for the company "Alpha"
    When "Anna" logs in through NemLog-in for the company "Alpha"
    Then a business session exists for "Anna" acting for the company "Alpha", named by the professional NameID NemLog-in issued
    When "Anna" logs in through NemLog-in for the company "Alpha" in a new browser
    Then a business session exists for "Anna" acting for the company "Alpha", named by the professional NameID NemLog-in issued
    And the service provider's accounts in both browsers are the same

  @needs:business @req:SAML-BUSINESS-03
  Scenario: A person acting for two companies has a business account for each
    Given a citizen "Anna" with the MitID app
    And "Anna" acts for the companies "Alpha" and "Beta"
    When "Anna" logs in through NemLog-in for the company "Alpha"
    Then a business session exists for "Anna" acting for the company "Alpha", named by the professional NameID NemLog-in issued
    When "Anna" logs in through NemLog-in for the company "Beta" in a new browser
    Then a business session exists for "Anna" acting for the company "Beta", named by the professional NameID NemLog-in issued
    And the service provider's accounts in both browsers differ

  @needs:business @req:SAML-BUSINESS-03
  Scenario: A business login after a private login opens another account
    Given a citizen "Anna" with the MitID app
    And "Anna" acts for the company "Alpha"
    When "Anna" logs in through NemLog-in
    Then a session exists for "Anna", named by the persistent NameID NemLog-in issued
    When "Anna" logs in through NemLog-in for the company "Alpha" in a new browser
    Then a business session exists for "Anna" acting for the company "Alpha", named by the professional NameID NemLog-in issued
    And the service provider's accounts in both browsers differ

  @needs:business @req:SAML-PRIV-01
  Scenario: A professional login granted the service's privilege for its company logs in
    Given a citizen "Anna" with the MitID app
    And "Anna" acts for the company "Alpha"
    And NemLog-in grants "Anna"'s next login the service's privilege for the company "Alpha"
    When "Anna" logs in through NemLog-in for the company "Alpha"
    Then a business session exists for "Anna" acting for the company "Alpha", named by the professional NameID NemLog-in issued

  @needs:business @req:SAML-PRIV-01
  Scenario Outline: A professional login without the service's privilege for its company gives no session (<what>)
    Given a citizen "Anna" with the MitID app
    And "Anna" acts for the company "Alpha"
    And NemLog-in grants "Anna"'s next login <grant> for the company "<company>"
    When "Anna" logs in through NemLog-in for the company "Alpha"
    Then NemLog-in answered "Anna"'s login with a signed assertion
    And no session exists

    Examples:
      | what                                   | grant                                | company |
      | another privilege                      | another privilege than the service's | Alpha   |
      | the privilege granted for another company | the service's privilege           | Beta    |
