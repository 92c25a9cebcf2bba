//! A seeded, deterministic simulation in the spirit of TigerBeetle's VOPR: random participants
//! and operations against the real ledger on a real sled store, with crashes before and after
//! the fsync, clean restarts, duplicate and reordered submissions. After every step the
//! invariants hold, every acknowledged operation is in the journal at the index it was
//! acknowledged with, and the journal replays to the live state.
//!
//! `cargo test -p token simulation` runs `SIGILLO_SIM_SEEDS` seeds (default 12) from
//! `SIGILLO_SIM_FIRST_SEED` (default 0); `SIGILLO_SIM_SEED=N` runs only seed N. A failure names
//! its seed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::ledger::{Clock, Fault, Ledger};
use crate::model::{ClassRules, OperationId, Role};
use crate::op::{Body, SignedOperation};
use crate::replay::Replay;
use crate::state::{Applied, Outcome, Reject};
use crate::testkit::{name, Circuit};

const STEPS: usize = 120;
const BATCH_OPERATIONS_MAX: usize = 24;

struct World {
    rng: StdRng,
    circuit: Circuit,
    dir: PathBuf,
    clock: Arc<AtomicU64>,
    ledger: Option<Ledger>,
    issuers: Vec<&'static str>,
    holders: Vec<&'static str>,
    merchants: Vec<&'static str>,
    classes: Vec<(&'static str, &'static str)>,
    /// Acknowledged operations: what they were and where the ledger put them.
    acknowledged: HashMap<OperationId, (SignedOperation, Applied)>,
    /// Pending payments acknowledged, with their payee and class.
    pendings: Vec<(OperationId, &'static str, &'static str)>,
}

fn open(dir: &Path, circuit: &Circuit, clock: &Arc<AtomicU64>) -> Result<Ledger, String> {
    let clock = clock.clone();
    let clock: Clock = Arc::new(move || clock.load(Ordering::Acquire));
    Ledger::open(dir, circuit.genesis(), clock).map_err(|error| format!("open: {error}"))
}

impl World {
    fn new(seed: u64, dir: PathBuf) -> Result<World, String> {
        let circuit = Circuit::new("sim", seed);
        let clock = Arc::new(AtomicU64::new(1_000_000));
        let ledger = open(&dir, &circuit, &clock)?;
        let mut world = World {
            rng: StdRng::seed_from_u64(seed),
            circuit,
            dir,
            clock,
            ledger: Some(ledger),
            issuers: vec!["regione", "comune"],
            holders: vec!["h0", "h1", "h2", "h3", "h4", "h5"],
            merchants: vec!["nido", "cartoleria", "mensa"],
            classes: vec![("nidi", "regione"), ("dote", "comune"), ("buono", "comune")],
            acknowledged: HashMap::new(),
            pendings: Vec::new(),
        };
        let mut setup = Vec::new();
        for issuer in world.issuers.clone() {
            setup.push(world.circuit.enrol(issuer, Role::Issuer, None));
        }
        for (i, holder) in world.holders.clone().into_iter().enumerate() {
            let category = if i % 3 == 2 { "business" } else { "citizen" };
            setup.push(world.circuit.enrol(holder, Role::Holder, Some(category)));
        }
        for (merchant, category) in world
            .merchants
            .clone()
            .into_iter()
            .zip(["nursery", "school", "canteen"])
        {
            setup.push(
                world
                    .circuit
                    .enrol(merchant, Role::Merchant, Some(category)),
            );
        }
        setup.push(world.circuit.enrol("revisore", Role::Auditor, None));
        for (class, issuer) in world.classes.clone() {
            let rules = ClassRules {
                title: format!("{class} (simulated)"),
                issuer: name(issuer),
                decimals: 2,
                holder_categories: if world.rng.gen_bool(0.5) {
                    vec![name("citizen")]
                } else {
                    Vec::new()
                },
                merchant_categories: ["nursery", "school", "canteen"]
                    .iter()
                    .filter(|_| world.rng.gen_bool(0.6))
                    .map(|category| name(category))
                    .collect(),
                holder_transfers: world.rng.gen_bool(0.5),
                expires_at_ms: world
                    .rng
                    .gen_bool(0.3)
                    .then(|| 1_000_000 + world.rng.gen_range(5_000..40_000)),
                holder_limit: world
                    .rng
                    .gen_bool(0.5)
                    .then(|| world.rng.gen_range(500..5_000)),
            };
            setup.push(world.circuit.define(class, rules));
        }
        let outcomes = world
            .submit(setup)?
            .ok_or("the setup was not acknowledged")?;
        if let Some(error) = outcomes.iter().find_map(|outcome| outcome.as_ref().err()) {
            return Err(format!("setup refused: {error}"));
        }
        Ok(world)
    }

