//! NemID at NemID support (phone, orders sent by post) and at Citizen Service (handed over at the
//! counter): new key cards, temporary passwords, as the NemID calendar allows them. The orders go
//! to the broker's admin API, which holds the NemID and enforces the calendar.

use serde_json::json;

use super::ActionError;
use super::identity::NEMID_PASSWORD;
use super::lab_api::{BROKER, Reply, control};
use crate::world::LabWorld;

/// What can be ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    KeyCard,
    TemporaryPassword,
}

/// Where it is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// NemID support, by phone; sent by post.
    SupportLine,
    /// Citizen Service, handed over at the counter.
    CitizenService,
}

/// `alias` orders `item` through `channel`; answers the broker's reply (a refusal is a verdict
/// the calendar decides).
pub async fn order(
    world: &mut LabWorld,
    alias: &str,
    item: Item,
    channel: Channel,
) -> Result<Reply, ActionError> {
    let uuid = super::citizen(world, alias)?.uuid;
    let item = match item {
        Item::KeyCard => "key_card",
        Item::TemporaryPassword => "temporary_password",
    };
    let channel = match channel {
        Channel::SupportLine => "support_line",
        Channel::CitizenService => "citizen_service",
    };
    control(
        world,
        reqwest::Method::POST,
        &format!("admin/identities/{uuid}/nemid/orders"),
        Some(&json!({ "item": item, "channel": channel })),
    )
    .await
}

/// `alias` sets the lab's NemID password again with `temporary` password; answers the NemID's
/// state as the broker reports it.
pub async fn redeem_temporary_password(
    world: &mut LabWorld,
    alias: &str,
    temporary: &str,
) -> Result<serde_json::Value, ActionError> {
    let uuid = super::citizen(world, alias)?.uuid;
    let body = json!({"temporary_password": temporary, "new_password": NEMID_PASSWORD});
    control(
        world,
        reqwest::Method::POST,
        &format!("admin/identities/{uuid}/nemid/temporary-password/redeem"),
        Some(&body),
    )
    .await?
    .expect(200, BROKER, format!("{alias}'s temporary password"))
}
