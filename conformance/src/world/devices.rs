//! What the scenario's citizens hold and know: phones with the MitID app, code displays, chips,
//! passwords. These are the devices crate's state machines (real keys, real TOTP codes); the
//! actions in [`crate::actions::app`] and [`crate::actions::pages`] use them against the broker.

use mitid_devices::chip::Chip;
use mitid_devices::code_token::CodeDisplay;
use mitid_devices::rand_core::SeedableRng;
use mitid_devices::{DeviceProfile, DeviceRng, MitidApp};

/// An Android phone with NFC: installs the app and reads passport chips.
pub const NFC_PHONE: DeviceProfile = DeviceProfile::Android {
    os_major: 14,
    nfc: true,
};

/// A phone of a citizen, with the MitID app installed.
#[derive(Debug, Clone)]
pub struct Phone {
    pub owner: String,
    /// "phone", "new phone", "old phone".
    pub label: String,
    pub app: MitidApp,
    /// The PIN the citizen chose at the last activation.
    pub pin: String,
}

/// A code display or audio code reader and the password that goes with it.
#[derive(Debug, Clone)]
pub struct CodeToken {
    pub owner: String,
    /// `code_display` or `audio_code_reader` (the login page's method name).
    pub kind: String,
    pub device: CodeDisplay,
}

/// Everything the scenario's citizens hold and know.
#[derive(Debug, Default)]
pub struct Devices {
    pub phones: Vec<Phone>,
    pub tokens: Vec<CodeToken>,
    /// MitID chips by owner.
    pub chips: Vec<(String, Chip)>,
    /// Password per citizen (for code display, audio reader and chip logins).
    pub passwords: Vec<(String, String)>,
    /// Citizens who forgot their user ID (until support or the app tells them).
    pub forgotten_user_ids: Vec<String>,
    rng_seed: u64,
}

impl Devices {
    /// A random source for a new device key.
    pub fn rng(&mut self) -> DeviceRng {
        self.rng_seed += 1;
        // Keys must differ per device and per run; the OS supplies the entropy.
        let mut seed = [0u8; 32];
        mitid_devices::rand_core::RngCore::fill_bytes(
            &mut mitid_devices::rand_core::OsRng,
            &mut seed,
        );
        seed[0] ^= (self.rng_seed & 0xff) as u8;
        DeviceRng::from_seed(seed)
    }

    #[must_use]
    pub fn phone(&self, owner: &str, label: &str) -> Option<&Phone> {
        self.phones
            .iter()
            .find(|p| p.owner == owner && p.label == label)
    }

    /// The phone `label` of `owner`; `None` when the citizen has no such phone.
    pub fn phone_mut(&mut self, owner: &str, label: &str) -> Option<&mut Phone> {
        self.phones
            .iter_mut()
            .find(|p| p.owner == owner && p.label == label)
    }

    #[must_use]
    pub fn password(&self, owner: &str) -> Option<&str> {
        self.passwords
            .iter()
            .rev()
            .find(|(o, _)| o == owner)
            .map(|(_, p)| p.as_str())
    }

    pub fn set_password(&mut self, owner: &str, password: &str) {
        self.passwords.push((owner.to_owned(), password.to_owned()));
    }

    /// The newest code display (or audio reader) `owner` holds.
    #[must_use]
    pub fn code_token(&self, owner: &str) -> Option<&CodeToken> {
        self.tokens.iter().rev().find(|t| t.owner == owner)
    }

    /// The newest MitID chip `owner` holds.
    pub fn chip_mut(&mut self, owner: &str) -> Option<&mut Chip> {
        self.chips
            .iter_mut()
            .rev()
            .find(|(o, _)| o == owner)
            .map(|(_, chip)| chip)
    }
}
