//! The guest ABI (SPEC §2–§3, docs/ABI.md): what crosses between the host
//! and a guest's linear memory, and in which format.
//!
//! - `memory`: the only code that reads or writes a guest's memory;
//! - `wire`: packed results, the guest's encoding, error values, args;
//! - `value`: Yao values in MessagePack and JSON.

pub mod memory;
pub mod value;
pub mod wire;

pub use memory::Guest;
pub use wire::{Encoding, Packed};
