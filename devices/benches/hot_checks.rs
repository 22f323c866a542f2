//! The checks the simulator runs per citizen and per login, plus the IdP's real verifications
//! for scale. Run: `cargo bench -p mitid-devices --bench hot_checks -- --quick`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mitid_devices::app::Authorisation;
use mitid_devices::rand_core::{RngCore, SeedableRng};
use mitid_devices::{
    Aal, ActivationGrant, AppConfirmation, AppPolicy, AssertionRequest, AttemptCounter,
    AuthenticatorKind, ChannelBinding, ChannelBindingKind, Chip, ChipPolicy, ChipTransport,
    CivilDate, ClientOs, CodeDisplay, CodeTokenKind, CodeTokenPolicy, DeviceProfile, DeviceRng,
    EligibilityPolicy, Factor, Ial, IphoneModel, KeyCardPolicy, LoginPlatform, MitidApp,
    PCodePolicy, Span, TemporaryPasswordPolicy, Timestamp, Transaction, assess, loa,
};

const POPULATION: usize = 10_000;

fn population(seed: u64) -> Vec<DeviceProfile> {
    let mut r = DeviceRng::seed_from_u64(seed);
    (0..POPULATION)
        .map(|_| match r.next_u32() % 3 {
            0 => DeviceProfile::Ios {
                model: IphoneModel::Iphone12,
                os_major: 10 + (r.next_u32() % 8) as u8,
            },
            1 => DeviceProfile::Android {
                os_major: 5 + (r.next_u32() % 10) as u8,
                nfc: r.next_u32() % 2 == 0,
            },
            _ => DeviceProfile::Other,
        })
        .collect()
}

fn simulator_checks(c: &mut Criterion) {
    let mut g = c.benchmark_group("sim");
    g.throughput(Throughput::Elements(POPULATION as u64));
    let devices = population(1);
    let eligibility = EligibilityPolicy::default();
    g.bench_function("app_and_nfc_eligibility_x10k", |b| {
        b.iter(|| {
            devices
                .iter()
                .filter(|d| {
                    d.app_eligibility(&eligibility).is_ok()
                        && d.nfc_passport_eligibility(&eligibility).is_ok()
                })
                .count()
        });
    });
    let ials: Vec<Ial> = (0..POPULATION)
        .map(|i| Ial::from_rank((i % 3) as u8))
        .collect();
    g.bench_function("standard_login_then_loa_x10k", |b| {
        b.iter(|| {
            ials.iter()
                .zip(AuthenticatorKind::ALL.iter().cycle())
                .map(|(ial, kind)| u32::from(loa(*ial, kind.standard_login().aal).rank()))
                .sum::<u32>()
        });
    });
    let app_policy = AppPolicy::default();
    g.bench_function("pin_failure_lockout_x10k", |b| {
        b.iter(|| {
            let mut counter = AttemptCounter::new();
            let mut blocked = 0u32;
            for i in 0..POPULATION as u64 {
                let now = Timestamp(i * 60_000);
                if !counter
                    .record_failure(&app_policy.pin_lockout, now)
                    .is_open()
                {
                    blocked += 1;
                }
                if i % 7 == 0 {
                    counter.record_success();
                }
            }
            blocked
        });
    });
    g.finish();
}

