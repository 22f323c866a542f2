@needs:services
Feature: Citizens get MitID
  The seed's enrolment journeys against the lab's own components: the MitID app with a passport
  and a face scan (IAL Substantial), Citizen Service with documents and CPR questions or with a
  witness (IAL High), and a P code for people without a CPR number. Each journey ends with a real
  login at the reference portal through the broker's pages, with the citizen's own device.

  Scenario: Getting MitID in the app with a passport and a face scan
    Given a person "Anna" in the CPR register with a passport and no MitID
    When "Anna" scans her passport and face with the MitID app on her phone
    Then "Anna" has MitID at identity assurance Substantial
    When "Anna" logs in to the service provider with the app on her phone
    Then a session exists for "Anna"
    And the session shows identity assurance "Substantial"

  Scenario: A face scan that does not match the passport photo is refused
    Given a person "Bo" in the CPR register with a passport and no MitID
    When "Bo" scans his passport with the MitID app but the face scan matches only 850‰
    Then the app shows the refusal "face_mismatch"
    And "Bo" has no MitID

  Scenario: Getting MitID at Citizen Service with a passport and questions from the CPR register
    Given a person "Carl" in the CPR register with a passport and no MitID
    When "Carl" books an appointment at Citizen Service
    And "Carl" shows his passport at Citizen Service
    And "Carl" answers the CPR questions right at Citizen Service
    And Citizen Service issues MitID to "Carl" with the MitID app
    And "Carl" activates the app on his phone with the activation code from Citizen Service
    Then "Carl" has MitID at identity assurance High
    When "Carl" logs in to the service provider with the app on his phone using his PIN asking for LoA high
    Then a session exists for "Carl"
    And the session shows identity assurance "High"
    And the session reports LoA "High"

  Scenario: Wrong answers to the CPR questions stop the proofing at Citizen Service
    Given a person "Dina" in the CPR register with a passport and no MitID
    When "Dina" shows her passport at Citizen Service
    And "Dina" answers the CPR questions wrong at Citizen Service
    Then Citizen Service refuses with "questions_failed"
    And Citizen Service refuses to issue MitID to "Dina" with "not_proven"
    And "Dina" has no MitID

  Scenario: Getting MitID at Citizen Service with a witness
    Given a person "Emil" in the CPR register with a passport and no MitID
    And a witness "Frida" who has had MitID for 40 days
    When "Emil" comes to Citizen Service with "Frida" as his witness
    And Citizen Service issues MitID to "Emil" with a code display
    Then "Emil" has MitID at identity assurance High
    When "Emil" logs in to the service provider with his code display
    Then a session exists for "Emil"
    And the session shows identity assurance "High"

  Scenario: A witness who has had MitID for 30 days or less is refused
    Given a person "Gustav" in the CPR register with a passport and no MitID
    And a witness "Gorm" who has had MitID for 10 days
    When "Gustav" comes to Citizen Service with "Gorm" as his witness
    Then Citizen Service refuses with "witness_rule: the witness has had MitID for 10 days"
    And Citizen Service refuses to issue MitID to "Gustav" with "not_proven"

  Scenario: A witness under 18 is refused
    Given a person "Jonas" in the CPR register with a passport and no MitID
    And a witness "Lise" aged 17 who has had MitID for 60 days
    When "Jonas" comes to Citizen Service with "Lise" as his witness
    Then Citizen Service refuses with "witness_rule: the witness is 17"

  Scenario: A witness may vouch at most 3 times in 120 days
    Given a person "Ib" in the CPR register with a passport and no MitID
    And a witness "Hanne" who has had MitID for 200 days
    And "Hanne" has already witnessed for 3 people
    When "Ib" comes to Citizen Service with "Hanne" as his witness
    Then Citizen Service refuses with "witness_rule: the witness has witnessed 3 times in 120 days"

  Scenario: Getting MitID with a P code, without a CPR number
    Given a person "Mohammed" without a CPR number, with a foreign passport
    When Citizen Service hands "Mohammed" a P code
    And "Mohammed" redeems the P code for MitID
    And "Mohammed" activates the app on his phone with the activation code from MitID.dk
    Then "Mohammed" has MitID at identity assurance Substantial
    And the P code of "Mohammed" cannot be used again
    When "Mohammed" logs in to the service provider with the app on his phone
    Then a session exists for "Mohammed"
    And the session shows a MitID without CPR number

  Scenario: A P code is void after 3 wrong attempts
    Given a person "Olga" without a CPR number, with a foreign passport
    When Citizen Service hands "Olga" a P code
    And "Olga" types a wrong P code 3 times
    Then the P code of "Olga" cannot be used again

  @serial @needs:shared-clock
  Scenario: A P code expires after 60 days
    Given a person "Pia" without a CPR number, with a foreign passport
    When Citizen Service hands "Pia" a P code
    And 61 days pass
    Then the P code of "Pia" cannot be used again
