Feature: ID token validation
  Like the OpenID Foundation's relying-party tests, the lab plays the broker, serves a bad ID
  token for one login, and fails the service provider that accepts it.

  @req:SP-TOKEN-SIG-01
  Scenario: An ID token signed by a foreign key is refused
    Given a citizen "Anna" with the MitID app
    And for this login the broker signs the ID token with a foreign key
    When "Anna" logs in to the service provider
    Then no session exists

  @req:SP-TOKEN-SIG-02
  Scenario: An unsigned ID token (alg none) is refused
    Given a citizen "Anna" with the MitID app
    And for this login the broker sends an unsigned ID token
    When "Anna" logs in to the service provider
    Then no session exists

  @req:SP-TOKEN-SIG-03
  Scenario: An ID token HMAC-signed with the broker's public key is refused
    Given a citizen "Anna" with the MitID app
    And for this login the broker signs the ID token with HS256 keyed with its public key
    When "Anna" logs in to the service provider
    Then no session exists

  @req:SP-TOKEN-ISS-01
  Scenario: An ID token from another issuer is refused
    Given a citizen "Anna" with the MitID app
    And for this login the broker puts a wrong issuer in the ID token
    When "Anna" logs in to the service provider
    Then no session exists

  @req:SP-TOKEN-ISS-02
  Scenario: An ID token whose iss is the issuer with a trailing slash is refused
    Given a citizen "Anna" with the MitID app
    And for this login the broker puts its issuer with a trailing slash in the ID token
    When "Anna" logs in to the service provider
    Then no session exists

  @req:SP-TOKEN-ISS-02
  Scenario: An authorization response whose iss is the issuer with a trailing slash is refused
    Given a citizen "Anna" with the MitID app
    When "Anna" logs in to the service provider but the browser adds a trailing slash to the callback's iss
    Then no session exists

  @req:SP-TOKEN-AUD-01
  Scenario: An ID token for another client is refused
    Given a citizen "Anna" with the MitID app
    And for this login the broker puts a wrong audience in the ID token
    When "Anna" logs in to the service provider
    Then no session exists

  @req:SP-TOKEN-AZP-01
  Scenario: An ID token with an extra, untrusted audience and no azp is refused
    Given a citizen "Anna" with the MitID app
    And for this login the broker adds an extra audience without azp to the ID token
    When "Anna" logs in to the service provider
    Then no session exists

  @req:SP-TOKEN-EXP-01
  Scenario: An expired ID token is refused
    Given a citizen "Anna" with the MitID app
    And for this login the broker sends an expired ID token
    When "Anna" logs in to the service provider
    Then no session exists

  @req:SP-TOKEN-IAT-01
  Scenario: An ID token issued a day in the future is refused
    Given a citizen "Anna" with the MitID app
    And for this login the broker dates the ID token a day in the future
    When "Anna" logs in to the service provider
    Then no session exists

  @req:SP-TOKEN-CLOCK-01
  Scenario: An ID token dated 30 seconds ahead is accepted (clock skew)
    Given a citizen "Anna" with the MitID app
    And for this login the broker dates the ID token 30 seconds in the future
    When "Anna" logs in to the service provider
    Then a session exists for "Anna"

  @req:SP-TOKEN-SUB-01
  Scenario: An ID token without sub is refused
    Given a citizen "Anna" with the MitID app
    And for this login the broker leaves sub out of the ID token
    When "Anna" logs in to the service provider
    Then no session exists

  @req:SP-TOKEN-NONCE-01
  Scenario: An ID token without the nonce is refused
    Given a citizen "Anna" with the MitID app
    And for this login the broker leaves the nonce out of the ID token
    When "Anna" logs in to the service provider
    Then no session exists

  @req:SP-TOKEN-NONCE-02
  Scenario: An ID token with another login's nonce is refused
    Given a citizen "Anna" with the MitID app
    And for this login the broker puts a different nonce in the ID token
    When "Anna" logs in to the service provider
    Then no session exists

  @req:SP-TOKEN-ORDER-01
  Scenario: After refusing a forged ID token the service fetches no personal data
    Given a citizen "Anna" with the MitID app
    And for this login the broker signs the ID token with a foreign key
    When "Anna" logs in to the service provider
    Then no session exists
    And the service provider did not call userinfo for this login