    /// Submits; records acknowledged operations. `None` when the ledger failed (a crash).
    fn submit(&mut self, ops: Vec<SignedOperation>) -> Result<Option<Vec<Outcome>>, String> {
        match self.ledger().submit(ops.clone()) {
            Ok(outcomes) => {
                self.circuit.settle(&ops, &outcomes);
                for (op, outcome) in ops.iter().zip(&outcomes) {
                    let Ok(applied) = outcome else { continue };
                    let id = op.operation.id;
                    match self.acknowledged.get(&id) {
                        Some((_, first)) if first.index != applied.index || !applied.duplicate => {
                            return Err(format!(
                                "operation {id} acknowledged at {} then at {}",
                                first.index, applied.index
                            ));
                        }
                        Some(_) => {}
                        None => {
                            if let Body::Pending { class, to, .. } = &op.operation.body {
                                let payee = self.pick_static(to.as_str());
                                let class = self.pick_static(class.as_str());
                                self.pendings.push((id, payee, class));
                            }
                            self.acknowledged.insert(id, (op.clone(), *applied));
                        }
                    }
                }
                Ok(Some(outcomes))
            }
            Err(crate::ledger::Error::Stopped) => {
                let refused: Vec<Outcome> =
                    ops.iter().map(|_| Err(Reject::LinkedEventFailed)).collect();
                self.circuit.settle(&ops, &refused);
                Ok(None)
            }
            Err(error) => Err(format!("submit: {error}")),
        }
    }

