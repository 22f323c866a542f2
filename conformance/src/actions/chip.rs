//! The MitID chip: activated in two steps on MitID.dk at least 24 hours apart (the registration
//! is dated at step one, by the lab clock).

use mitid_devices::Timestamp;
use mitid_devices::chip::Chip;
use serde_json::json;

use super::lab_api::{BROKER, Reply, control};
use super::{ActionError, clock, field, identity};
use crate::world::LabWorld;

/// A new MitID chip for `alias`: step one `hours_ago` hours ago on the lab clock (the chip's
/// registration dated then), step two now. Answers the broker's verdict on step two (a refusal
/// within 24 hours is the rule some scenarios judge).
pub async fn activate(
    world: &mut LabWorld,
    alias: &str,
    hours_ago: u64,
) -> Result<Reply, ActionError> {
    let mut rng = world.devices.rng();
    let chip = Chip::manufacture(format!("CHIP-{alias}"), &mut rng);
    let lab = world.lab();
    let rp_id = lab
        .endpoints
        .issuer
        .host_str()
        .unwrap_or_default()
        .to_owned();
    let now = clock::now(&lab).await?;
    let first_step = Timestamp::from_unix_secs(now.unix_secs().saturating_sub(hours_ago * 3600));
    let credential = chip.registration(&rp_id, first_step);
    world.devices.chips.push((alias.to_owned(), chip));
    let issued = identity::add_authenticator(
        world,
        alias,
        &json!({"kind": "chip", "credential": credential}),
    )
    .await?;
    let id = field(&issued, "authenticator_id", BROKER, "a chip")?;
    let uuid = super::citizen(world, alias)?.uuid;
    control(
        world,
        reqwest::Method::POST,
        &format!("admin/identities/{uuid}/authenticators/{id}/complete-chip-activation"),
        Some(&json!({})),
    )
    .await
}
