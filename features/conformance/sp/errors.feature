Feature: Aborted logins, broker errors and outages
  Citizens abort, brokers fail. The service must fail closed and say so.

  @req:SP-ERR-ABORT-01
  Scenario: A citizen who aborts gets no session
    Given a citizen "Anna" with the MitID app
    When "Anna" aborts the login at the service provider
    Then the broker answered the login with error "access_denied"
    And no session exists

  @req:SP-ERR-PAGE-01
  Scenario: An aborted login shows an error page, not a server error
    Given a citizen "Anna" with the MitID app
    When "Anna" aborts the login at the service provider
    Then the service provider's answer to the callback is not a server error

  @req:SP-ERR-IDP-01
  Scenario: The broker fails the login with server_error
    Given a citizen "Anna" with the MitID app
    And for this login the broker fails with server_error
    When "Anna" logs in to the service provider
    Then the broker answered the login with error "server_error"
    And no session exists

  @req:SP-ERR-IDP-01
  Scenario Outline: The citizen's login ends in access_denied (<how>)
    Given a citizen "Anna" with the MitID app
    When "Anna" logs in to the service provider but <how>
    Then the broker answered the login with error "access_denied"
    And no session exists

    Examples:
      | how                                 |
      | enters a wrong PIN until blocked    |
      | never approves in the app           |

  @req:SP-ERR-TOKEN-01
  Scenario: A failing token endpoint gives no session
    Given a citizen "Anna" with the MitID app
    And for this login the broker's token endpoint fails with status 500
    When "Anna" logs in to the service provider
    Then no session exists

  # @slow: the wait is the service's own timeout on its scripted login; it overlaps the rest.
  @slow @req:SP-ERR-UNREACHABLE-01
  Scenario: A broker that stops answering gives no session and no hang
    Given a citizen "Anna" with the MitID app
    And for this login the broker's token endpoint does not answer in time
    When "Anna" logs in to the service provider
    Then the service provider answered the callback
    And no session exists
