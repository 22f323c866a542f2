//! Malformed enrolment requests get a JSON 400 naming the problem, never a 500 or a panic.

use serde_json::{Value, json};

use crate::cpr_lab::ServicesLab;
use crate::enrol_support::{PHONE, check, check_body, passport_of};

async fn raw(lab: &ServicesLab, path: &str, content_type: &str, body: &str) -> (u16, Value) {
    let r = lab
        .http
        .post(format!("{}{path}", lab.issuer))
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .expect("POST");
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    let json = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    (status, json)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrol_malformed_requests_get_json_errors() {
    let lab = ServicesLab::start().await;
    let person = lab.adults(1).await.remove(0);
    let (camera, passport) = passport_of(&person);
    for body in [
        "{not json",
        "[]",
        "{}",
        r#"{"device": {"platform": "android", "os_major": 14, "nfc": true}}"#,
        r#"{"device": {"platform": "nokia"}, "camera_mrz": {}, "passport": {}, "face_match_permille": 1}"#,
    ] {
        let (status, answer) = raw(&lab, "/app/enrolments", "application/json", body).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"], "invalid_request", "{body}: {answer}");
    }
    // Unknown fields, out-of-range scores, negative scores.
    let mut extra = check_body(PHONE, &camera, &passport, 950);
    extra["selfie"] = json!("data:image/png;base64,AAAA");
    let mut negative = check_body(PHONE, &camera, &passport, 950);
    negative["face_match_permille"] = json!(-5);
    for body in [extra, check_body(PHONE, &camera, &passport, 1001), negative] {
        let (status, answer) = check(&lab, &body).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"], "invalid_request", "{answer}");
    }
    let (status, answer) = raw(
        &lab,
        "/app/enrolments",
        "text/plain",
        &check_body(PHONE, &camera, &passport, 950).to_string(),
    )
    .await;
    assert!((400..500).contains(&status), "{answer}");

    // The activation: bad JSON, missing registration, empty device name, unknown enrolment.
    let (_, checked) = check(&lab, &check_body(PHONE, &camera, &passport, 950)).await;
    let id = checked["enrolment_id"].as_str().expect("id").to_owned();
    let path = format!("/app/enrolments/{id}/activation");
    for body in ["{", "{}", r#"{"registration": 5, "device_name": "x"}"#] {
        let (status, answer) = raw(&lab, &path, "application/json", body).await;
        assert_eq!(status, 400, "{body}: {answer}");
    }
    let (_, registration) = crate::enrol_support::app_registration(&person, "tom.navn.1", 2);
    let (status, answer) = lab
        .post(
            &format!("{}{path}", lab.issuer),
            &json!({"registration": registration, "device_name": "  "}),
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["error_description"]
            .as_str()
            .unwrap_or("")
            .contains("device_name")
    );
    let (status, answer) = lab
        .post(
            &format!("{}/app/enrolments/no-such-enrolment/activation", lab.issuer),
            &json!({"registration": registration, "device_name": "phone"}),
        )
        .await;
    assert_eq!(status, 404, "{answer}");
    assert_eq!(answer["error"], "not_found");
    // The enrolment survived the bad requests.
    let (status, answer) = crate::enrol_support::activate(&lab, &id, &registration).await;
    assert_eq!(status, 201, "{answer}");
    lab.shutdown().await;
}
