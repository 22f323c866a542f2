Feature: Only an assertion signed by NemLog-in, and encrypted to the service, is believed
  NemLog-in is scripted to serve one wrong response to one login; the service must refuse it.

  @req:SAML-SIG-01
  Scenario: An unsigned assertion is refused
    Given a citizen "Anna" with the MitID app
    And NemLog-in serves "Anna"'s next login the fault "unsigned"
    When "Anna" logs in through NemLog-in
    Then no session exists

  @req:SAML-SIG-02
  Scenario Outline: A signature over another element is refused (XML signature wrapping: <variant>)
    Given a citizen "Anna" with the MitID app
    And NemLog-in serves "Anna"'s next login the fault "<fault>"
    When "Anna" logs in through NemLog-in
    Then no session exists

    Examples:
      | variant                                       | fault                      |
      | the signature moved into the forged assertion | wrapping_signature_moved   |
      | the signed original hidden in Advice          | wrapping_original_in_advice |
      | a forged assertion with the signed one's ID   | wrapping_duplicate_id      |

  @req:SAML-SIG-03
  Scenario: An assertion signed with a foreign key, its certificate in KeyInfo, is refused
    Given a citizen "Anna" with the MitID app
    And NemLog-in serves "Anna"'s next login the fault "foreign_key"
    When "Anna" logs in through NemLog-in
    Then no session exists

  @req:SAML-ENC-01
  Scenario: An assertion sent in clear (no EncryptedAssertion) is refused
    Given a citizen "Anna" with the MitID app
    And NemLog-in serves "Anna"'s next login the fault "unencrypted"
    When "Anna" logs in through NemLog-in
    Then no session exists
