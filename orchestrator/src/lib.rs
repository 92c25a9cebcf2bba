//! Sigillo's orchestrator: eligibility decisions from the registries that hold the facts.
//!
//! - [`codes`]: codice fiscale and partita IVA, checked.
//! - [`population`] and [`registries`]: the simulated registries (ANPR, INPS, the nursery
//!   register, the job centres, Registro Imprese, DURC), each signing its answers.
//! - [`rules`]: rules as code, dated and hashed, evaluated as a pure function of the facts.

pub mod client;
pub mod codes;
pub mod eligibility;
pub mod evidence;
pub mod http;
pub mod minter;
pub mod population;
pub mod registries;
pub mod replay;
pub mod rules;
pub mod store;
