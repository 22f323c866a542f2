//! Published test vectors: RFC 4226 appendix D (HOTP) and RFC 6238 appendix B (TOTP with
//! SHA-1, SHA-256 and SHA-512). Source: <https://www.rfc-editor.org/rfc/rfc4226> and
//! <https://www.rfc-editor.org/rfc/rfc6238>.

use mitid_devices::otp::{OtpAlgorithm, OtpSecret, TotpParams, hotp};
use mitid_devices::{
    CodeDisplay, CodeTokenKind, CodeTokenPolicy, CodeTokenRecord, Span, Timestamp,
};

const SEED_SHA1: &[u8] = b"12345678901234567890";
const SEED_SHA256: &[u8] = b"12345678901234567890123456789012";
const SEED_SHA512: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

#[test]
fn rfc4226_hotp_vectors() {
    let expected = [
        755_224, 287_082, 359_152, 969_429, 338_314, 254_676, 287_922, 162_583, 399_871, 520_489,
    ];
    let secret = OtpSecret::from_bytes(SEED_SHA1);
    for (counter, want) in expected.into_iter().enumerate() {
        let got = hotp(&secret, counter as u64, 6, OtpAlgorithm::Sha1).unwrap();
        assert_eq!(
            got, want,
            "HOTP counter {counter}: got {got:06}, RFC 4226 says {want:06}"
        );
    }
}

/// (unix time, SHA-1, SHA-256, SHA-512) — 8-digit codes, 30 s step, T0 = 0.
const RFC6238: [(u64, u32, u32, u32); 6] = [
    (59, 94_287_082, 46_119_246, 90_693_936),
    (1_111_111_109, 7_081_804, 68_084_774, 25_091_201),
    (1_111_111_111, 14_050_471, 67_062_674, 99_943_326),
    (1_234_567_890, 89_005_924, 91_819_424, 93_441_116),
    (2_000_000_000, 69_279_037, 90_698_825, 38_618_901),
    (20_000_000_000, 65_353_130, 77_737_706, 47_863_826),
];

#[test]
fn rfc6238_totp_vectors_all_three_hashes() {
    for (time, sha1, sha256, sha512) in RFC6238 {
        for (algorithm, seed, want) in [
            (OtpAlgorithm::Sha1, SEED_SHA1, sha1),
            (OtpAlgorithm::Sha256, SEED_SHA256, sha256),
            (OtpAlgorithm::Sha512, SEED_SHA512, sha512),
        ] {
            let params = TotpParams {
                algorithm,
                digits: 8,
                step: Span::from_secs(30),
                t0: Timestamp::EPOCH,
            };
            let got = params
                .code_at(
                    &OtpSecret::from_bytes(seed),
                    Timestamp::from_unix_secs(time),
                )
                .unwrap()
                .unwrap();
            assert_eq!(
                got, want,
                "TOTP {algorithm:?} at t={time}: got {got:08}, RFC 6238 says {want:08}"
            );
        }
    }
}

#[test]
fn rfc6238_vectors_through_the_device_and_verifier() {
    // The same vectors end to end: the token shows the code and the IdP accepts it.
    for (time, sha1, sha256, _) in RFC6238 {
        for (algorithm, seed, want) in [
            (OtpAlgorithm::Sha1, SEED_SHA1, sha1),
            (OtpAlgorithm::Sha256, SEED_SHA256, sha256),
        ] {
            let policy = CodeTokenPolicy {
                totp: TotpParams {
                    algorithm,
                    digits: 8,
                    ..TotpParams::default()
                },
                ..CodeTokenPolicy::default()
            };
            let now = Timestamp::from_unix_secs(time);
            let device = CodeDisplay::from_secret(
                "rfc",
                OtpSecret::from_bytes(seed),
                Timestamp::EPOCH,
                Span::from_days(365 * 1000),
            );
            let shown = device.press(now, &policy).unwrap();
            assert_eq!(shown.code, want, "{algorithm:?} t={time}");
            let mut record = CodeTokenRecord::new(
                "rfc",
                CodeTokenKind::CodeDisplay,
                OtpSecret::from_bytes(seed),
            );
            record
                .verify(shown.code, now, &policy)
                .unwrap_or_else(|e| panic!("{algorithm:?} t={time}: {e}"));
        }
    }
}

#[test]
fn bad_digit_counts_are_refused() {
    let secret = OtpSecret::from_bytes(SEED_SHA1);
    assert!(hotp(&secret, 0, 5, OtpAlgorithm::Sha1).is_err());
    assert!(hotp(&secret, 0, 10, OtpAlgorithm::Sha1).is_err());
}
