Feature: The assertion is for this service, now, at the level asked for
  NemLog-in is scripted to serve one wrong response to one login; the service must refuse it.

  @req:SAML-AUD-01
  Scenario: An assertion for another service (Audience) is refused
    Given a citizen "Anna" with the MitID app
    And NemLog-in serves "Anna"'s next login the fault "wrong_audience"
    When "Anna" logs in through NemLog-in
    Then no session exists

  @req:SAML-TIME-01
  Scenario Outline: An assertion outside its validity window is refused (<when>)
    Given a citizen "Anna" with the MitID app
    And NemLog-in serves "Anna"'s next login the fault "<fault>"
    When "Anna" logs in through NemLog-in
    Then no session exists

    Examples:
      | when                     | fault         |
      | NotOnOrAfter has passed  | expired       |
      | NotBefore is ahead       | not_yet_valid |

  @req:SAML-DEST-01
  Scenario: A response for another endpoint (Destination) is refused
    Given a citizen "Anna" with the MitID app
    And NemLog-in serves "Anna"'s next login the fault "wrong_destination"
    When "Anna" logs in through NemLog-in
    Then no session exists

  @req:SAML-DEST-02
  Scenario: A bearer confirmation for another endpoint (Recipient) is refused
    Given a citizen "Anna" with the MitID app
    And NemLog-in serves "Anna"'s next login the fault "wrong_recipient"
    When "Anna" logs in through NemLog-in
    Then no session exists

  @req:SAML-SPEC-01
  Scenario Outline: An assertion without specVersion OIO-SAML-3.0 is refused (<what>)
    Given a citizen "Anna" with the MitID app
    And NemLog-in serves "Anna"'s next login the fault "<fault>"
    When "Anna" logs in through NemLog-in
    Then no session exists

    Examples:
      | what                  | fault                |
      | no specVersion        | missing_spec_version |
      | specVersion OIO-SAML-2.0 | wrong_spec_version |

  @req:SAML-LOA-01
  Scenario: An assertion at a lower level of assurance than requested is refused
    Given a citizen "Anna" with the MitID app
    And NemLog-in serves "Anna"'s next login the fault "lower_loa"
    When "Anna" logs in through NemLog-in asking for LoA substantial
    Then no session exists
