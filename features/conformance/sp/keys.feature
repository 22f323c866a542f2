Feature: The broker's signing keys
  A service caches the broker's JWKS; rotating it is global, so these scenarios run alone.

  # The first login makes the service fetch (and cache) the old key. The rotation drops that key,
  # so the second login's ID token is signed with a key the service has not seen; it runs in a
  # fresh browser, so only that login, not the first one's session, can make a session exist.
  @serial @req:SP-JWKS-ROTATE-01
  Scenario: After a key rotation, tokens signed with the new key are accepted
    Given a citizen "Anna" with the MitID app
    And "Anna" has logged in once before the rotation
    When the broker rotates its signing key
    And "Anna" logs in to the service provider in a new browser
    Then a session exists for "Anna"

  @serial @req:SP-JWKS-KID-01
  Scenario: A token whose kid is in no published key is refused
    Given a citizen "Anna" with the MitID app
    And for this login the broker signs the ID token with an unpublished key id
    When "Anna" logs in to the service provider
    Then no session exists
