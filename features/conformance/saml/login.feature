Feature: Logging in through NemLog-in (OIOSAML 3)
  A public service asks NemLog-in for a login with a signed AuthnRequest by HTTP-Redirect and
  reads the person from the encrypted, signed assertion NemLog-in posts back. A NemLog-in login
  is a MitID login: the same citizens and devices as the broker.

  @req:SAML-SESSION-01
  Scenario: Without a completed login there is no session
    Given a citizen "Anna" with the MitID app
    Then no session exists

  @req:SAML-LOGIN-01
  Scenario: A MitID login through NemLog-in names the person by the persistent NameID
    Given a citizen "Anna" with the MitID app
    When "Anna" logs in through NemLog-in asking for LoA substantial
    Then a session exists for "Anna", named by the persistent NameID NemLog-in issued

  @req:SAML-REQ-SIG-01
  Scenario: The AuthnRequest is signed by the key the service registered
    Given a citizen "Anna" with the MitID app
    When "Anna" logs in through NemLog-in
    Then the service's AuthnRequest went to NemLog-in by HTTP-Redirect, signed with RSA-SHA256 by a key of its metadata
    And a session exists for "Anna", named by the persistent NameID NemLog-in issued

  @req:SAML-CPR-01
  Scenario: A person without a CPR number logs in
    Given a citizen "Pia" without a CPR number, identified with a P code
    When "Pia" logs in through NemLog-in asking for LoA substantial
    Then a session exists for "Pia", named by the persistent NameID NemLog-in issued