    fn pick_static(&self, text: &str) -> &'static str {
        self.holders
            .iter()
            .chain(&self.merchants)
            .chain(self.classes.iter().map(|(class, _)| class))
            .find(|candidate| **candidate == text)
            .copied()
            .unwrap_or("unknown")
    }

    fn random_operation(&mut self) -> SignedOperation {
        let (class, issuer) = *self.classes.choose(&mut self.rng).expect("classes");
        let holder = *self.holders.choose(&mut self.rng).expect("holders");
        let other = *self.holders.choose(&mut self.rng).expect("holders");
        let merchant = *self.merchants.choose(&mut self.rng).expect("merchants");
        let amount = match self.rng.gen_range(0..20) {
            0 => 0,
            1 => u64::MAX,
            _ => self.rng.gen_range(1..800),
        };
        let to = if self.rng.gen_bool(0.6) {
            merchant
        } else {
            other
        };
        let linked = self.rng.gen_bool(0.05);
        let (actor, body) = match self.rng.gen_range(0..12) {
            0 | 1 | 10 | 11 => (
                issuer,
                Body::Mint {
                    class: name(class),
                    to: name(holder),
                    amount,
                },
            ),
            2 | 3 => (
                holder,
                Body::Transfer {
                    class: name(class),
                    to: name(to),
                    amount,
                },
            ),
            4 => (
                holder,
                Body::Pending {
                    class: name(class),
                    to: name(to),
                    amount,
                    timeout_ms: self.rng.gen_range(1..3_000),
                },
            ),
            5 | 6 if !self.pendings.is_empty() => {
                let (id, payee, class) = *self.pendings.choose(&mut self.rng).expect("pendings");
                let body = if self.rng.gen_bool(0.6) {
                    Body::Post {
                        class: name(class),
                        pending: id,
                    }
                } else {
                    Body::Void {
                        class: name(class),
                        pending: id,
                    }
                };
                (payee, body)
            }
            7 => (
                merchant,
                Body::Redeem {
                    class: name(class),
                    amount,
                },
            ),
            8 => (
                "authority",
                Body::Clawback {
                    class: name(class),
                    from: name(holder),
                    amount,
                    reason: "simulated recovery".into(),
                },
            ),
            _ => (
                // A participant that may not act here: refused.
                if self.rng.gen_bool(0.5) {
                    "revisore"
                } else {
                    merchant
                },
                Body::Transfer {
                    class: name(class),
                    to: name(holder),
                    amount,
                },
            ),
        };
        let mut op = if linked {
            self.circuit.sign_linked(actor, body)
        } else {
            self.circuit.sign(actor, body)
        };
        if self.rng.gen_bool(0.03) {
            // Tampered after signing.
            op.operation.seq ^= 1 << 40;
        }
        op
    }

    fn ledger(&self) -> &Ledger {
        self.ledger
            .as_ref()
            .expect("the ledger is open between steps")
    }

    /// Stops the ledger, drops it (closing the store) and opens the directory again.
    fn restart(&mut self) -> Result<(), String> {
        if let Some(ledger) = self.ledger.take() {
            ledger.shutdown();
        }
        self.ledger = Some(open(&self.dir, &self.circuit, &self.clock)?);
        Ok(())
    }

    fn step(&mut self) -> Result<(), String> {
        self.clock
            .fetch_add(self.rng.gen_range(0..700), Ordering::AcqRel);
        match self.rng.gen_range(0..20) {
            0 | 1 => {
                // A crash during a commit, before or after its fsync, then a restart.
                let fault = if self.rng.gen_bool(0.5) {
                    Fault::BeforeFsync
                } else {
                    Fault::AfterFsync
                };
                self.ledger().crash_next_commit(fault);
                let count = self.rng.gen_range(1..=BATCH_OPERATIONS_MAX);
                let ops: Vec<_> = (0..count).map(|_| self.random_operation()).collect();
                let answered = self.submit(ops.clone())?;
                self.restart()?;
                if answered.is_none() {
                    // The client retries what it never saw acknowledged: each operation is
                    // applied at most once, whichever side of the fsync the crash fell.
                    self.resubmit(ops)?;
                }
            }
            2 => self.restart()?,
            3 | 4 => {
                // Duplicates of acknowledged operations, mixed with new ones, shuffled.
                let mut ops: Vec<_> = self
                    .acknowledged
                    .values()
                    .map(|(op, _)| op.clone())
                    .collect();
                ops.sort_by_key(|op| op.operation.id);
                ops.shuffle(&mut self.rng);
                ops.truncate(self.rng.gen_range(1..=BATCH_OPERATIONS_MAX));
                let fresh = self.rng.gen_range(0..4);
                ops.extend((0..fresh).map(|_| self.random_operation()));
                self.submit(ops)?;
            }
            _ => {
                let count = self.rng.gen_range(1..=BATCH_OPERATIONS_MAX);
                let mut ops: Vec<_> = (0..count).map(|_| self.random_operation()).collect();
                if self.rng.gen_bool(0.2) {
                    ops.shuffle(&mut self.rng);
                }
                self.submit(ops)?;
            }
        }
        self.check()
    }

    /// Resubmits operations whose fate is unknown; the ones the ledger already holds must come
    /// back as duplicates of what the journal says.
    fn resubmit(&mut self, ops: Vec<SignedOperation>) -> Result<(), String> {
        // The circuit rewound the actors' sequence numbers; operations that did reach the disk
        // consumed theirs: re-read them from the ledger.
        self.sync_sequences(&ops)?;
        let outcomes = self
            .submit(ops.clone())?
            .ok_or("the resubmission was not answered")?;
        for op in &ops {
            let actor = op.operation.actor.as_str();
            let next = self
                .ledger()
                .read(|state| state.participant(actor).map(|p| p.next_seq))
                .map_err(|error| error.to_string())?;
            if let Some(next) = next {
                self.circuit.set_next_seq(actor, next);
            }
        }
        for (op, outcome) in ops.iter().zip(&outcomes) {
            if let Ok(applied) = outcome {
                let held = self
                    .ledger()
                    .journal(applied.index, 1)
                    .map_err(|error| error.to_string())?;
                let entry = held
                    .first()
                    .ok_or("an acknowledged index is not in the journal")?;
                if entry.operation != op.operation.signing_bytes() {
                    return Err(format!(
                        "journal entry {} holds another operation",
                        applied.index
                    ));
                }
            }
        }
        Ok(())
    }

    /// Sets the circuit's next sequence number of each actor of `ops` to the ledger's.
    fn sync_sequences(&mut self, ops: &[SignedOperation]) -> Result<(), String> {
        for op in ops {
            let actor = op.operation.actor.as_str();
            let next = self
                .ledger()
                .read(|state| state.participant(actor).map(|p| p.next_seq))
                .map_err(|error| error.to_string())?;
            if let Some(next) = next {
                self.circuit.set_next_seq(actor, next);
            }
        }
        Ok(())
    }

    fn check(&mut self) -> Result<(), String> {
        let digest = self
            .ledger()
            .read(|state| {
                state.check_invariants()?;
                for (id, (_, applied)) in &self.acknowledged {
                    match state.applied(id) {
                        Some(held) if held.index == applied.index => {}
                        other => {
                            return Err(format!(
                                "acknowledged {id} at {} but the ledger has {other:?}",
                                applied.index
                            ))
                        }
                    }
                }
                Ok(state.digest())
            })
            .map_err(|error| error.to_string())??;
        // Replay the durable journal: it must rebuild exactly the live state.
        let replayed = self.replay(false)?;
        if replayed != digest {
            return Err("the journal replays to another state".into());
        }
        Ok(())
    }

    fn replay(&self, verify: bool) -> Result<[u8; 32], String> {
        let mut replay = Replay::new(self.ledger().genesis(), verify, verify);
        loop {
            let page = self
                .ledger()
                .journal(replay.len(), crate::ledger::PAGE_ENTRIES_MAX)
                .map_err(|error| error.to_string())?;
            if page.is_empty() {
                break;
            }
            for entry in page {
                replay.push(entry).map_err(|error| error.to_string())?;
            }
        }
        let (state, _) = replay.finish().map_err(|error| error.to_string())?;
        Ok(state.digest())
    }
}

