//! Sigillo's closed-circuit token ledger.
//!
//! A circuit's authority enrols participants (issuers, holders, merchants, auditors) and defines
//! token classes with their rules; issuers mint, holders pay enrolled merchants, merchants
//! redeem. Every operation is signed by its actor over a canonical encoding ([`op`]) that names
//! the ledger, the actor's next sequence number and a 128-bit operation id. [`state`] applies
//! batches deterministically with strict double entry; [`journal`] chains every applied
//! operation by hash; [`ledger`] is the service (batch signature checks, one fsync per group of
//! batches, notarised journal heads); [`audit`] replays a journal from genesis.

pub mod audit;
pub mod auth;
pub mod http;
pub mod journal;
pub mod ledger;
pub mod model;
pub mod op;
pub mod replay;
#[cfg(test)]
mod sim;
pub mod state;
pub mod store;
pub mod testkit;

pub use journal::{Entry, Genesis, Stamp};
pub use ledger::{Error, Ledger};
pub use model::{ClassRules, Name, OperationId, PublicKey, Role};
pub use op::{Body, Operation, SignedOperation};
pub use state::{Applied, Checked, Outcome, Reject, State};
