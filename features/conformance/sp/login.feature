Feature: Ordinary logins complete
  Before any hostile case means anything, a citizen with any authenticator and any level of
  assurance must be able to log in.

  @req:SP-LOGIN-01
  Scenario: A citizen logs in with the MitID app
    Given a citizen "Anna" with the MitID app
    When "Anna" logs in to the service provider
    Then a session exists for "Anna"

  @req:SP-LOGIN-LOA-01
  Scenario Outline: A citizen logs in at LoA <loa>
    Given a citizen "Bo" with a MitID chip and identity assurance High
    When "Bo" logs in to the service provider asking for LoA <loa>
    Then a session exists for "Bo"

    Examples:
      | loa         |
      | low         |
      | substantial |
      | high        |

  @req:SP-LOGIN-AMR-01
  Scenario Outline: A citizen logs in with <authenticator>
    Given a citizen "Carl" with <authenticator>
    When "Carl" logs in to the service provider
    Then a session exists for "Carl"

    Examples:
      | authenticator         |
      | the MitID app         |
      | a code display        |
      | an audio code reader  |
      | a MitID chip          |

  @req:SP-CLAIMS-01
  Scenario: The session knows the level of assurance of the login
    Given a citizen "Erik" with a MitID chip and identity assurance High
    When "Erik" logs in to the service provider asking for LoA high
    Then a session exists for "Erik"
    And the session reports LoA "high"