fn simulator_single_checks(c: &mut Criterion) {
    let app_policy = AppPolicy::default();
    let mut g = c.benchmark_group("sim_single");
    g.bench_function("loa", |b| {
        b.iter(|| loa(black_box(Ial::High), black_box(Aal::Substantial)));
    });
    let factors = [Factor::Password, Factor::Chip];
    g.bench_function("assess_password_chip", |b| {
        b.iter(|| assess(black_box(&factors)));
    });
    g.bench_function("assess_app_pin", |b| {
        b.iter(|| {
            assess(black_box(&[Factor::MitidApp(
                AppConfirmation::PinSingleIdentity,
            )]))
        });
    });
    let code_policy = CodeTokenPolicy::default();
    g.bench_function("lockout_status_after", |b| {
        b.iter(|| {
            code_policy.lockout.status_after(
                black_box(3),
                Timestamp(1_000),
                black_box(Timestamp(60_000)),
            )
        });
    });
    let key_card = KeyCardPolicy::default();
    g.bench_function("key_card_reorder_due", |b| {
        b.iter(|| key_card.reorder_due(black_box(20)));
    });
    let pcode = PCodePolicy::default();
    g.bench_function("p_code_status", |b| {
        b.iter(|| {
            pcode.status(
                Timestamp(0),
                black_box(1),
                false,
                black_box(Timestamp(86_400_000)),
            )
        });
    });
    g.bench_function("channel_binding_required", |b| {
        b.iter(|| {
            ChannelBindingKind::required(
                black_box(LoginPlatform::Computer),
                black_box(Timestamp(1_700_000_000_000)),
                &app_policy,
            )
        });
    });
    let post = TemporaryPasswordPolicy::default();
    g.bench_function("temporary_password_delivery_date", |b| {
        b.iter(|| post.delivery_date(black_box(CivilDate::new(2023, 4, 5)), black_box(7)));
    });
    g.finish();
}

fn idp_verifications(c: &mut Criterion) {
    let mut g = c.benchmark_group("idp");
    let mut r = DeviceRng::seed_from_u64(2);
    let now = Timestamp::from_ymd(2023, 3, 1);

    let policy = CodeTokenPolicy::default();
    let (display, record) =
        CodeDisplay::manufacture("CD", CodeTokenKind::CodeDisplay, now, &policy, &mut r);
    let code = display.press(now, &policy).expect("battery fresh").code;
    g.bench_function("totp_verify", |b| {
        b.iter(|| {
            let mut rec = record.clone();
            rec.verify(black_box(code), now, &policy)
        });
    });

    let app_policy = AppPolicy::default();
    let phone = DeviceProfile::Android {
        os_major: 13,
        nfc: true,
    };
    let mut app = MitidApp::install(phone, now, &EligibilityPolicy::default()).expect("eligible");
    let mut grant = ActivationGrant::temporary_pin("u", now, &app_policy, &mut r);
    let pin = grant.reveal_code().to_owned();
    let proof = grant.redeem(&pin, now, &app_policy).expect("fresh grant");
    let reg = app
        .activate(&proof, "482915", now, &app_policy, &mut r)
        .expect("valid pin");
    let binding = ChannelBinding::generate(ChannelBindingKind::QrCode, &mut r);
    let tx = Transaction::new("u", "Log på borger.dk", "Log på", binding, &mut r);
    g.bench_function("app_approve_sign", |b| {
        b.iter(|| app.approve(&tx, &binding, Authorisation::Swipe, now, &app_policy));
    });
    let approval = app
        .approve(&tx, &binding, Authorisation::Swipe, now, &app_policy)
        .expect("active");
    g.bench_function("app_approval_verify", |b| {
        b.iter(|| reg.verify(&tx, black_box(&approval)));
    });

    let mut chip = Chip::manufacture("CH", &mut r);
    let mut cred = chip.registration("rp", now);
    cred.complete_activation(now + Span::from_days(1), &ChipPolicy::default())
        .expect("gap passed");
    let req = AssertionRequest::new("rp", "https://rp", &mut r);
    let assertion = chip
        .assert(&req, ChipTransport::Usb, ClientOs::Desktop, true)
        .expect("usb on desktop");
    g.bench_function("chip_assertion_verify", |b| {
        b.iter(|| {
            let mut c = cred.clone();
            c.verify(&req, black_box(&assertion), &ChipPolicy::default())
        });
    });
    g.finish();
}

criterion_group!(
    benches,
    simulator_checks,
    simulator_single_checks,
    idp_verifications
);
criterion_main!(benches);