/// Runs one seed; `Err` says what broke.
pub(crate) fn run(seed: u64) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("sigillo-sim-{}-{seed}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let result = (|| {
        let mut world = World::new(seed, dir.clone())?;
        for step in 0..STEPS {
            world
                .step()
                .map_err(|error| format!("step {step}: {error}"))?;
        }
        // At the end, the auditor's replay: every signature and every invariant.
        world.replay(true)?;
        let applied = world.acknowledged.len();
        if applied < STEPS / 6 {
            return Err(format!(
                "only {applied} operations applied: the simulation is too weak"
            ));
        }
        world.ledger().shutdown();
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

#[cfg(test)]
mod tests {
    fn env(name: &str) -> Option<u64> {
        std::env::var(name)
            .ok()
            .and_then(|value| value.parse().ok())
    }

    #[test]
    fn simulation() {
        let seeds: Vec<u64> = match env("SIGILLO_SIM_SEED") {
            Some(seed) => vec![seed],
            None => {
                let first = env("SIGILLO_SIM_FIRST_SEED").unwrap_or(0);
                (first..first + env("SIGILLO_SIM_SEEDS").unwrap_or(12)).collect()
            }
        };
        for seed in seeds {
            if let Err(error) = super::run(seed) {
                panic!(
                    "simulation seed {seed} failed: {error}\n\
                     reproduce with: SIGILLO_SIM_SEED={seed} cargo test -p token --lib simulation"
                );
            }
        }
    }
}
