//! Every refusal of the passport check, each with its own error code, and none of them creating
//! or changing a MitID.

use mitid_components::idp::admin::Ial;
use mitid_devices::app::MrzReading;
use mitid_devices::{DeviceProfile, IphoneModel};
use serde_json::json;

use crate::cpr_lab::ServicesLab;
use crate::enrol_support::{PHONE, check, check_body, error_of, passport_of};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrol_refuses_a_low_face_score_and_unknown_or_wrong_documents() {
    let lab = ServicesLab::start().await;
    let people = lab.adults(20).await;
    let person = &people[0];
    let (camera, passport) = passport_of(person);
    let refused = |body: serde_json::Value| {
        let lab = &lab;
        async move {
            let (status, answer) = check(lab, &body).await;
            error_of(status, &answer, 403)
        }
    };

    // Face score just under the documented 900‰ threshold; exactly 900 passes.
    assert_eq!(
        refused(check_body(PHONE, &camera, &passport, 899)).await,
        "face_mismatch"
    );
    let (status, body) = check(&lab, &check_body(PHONE, &camera, &passport, 900)).await;
    assert_eq!(status, 201, "{body}");

    // A passport nobody holds.
    let mut unknown = passport.clone();
    unknown.mrz = MrzReading::of(
        "X0000001",
        &passport.mrz.date_of_birth,
        &passport.mrz.expiry,
    );
    let unknown_camera = unknown.mrz.clone();
    assert_eq!(
        refused(check_body(PHONE, &unknown_camera, &unknown, 950)).await,
        "document_unknown"
    );

    // A driving licence number is not a passport.
    let licence = people
        .iter()
        .find_map(|p| p.driving_licence_number.clone())
        .expect("someone has a driving licence");
    let mut card = passport.clone();
    card.mrz = MrzReading::of(&licence, &passport.mrz.date_of_birth, &passport.mrz.expiry);
    let card_camera = card.mrz.clone();
    assert_eq!(
        refused(check_body(PHONE, &card_camera, &card, 950)).await,
        "document_not_registered"
    );

    // None of that created a MitID.
    let (status, _) = lab
        .get(&format!(
            "{}/admin/identities/by-cpr/{}",
            lab.control,
            person.cpr.compact()
        ))
        .await;
    assert_eq!(status, 404);
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrol_refuses_unreadable_misread_forged_or_foreign_chips_and_phones_without_nfc() {
    let lab = ServicesLab::start().await;
    let people = lab.adults(2).await;
    let (camera, passport) = passport_of(&people[0]);
    let refused = |body: serde_json::Value| {
        let lab = &lab;
        async move {
            let (status, answer) = check(lab, &body).await;
            error_of(status, &answer, 403)
        }
    };
    // Phones that cannot read the chip.
    for device in [
        DeviceProfile::Android {
            os_major: 14,
            nfc: false,
        },
        DeviceProfile::Ios {
            model: IphoneModel::Iphone6s,
            os_major: 15,
        },
    ] {
        assert_eq!(
            refused(check_body(device, &camera, &passport, 950)).await,
            "device_ineligible",
            "{device:?}"
        );
    }

    // The camera misread a check digit.
    let mut misread = camera.clone();
    misread.expiry_check = (misread.expiry_check + 1) % 10;
    assert_eq!(
        refused(check_body(PHONE, &misread, &passport, 950)).await,
        "mrz_misread"
    );

    // The camera read another document than the chip that answered.
    let other = MrzReading::of(
        &people[1].passport_number.clone().expect("passport"),
        &passport.mrz.date_of_birth,
        &passport.mrz.expiry,
    );
    assert_eq!(
        refused(check_body(PHONE, &other, &passport, 950)).await,
        "chip_access_denied"
    );

    let mut dead = passport.clone();
    dead.chip_readable = false;
    assert_eq!(
        refused(check_body(PHONE, &camera, &dead, 950)).await,
        "chip_unreadable"
    );
    let mut forged = passport.clone();
    forged.chip_authentic = false;
    assert_eq!(
        refused(check_body(PHONE, &camera, &forged, 950)).await,
        "chip_not_authentic"
    );

    // The chip's birth date is not the holder's.
    let mut other_birth = passport.clone();
    other_birth.mrz = MrzReading::of(
        &passport.mrz.document_number,
        "010101",
        &passport.mrz.expiry,
    );
    let other_birth_camera = other_birth.mrz.clone();
    assert_eq!(
        refused(check_body(PHONE, &other_birth_camera, &other_birth, 950)).await,
        "birth_date_mismatch"
    );

    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrol_refuses_a_blocked_mitid() {
    let lab = ServicesLab::start().await;
    let person = lab.adults(1).await.remove(0);
    let identity = lab
        .identity_for(&person, "spaerret.1", Ial::Substantial)
        .await;
    let (status, _) = lab
        .post(
            &format!("{}/admin/identities/{}/block", lab.control, identity.uuid),
            &json!({"reason": "reported stolen"}),
        )
        .await;
    assert_eq!(status, 200);
    let (camera, passport) = passport_of(&person);
    let (status, body) = check(&lab, &check_body(PHONE, &camera, &passport, 990)).await;
    assert_eq!(error_of(status, &body, 403), "identity_blocked");
    lab.shutdown().await;
}
