//! Mints an eligible family's monthly contribution on the token ledger, as tokens of a class
//! only the enrolled nursery can be paid in. One task gathers the mints that arrive together
//! into one ledger batch (one journal fsync), assigns the sequence numbers of the authority
//! and the issuer, and enrols and defines what is missing first: the issuer, the family (a
//! holder named by its key), the class of the measure's version and nursery.

use ed25519_dalek::SigningKey;
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use token::{Body, ClassRules, Ledger, Name, Operation, OperationId, PublicKey, Role};
use tokio::sync::{mpsc, oneshot};

/// The token participant that mints measures' contributions (role issuer).
pub const ISSUER: &str = "regione-lombardia";
/// Mints gathered into one ledger batch at most (each may add up to three operations).
const MINTS_PER_BATCH_MAX: usize = 200;
/// Mints waiting for the task at most; more wait to be queued.
const QUEUE_MAX: usize = 4_096;

/// One contribution to mint.
#[derive(Debug, Clone)]
pub struct Mint {
    /// The family's Ed25519 key.
    pub holder_key: PublicKey,
    /// The class: `{version}.{nursery}`.
    pub class: Name,
    /// The class's title.
    pub title: String,
    /// The nursery: the only merchant category of the class.
    pub nursery: Name,
    /// When the class stops (Unix ms).
    pub expires_at_ms: Option<u64>,
    /// Euro cents.
    pub amount: u64,
}

/// What was minted.
#[derive(Debug, Clone, Serialize)]
pub struct Minted {
    /// The family's participant name.
    pub holder: String,
    /// The class.
    pub class: String,
    /// Euro cents.
    pub amount: u64,
    /// The mint operation's id.
    pub operation: String,
    /// Its index in the ledger's journal.
    pub index: u64,
}

/// The handle the service mints through.
#[derive(Clone)]
pub struct Minter {
    queue: mpsc::Sender<(Mint, oneshot::Sender<Result<Minted, String>>)>,
}

/// The participant name of a family's key: `fam-` and 24 hex digits of its SHA-256, so the
/// ledger holds no fiscal code.
pub fn holder_name(key: &PublicKey) -> Name {
    let digest = Sha256::digest(key.verifying_key().as_bytes());
    Name::new(&format!("fam-{}", &hex::encode(digest)[..24])).expect("fam- and hex is a valid name")
}

impl Minter {
    /// Starts the task. `authority` must be the ledger's authority key; `issuer` is the key
    /// [`ISSUER`] is (or will be) enrolled with.
    pub fn start(ledger: Ledger, authority: SigningKey, issuer: SigningKey) -> Minter {
        let (queue, receiver) = mpsc::channel(QUEUE_MAX);
        tokio::spawn(run(ledger, authority, issuer, receiver));
        Minter { queue }
    }

    /// Mints `mint`, once the ledger has it on disk.
    pub async fn mint(&self, mint: Mint) -> Result<Minted, String> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send((mint, reply))
            .await
            .map_err(|_| "the minter stopped".to_owned())?;
        answer.await.map_err(|_| "the minter stopped".to_owned())?
    }
}

type Job = (Mint, oneshot::Sender<Result<Minted, String>>);

