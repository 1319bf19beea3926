//! IOP vocabulary (the contract in `docs/iop-contract.md`): resource shapes, the client the
//! engine uses, and webhook signing and verification.

pub mod client;
pub mod signature;
