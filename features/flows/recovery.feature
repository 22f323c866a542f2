@needs:services
Feature: Citizens recover MitID
  The seed's recovery journeys: forgotten PIN, forgotten user ID, forgotten code-display password
  and a new phone — through the app (passport + face), the support line (temporary PIN or user ID
  by SMS, password reset), an activation code from MitID.dk, a QR code shown by the old phone,
  Citizen Service (passport + CPR questions), a new password on MitID.dk approved in the app, and
  MitID.dk telling the user ID after a NemID login (only until NemID shuts down).
  Each ends with a real login at the reference portal through the broker's pages with the
  citizen's own device.

  As the lab implements it (idp/ENROLMENT_API.md), reactivating with a passport revokes the
  MitID's other apps, because it is the route for a lost or locked app; an activation code or a
  QR code shown by the old phone adds a phone and revokes nothing. A new app issued at Citizen
  Service to an existing MitID is a reactivation too: the lost phone's app is revoked.

  Scenario: Forgotten PIN: reactivating the app with a passport and a face scan
    Given a citizen "Anna" with the MitID app on her phone
    When "Anna" forgets her app PIN
    And "Anna" scans her passport and face with the MitID app on her phone
    Then "Anna" has MitID at identity assurance Substantial
    When "Anna" logs in to the service provider with the app on her phone using her PIN
    Then a session exists for "Anna"

  Scenario: New phone: reactivating with a passport; the old phone can no longer approve
    Given a citizen "Bo" with the MitID app on his phone
    When "Bo" gets a new phone
    And "Bo" scans his passport and face with the MitID app on his new phone
    And "Bo" logs in to the service provider with the app on his new phone
    Then a session exists for "Bo"
    And the app on "Bo"'s old phone can no longer approve a login

  Scenario: New phone: an activation code from MitID.dk, ordered with the code display
    Given a citizen "Cecilie" with the MitID app on her phone and a code display
    When "Cecilie" gets a new phone
    And "Cecilie" orders an activation code on MitID.dk after logging in with her code display
    And "Cecilie" activates the app on her new phone with the activation code from MitID.dk
    And "Cecilie" logs in to the service provider with the app on her new phone
    Then a session exists for "Cecilie"

  Scenario: New phone: the old phone shows a QR code, the new phone scans it nearby
    Given a citizen "Kasper" with the MitID app on his phone
    When "Kasper" gets a new phone
    And "Kasper" shows a QR code for a new device on his old phone
    And "Kasper" scans the QR code with his new phone out of Bluetooth range
    Then the app shows the refusal "not_nearby"
    When "Kasper" scans the QR code with his new phone nearby
    And "Kasper" logs in to the service provider with the app on his new phone
    Then a session exists for "Kasper"
    When "Kasper" logs in to the service provider with the app on his old phone
    Then a session exists for "Kasper"

  Scenario: Forgotten user ID: the passport scan in the app tells it
    Given a citizen "Dorte" with the MitID app on her phone
    When "Dorte" forgets her user ID and loses her phone
    And "Dorte" scans her passport and face with the MitID app on her new phone
    Then the app showed "Dorte" her user ID
    When "Dorte" logs in to the service provider with the app on her new phone
    Then a session exists for "Dorte"

  Scenario: Forgotten PIN: support sends a temporary PIN by SMS
    Given a citizen "Erik" with the MitID app on his phone
    When "Erik" forgets his app PIN
    And "Erik" calls MitID support with his passport number and answers the CPR questions right
    And support sends "Erik" a temporary PIN by SMS
    And "Erik" activates the app on his phone with the temporary PIN from the SMS
    And "Erik" logs in to the service provider with the app on his phone using his PIN
    Then a session exists for "Erik"

  Scenario: No temporary PIN by SMS within 5 days of a phone-number change
    Given a citizen "Fie" with the MitID app on her phone
    And "Fie" changed her phone number today
    When "Fie" calls MitID support with her passport number and answers the CPR questions right
    And "Fie" asks support for a temporary PIN by SMS
    Then support refuses with "phone_recently_changed"
    And no SMS reached "Fie"

  @serial @needs:shared-clock
  Scenario: Six days after a phone-number change the temporary PIN is sent
    Given a citizen "Frank" with the MitID app on his phone
    And "Frank" changed his phone number today
    When 6 days pass
    And "Frank" forgets his app PIN
    And "Frank" calls MitID support with his passport number and answers the CPR questions right
    And support sends "Frank" a temporary PIN by SMS
    And "Frank" activates the app on his phone with the temporary PIN from the SMS
    And "Frank" logs in to the service provider with the app on his phone using his PIN
    Then a session exists for "Frank"

  Scenario: Wrong answers to the CPR questions end the support call
    Given a citizen "Georg" with the MitID app on his phone
    When "Georg" calls MitID support with his passport number and answers the CPR questions wrong
    Then support refuses with "questions_failed"
    When "Georg" asks support for a temporary PIN by SMS
    Then no SMS reached "Georg"

  Scenario: Forgotten user ID: support sends it by SMS
    Given a citizen "Helle" with the MitID app on her phone
    When "Helle" forgets her user ID and loses her phone
    And "Helle" calls MitID support with her passport number and answers the CPR questions right
    And support sends "Helle" her user ID by SMS
    Then "Helle" reads her user ID in the SMS
    When "Helle" calls MitID support with her passport number and answers the CPR questions right
    And support sends "Helle" a temporary PIN by SMS
    And "Helle" activates the app on her new phone with the temporary PIN from the SMS
    And "Helle" logs in to the service provider with the app on her new phone
    Then a session exists for "Helle"

  Scenario: Forgotten code-display password: support resets it
    Given a citizen "Ivan" with a code display and a password
    When "Ivan" calls MitID support with his passport number and answers the CPR questions right
    And support resets the password of "Ivan"
    And "Ivan" logs in to the service provider with his code display and the temporary password
    Then a session exists for "Ivan"
    And logging in with his code display and the old password is refused for "Ivan"

  Scenario: New or lost phone: reactivated at Citizen Service with the passport and the CPR questions
    Given a citizen "Lene" with the MitID app on her phone
    When "Lene" gets a new phone
    And "Lene" shows her passport at Citizen Service
    And "Lene" answers the CPR questions right at Citizen Service
    And Citizen Service issues MitID to "Lene" with the MitID app
    Then Citizen Service revoked the app on "Lene"'s lost phone
    When "Lene" activates the app on her new phone with the activation code from Citizen Service
    And "Lene" logs in to the service provider with the app on her new phone
    Then a session exists for "Lene"
    And "Lene" has MitID at identity assurance High
    And the app on "Lene"'s old phone can no longer approve a login

  @serial @needs:shared-clock
  Scenario: Forgotten user ID: MitID.dk tells it after a NemID login, until NemID shuts down
    Given a citizen "Mads" with the MitID app on his phone and a NemID key card
    And it is the day before the NemID milestone 2023-10-31
    When "Mads" forgets his user ID
    And "Mads" logs in on MitID.dk with NemID to find his user ID
    Then MitID.dk told "Mads" his user ID
    When "Mads" logs in to the service provider with the app on his phone
    Then a session exists for "Mads"
    When the calendar reaches the NemID milestone 2023-10-31
    Then MitID.dk refuses to tell "Mads" his user ID with "nemid_shut_down"

  Scenario: Forgotten code-display password: a new password on MitID.dk, approved in the app
    Given a citizen "Nora" with the MitID app on her phone and a code display
    When "Nora" sets a new password on MitID.dk and approves it with the app on her phone
    And "Nora" logs in to the service provider with her code display
    Then a session exists for "Nora"
    And logging in with her code display and the old password is refused for "Nora"
