Feature: Citizens use the portal's self-services after logging in
  Journeys of the seed against the lab's own components: the reference portal (borger.dk-like),
  the MitID broker and the CPR register. Each self-service needs its own level of assurance.

  Scenario Outline: A citizen logs in with <authenticator> and chooses a doctor
    Given a citizen "Signe" with <authenticator>
    When "Signe" logs in to the service provider
    And "Signe" opens the self-service "choose-doctor"
    Then the self-service answers with the citizen's data

    Examples:
      | authenticator        |
      | the MitID app        |
      | a code display       |
      | an audio code reader |
      | a MitID chip         |

  Scenario: Reading Digital Post needs LoA Substantial
    Given a citizen "Anna" with the MitID app
    When "Anna" logs in to the service provider asking for LoA substantial
    And "Anna" opens the self-service "read-digital-post"
    Then the self-service answers with the citizen's data

  Scenario: Leaving Denmark needs LoA High: the portal asks for a step-up, then lets the citizen in
    Given a citizen "Bo" with the MitID app and identity assurance High
    When "Bo" logs in to the service provider asking for LoA substantial
    And "Bo" opens the self-service "leave-denmark"
    Then the self-service refuses with "insufficient_loa"
    When "Bo" steps up to LoA high
    And "Bo" opens the self-service "leave-denmark"
    Then the self-service answers with the citizen's data

  Scenario: A person identified with a P code cannot change a CPR-bound address
    Given a citizen "Mohammed" without a CPR number, identified with a P code
    When "Mohammed" logs in to the service provider
    And "Mohammed" opens the self-service "change-address"
    Then the self-service refuses with "cpr_required"

  Scenario: Self-services need a login
    When a fresh browser asks the service provider who is logged in
    And the browser opens the self-service "see-tax" without logging in
    Then the self-service answers 401