async fn run(
    ledger: Ledger,
    authority: SigningKey,
    issuer: SigningKey,
    mut receiver: mpsc::Receiver<Job>,
) {
    let issuer_name = Name::new(ISSUER).expect("a valid name");
    let issuer_key = PublicKey::from_bytes(issuer.verifying_key().as_bytes())
        .expect("an ed25519-dalek key is a valid key");
    while let Some(first) = receiver.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MINTS_PER_BATCH_MAX {
            match receiver.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let built =
            ledger.read(|state| {
                let authority_seq = state.participant("authority").map(|p| p.next_seq);
                let mut authority_seq = authority_seq.unwrap_or(0);
                let mut setup = Vec::new();
                let mut sign_authority = |body: Body, setup: &mut Vec<token::SignedOperation>| {
                    let operation = Operation {
                        ledger: state.ledger().clone(),
                        id: OperationId::random(),
                        actor: Name::new("authority").expect("a valid name"),
                        seq: authority_seq,
                        linked: false,
                        body,
                    };
                    authority_seq += 1;
                    setup.push(operation.sign(&authority));
                };
                let issuer_seq = match state.participant(ISSUER) {
                    Some(participant) if participant.key == issuer_key => participant.next_seq,
                    Some(_) => return Err(format!("{ISSUER} is enrolled with another key")),
                    None => {
                        sign_authority(
                            Body::Enrol {
                                participant: issuer_name.clone(),
                                role: Role::Issuer,
                                key: issuer_key,
                                category: None,
                            },
                            &mut setup,
                        );
                        0
                    }
                };
                let mut new_holders: Vec<Name> = Vec::new();
                let mut new_classes: Vec<Name> = Vec::new();
                let mut mints = Vec::new();
                for (offset, (mint, _)) in jobs.iter().enumerate() {
                    let holder = holder_name(&mint.holder_key);
                    if state.participant(holder.as_str()).is_none()
                        && !new_holders.contains(&holder)
                    {
                        new_holders.push(holder.clone());
                        sign_authority(
                            Body::Enrol {
                                participant: holder.clone(),
                                role: Role::Holder,
                                key: mint.holder_key,
                                category: Some(Name::new("citizen").expect("a valid name")),
                            },
                            &mut setup,
                        );
                    }
                    if state.class(mint.class.as_str()).is_none()
                        && !new_classes.contains(&mint.class)
                    {
                        new_classes.push(mint.class.clone());
                        sign_authority(
                            Body::DefineClass {
                                class: mint.class.clone(),
                                rules: ClassRules {
                                    title: mint.title.clone(),
                                    issuer: issuer_name.clone(),
                                    decimals: 2,
                                    holder_categories: vec![
                                        Name::new("citizen").expect("a valid name")
                                    ],
                                    merchant_categories: vec![mint.nursery.clone()],
                                    holder_transfers: false,
                                    expires_at_ms: mint.expires_at_ms,
                                    holder_limit: None,
                                },
                            },
                            &mut setup,
                        );
                    }
                    let operation = Operation {
                        ledger: state.ledger().clone(),
                        id: OperationId::random(),
                        actor: issuer_name.clone(),
                        seq: issuer_seq + offset as u64,
                        linked: false,
                        body: Body::Mint {
                            class: mint.class.clone(),
                            to: holder,
                            amount: mint.amount,
                        },
                    };
                    mints.push(operation.sign(&issuer));
                }
                Ok((setup, mints))
            });
        let (setup, mints) = match built {
            Ok(Ok(built)) => built,
            Ok(Err(reason)) => {
                fail_all(jobs, &reason);
                continue;
            }
            Err(error) => {
                fail_all(jobs, &format!("the ledger: {error}"));
                continue;
            }
        };
        let setup_count = setup.len();
        let ids: Vec<OperationId> = mints.iter().map(|m| m.operation.id).collect();
        let batch: Vec<token::SignedOperation> = setup.into_iter().chain(mints).collect();
        match ledger.submit_async(batch).await {
            Ok(outcomes) => {
                for (((mint, reply), outcome), id) in jobs
                    .into_iter()
                    .zip(outcomes.into_iter().skip(setup_count))
                    .zip(ids)
                {
                    let result = match outcome {
                        Ok(applied) => Ok(Minted {
                            holder: holder_name(&mint.holder_key).as_str().to_owned(),
                            class: mint.class.as_str().to_owned(),
                            amount: mint.amount,
                            operation: id.to_string(),
                            index: applied.index,
                        }),
                        Err(reject) => Err(format!("the ledger refused the mint: {reject}")),
                    };
                    let _ = reply.send(result);
                }
            }
            Err(error) => fail_all(jobs, &format!("the ledger: {error}")),
        }
    }
}

fn fail_all(jobs: Vec<Job>, reason: &str) {
    for (_, reply) in jobs {
        let _ = reply.send(Err(reason.to_owned()));
    }
}
