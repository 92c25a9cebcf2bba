//! A small circuit with deterministic keys, for tests, benchmarks, the simulation and the load
//! tool: it signs operations for its participants and tracks their sequence numbers.

use std::collections::HashMap;

use ed25519_dalek::SigningKey;
use sha2::{Digest as _, Sha256};

use crate::journal::Genesis;
use crate::model::{ClassRules, Name, OperationId, PublicKey, Role};
use crate::op::{Body, Operation, SignedOperation};
use crate::state::{Checked, Outcome, AUTHORITY};

/// The deterministic key of a participant name in a circuit seeded with `seed`.
pub fn key_for(seed: u64, name: &str) -> SigningKey {
    let digest = Sha256::new()
        .chain_update(b"sigillo.token.testkit\0")
        .chain_update(seed.to_be_bytes())
        .chain_update(name.as_bytes())
        .finalize();
    SigningKey::from_bytes(&digest.into())
}

/// Makes a name of text the caller knows is valid.
pub fn name(text: &str) -> Name {
    Name::new(text).expect("the caller passes a valid name")
}

/// Signs operations for a set of participants and remembers their next sequence numbers.
pub struct Circuit {
    /// The ledger's name.
    pub ledger: Name,
    /// The seed the keys derive from.
    pub seed: u64,
    keys: HashMap<String, SigningKey>,
    next_seq: HashMap<String, u64>,
    next_id: u64,
}

impl Circuit {
    /// A circuit whose authority key derives from `seed`.
    pub fn new(ledger: &str, seed: u64) -> Circuit {
        let mut circuit = Circuit {
            ledger: name(ledger),
            seed,
            keys: HashMap::new(),
            next_seq: HashMap::new(),
            next_id: 1,
        };
        circuit.key(AUTHORITY);
        circuit
    }

    /// The genesis of this circuit's ledger.
    pub fn genesis(&self) -> Genesis {
        Genesis {
            ledger: self.ledger.clone(),
            authority: self.public_key(AUTHORITY),
            created_ms: 0,
        }
    }

    /// A participant's signing key (made on first use).
    pub fn key(&mut self, participant: &str) -> &SigningKey {
        let seed = self.seed;
        self.keys
            .entry(participant.to_owned())
            .or_insert_with(|| key_for(seed, participant))
    }

    /// Uses `key` for `participant` (e.g. the real authority key of a running service).
    pub fn set_key(&mut self, participant: &str, key: SigningKey) {
        self.keys.insert(participant.to_owned(), key);
    }

    /// A participant's public key.
    pub fn public_key(&self, participant: &str) -> PublicKey {
        let key = self
            .keys
            .get(participant)
            .cloned()
            .unwrap_or_else(|| key_for(self.seed, participant));
        PublicKey::from_bytes(key.verifying_key().as_bytes()).expect("a generated key is strong")
    }

    /// The next sequence number the circuit will use for `participant`.
    pub fn next_seq(&self, participant: &str) -> u64 {
        self.next_seq.get(participant).copied().unwrap_or(0)
    }

    /// Sets the next sequence number of `participant` (after a refusal, or to test replays).
    pub fn set_next_seq(&mut self, participant: &str, seq: u64) {
        self.next_seq.insert(participant.to_owned(), seq);
    }

    /// Makes ids continue from `counter`, so circuits with the same seed (threads sharing keys)
    /// never sign two operations with one id. Requires `counter > 0`.
    pub fn set_id_counter(&mut self, counter: u64) {
        self.next_id = counter.max(1);
    }

    /// The id [`Circuit::next_id`] will return next.
    pub fn peek_id(&self) -> OperationId {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.seed.to_be_bytes());
        bytes[8..].copy_from_slice(&self.next_id.to_be_bytes());
        OperationId::from_bytes(bytes).expect("the counter starts at 1")
    }

    /// A fresh operation id (deterministic: a counter under the circuit's seed).
    pub fn next_id(&mut self) -> OperationId {
        let id = self.peek_id();
        self.next_id += 1;
        id
    }

    /// Signs `body` for `actor` with its next sequence number, and advances it (assuming the
    /// operation will apply: see [`Circuit::settle`]).
    pub fn sign(&mut self, actor: &str, body: Body) -> SignedOperation {
        self.sign_with(actor, body, false)
    }

    /// [`Circuit::sign`], linked to the next operation.
    pub fn sign_linked(&mut self, actor: &str, body: Body) -> SignedOperation {
        self.sign_with(actor, body, true)
    }

    fn sign_with(&mut self, actor: &str, body: Body, linked: bool) -> SignedOperation {
        let seq = self.next_seq(actor);
        self.next_seq.insert(actor.to_owned(), seq + 1);
        let operation = Operation {
            ledger: self.ledger.clone(),
            id: self.next_id(),
            actor: name(actor),
            seq,
            linked,
            body,
        };
        let key = self.key(actor).clone();
        operation.sign(&key)
    }

    /// After a batch: rewinds the sequence numbers of the actors whose operations were refused,
    /// so the next signature uses the number the ledger expects. Requires the batch in the order
    /// it was signed.
    pub fn settle(&mut self, ops: &[SignedOperation], outcomes: &[Outcome]) {
        let mut refused: HashMap<&str, u64> = HashMap::new();
        for (op, outcome) in ops.iter().zip(outcomes) {
            if outcome.is_err() {
                let seq = refused
                    .entry(op.operation.actor.as_str())
                    .or_insert(u64::MAX);
                *seq = (*seq).min(op.operation.seq);
            }
        }
        for (actor, seq) in refused {
            self.next_seq.insert(actor.to_owned(), seq);
        }
    }

    /// An enrolment signed by the authority.
    pub fn enrol(
        &mut self,
        participant: &str,
        role: Role,
        category: Option<&str>,
    ) -> SignedOperation {
        let key = self.public_key(participant);
        self.sign(
            AUTHORITY,
            Body::Enrol {
                participant: name(participant),
                role,
                key,
                category: category.map(name),
            },
        )
    }

    /// A class definition signed by the authority.
    pub fn define(&mut self, class: &str, rules: ClassRules) -> SignedOperation {
        self.sign(
            AUTHORITY,
            Body::DefineClass {
                class: name(class),
                rules,
            },
        )
    }
}

/// Rules with everything permissive except what the arguments say.
pub fn rules(issuer: &str, merchant_categories: &[&str]) -> ClassRules {
    ClassRules {
        title: format!("class issued by {issuer}"),
        issuer: name(issuer),
        decimals: 2,
        holder_categories: Vec::new(),
        merchant_categories: merchant_categories.iter().map(|c| name(c)).collect(),
        holder_transfers: true,
        expires_at_ms: None,
        holder_limit: None,
    }
}

/// Wraps signed operations for [`crate::State::apply_batch`] (signatures unchecked: the state
/// verifies them).
pub fn checked(ops: &[SignedOperation]) -> Vec<Checked> {
    ops.iter().cloned().map(Checked::new).collect()
}
