//! The domain: plain types and their parsing, each with its tests. Nothing
//! here knows the web framework, the database or the settings file; the
//! layers above parse input into these types at their edge and carry them.

pub mod access;
pub mod audit;
pub mod brand;
pub mod clock;
pub mod code;
pub mod colour;
pub mod display_name;
pub mod email;
pub mod host;
pub mod keys;
pub mod mail;
pub mod network;
pub mod password;
pub mod pending;
pub mod purpose;
pub mod requester;
pub mod return_to;
