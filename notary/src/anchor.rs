//! Anchoring checkpoints on an EVM chain (Besu and EBSI, any Ethereum JSON-RPC node; anvil in
//! the tests), and upgrading receipts from `signed` to `anchored`.
//!
//! The notary holds a secp256k1 key (`data/anchor.key`). Once, it deploys a minimal contract
//! (59 bytes of runtime code, [`contract_code`]) whose only behaviour is: for a call with exactly
//! 64 bytes of calldata, emit `Anchored(address indexed notary, bytes32 root, uint256 size)`
//! with the caller and the calldata; revert otherwise. Every `interval` (and on demand) it sends
//! the latest checkpoint's root and size to it in one transaction, waits for `confirmations`
//! blocks, checks that the block is still the canonical one at its height, and records the
//! transaction hash, block number and hash, and log index.
//!
//! Records live in their own sled database and are flushed before anything depends on them.
//! Failures never lose an anchor: a node that is down is retried at the next poll; a transaction
//! that vanished (dropped, or reorged out before its confirmations) is sent again for the
//! latest checkpoint; and a confirmed anchor that a deeper reorg removed is marked `reorged`
//! and replaced, so receipts are only ever upgraded with anchors the chain still holds.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, Bytes, B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::eth::{BlockNumberOrTag, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolEvent;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use zeroize::Zeroizing;

use crate::hash::Digest;
use crate::keys::write_durably;
use crate::note::{open_checkpoint, Checkpoint};
use crate::receipt::{AnchorProof, Receipt, ReceiptState};
use crate::Notary;

alloy::sol! {
    /// The anchor contract's only event.
    event Anchored(address indexed notary, bytes32 root, uint256 size);
}

/// The contract's creation code: an init prefix that returns the runtime code after it.
///
/// ```text
/// runtime:  CALLDATASIZE PUSH1 64 EQ PUSH1 0x0b JUMPI PUSH1 0 DUP1 REVERT
///           JUMPDEST PUSH1 64 PUSH1 0 PUSH1 0 CALLDATACOPY        ; memory[0..64] = calldata
///           CALLER PUSH32 topic0 PUSH1 64 PUSH1 0 LOG2 STOP        ; Anchored(caller, root, size)
/// init:     PUSH1 59 PUSH1 12 PUSH1 0 CODECOPY PUSH1 59 PUSH1 0 RETURN
/// ```
pub fn contract_code() -> Vec<u8> {
    let mut runtime = vec![
        0x36, 0x60, 0x40, 0x14, 0x60, 0x0b, 0x57, 0x60, 0x00, 0x80, 0xfd, // size check
        0x5b, 0x60, 0x40, 0x60, 0x00, 0x60, 0x00, 0x37, // calldatacopy
        0x33, 0x7f, // caller, push32
    ];
    runtime.extend_from_slice(Anchored::SIGNATURE_HASH.as_slice());
    runtime.extend_from_slice(&[0x60, 0x40, 0x60, 0x00, 0xa2, 0x00]);
    debug_assert_eq!(runtime.len(), 59);
    let length = runtime.len() as u8;
    let mut code = vec![
        0x60, length, 0x60, 12, 0x60, 0x00, 0x39, 0x60, length, 0x60, 0x00, 0xf3,
    ];
    code.extend_from_slice(&runtime);
    code
}

/// The calldata for a checkpoint: its root, then its size as a 256-bit big-endian integer.
pub fn calldata(root: &Digest, size: u64) -> Vec<u8> {
    let mut data = Vec::with_capacity(64);
    data.extend_from_slice(root.as_bytes());
    data.extend_from_slice(&U256::from(size).to_be_bytes::<32>());
    data
}

/// How anchoring is set up.
#[derive(Debug, Clone)]
pub struct AnchorConfig {
    /// The node's JSON-RPC URL.
    pub rpc_url: String,
    /// Time between anchors of a log that grew.
    pub interval: Duration,
    /// Blocks (the transaction's included) before an anchor counts as confirmed.
    pub confirmations: u64,
    /// Time between checks of pending transactions.
    pub poll: Duration,
    /// Longest wait for one JSON-RPC call.
    pub rpc_timeout: Duration,
}

/// Where an anchor stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnchorState {
    /// Sent; not yet confirmed.
    Submitted,
    /// In a canonical block with enough confirmations.
    Confirmed,
    /// Vanished before its confirmations (dropped, or reorged out); replaced by a later one.
    Dropped,
    /// Confirmed, then removed by a reorg deeper than the confirmation depth; replaced.
    Reorged,
}

/// One anchor transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnchorRecord {
    /// Sequence number, from 0.
    pub sequence: u64,
    /// Where it stands.
    pub state: AnchorState,
    /// The anchored checkpoint's size (blocks in the log).
    pub size: u64,
    /// Its root.
    pub root: Digest,
    /// The signed checkpoint note.
    pub checkpoint: String,
    /// The chain id.
    pub chain_id: u64,
    /// The contract.
    pub contract: String,
    /// The notary's account.
    pub account: String,
    /// The transaction hash.
    pub tx_hash: String,
    /// The block number, once included.
    pub block_number: Option<u64>,
    /// The block hash, once included.
    pub block_hash: Option<String>,
    /// The log index, once included.
    pub log_index: Option<u64>,
    /// When it was sent (Unix ms).
    pub submitted_ms: u64,
    /// When it was confirmed (Unix ms).
    pub confirmed_ms: Option<u64>,
}

/// Why anchoring failed this time (it is retried).
#[derive(Debug, thiserror::Error)]
pub enum AnchorError {
    /// The node could not be reached or answered an error.
    #[error("the node at {url}: {reason}")]
    Rpc {
        /// The node.
        url: String,
        /// What happened.
        reason: String,
    },
    /// The node serves another chain than the one anchored so far.
    #[error("the node serves chain {got}, the anchors are on chain {want}")]
    WrongChain {
        /// The node's chain.
        got: u64,
        /// The recorded chain.
        want: u64,
    },
    /// The anchor store failed.
    #[error("anchor store: {0}")]
    Store(String),
    /// The key file could not be read or written.
    #[error("anchor key {path}: {reason}")]
    Key {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

impl From<sled::Error> for AnchorError {
    fn from(error: sled::Error) -> AnchorError {
        AnchorError::Store(error.to_string())
    }
}

/// Loads the secp256k1 anchoring key from `path` (64 hex digits), or makes one there (0600).
pub fn load_or_generate_key(path: &Path) -> Result<PrivateKeySigner, AnchorError> {
    let key_error = |reason: String| AnchorError::Key {
        path: path.display().to_string(),
        reason,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let text = Zeroizing::new(text);
            text.trim()
                .parse::<PrivateKeySigner>()
                .map_err(|error| key_error(error.to_string()))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let signer = PrivateKeySigner::random();
            let text = Zeroizing::new(format!("{}\n", hex::encode(signer.to_bytes())));
            write_durably(path, text.as_bytes(), 0o600)
                .map_err(|error| key_error(error.to_string()))?;
            Ok(signer)
        }
        Err(error) => Err(key_error(error.to_string())),
    }
}

const CONTRACT_KEY: &[u8] = b"contract";
const CHAIN_KEY: &[u8] = b"chain_id";

/// The anchoring service: a task ([`Anchorer::run`]) and the receipt upgrades it enables.
pub struct Anchorer {
    config: AnchorConfig,
    provider: DynProvider,
    account: Address,
    records: sled::Tree,
    meta: sled::Tree,
    db: sled::Db,
    wake: Notify,
    last_error: Mutex<Option<String>>,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64)
}

impl Anchorer {
    /// Opens the anchor store in `dir` and connects (lazily) to the node.
    pub fn open(
        dir: &Path,
        signer: PrivateKeySigner,
        config: AnchorConfig,
    ) -> Result<Arc<Anchorer>, AnchorError> {
        let url: reqwest::Url = config.rpc_url.parse().map_err(|error| AnchorError::Rpc {
            url: config.rpc_url.clone(),
            reason: format!("not a URL: {error}"),
        })?;
        let account = signer.address();
        // Nonces are asked of the node for every transaction: a cached nonce would be wrong
        // after a reorg or a dropped transaction, and the anchor would wait behind a gap.
        let provider = ProviderBuilder::new()
            .disable_recommended_fillers()
            .with_gas_estimation()
            .with_simple_nonce_management()
            .fetch_chain_id()
            .wallet(signer)
            .connect_http(url)
            .erased();
        let db = crate::store::open_db(dir, 8 * 1024 * 1024)?;
        Ok(Arc::new(Anchorer {
            records: db.open_tree("records")?,
            meta: db.open_tree("meta")?,
            db,
            config,
            provider,
            account,
            wake: Notify::new(),
            last_error: Mutex::new(None),
        }))
    }

    /// The anchoring account (the transactions' sender), 0x-prefixed.
    pub fn account(&self) -> String {
        self.account.to_checksum(None)
    }

    /// Asks for an anchor now, without waiting for the interval.
    pub fn request(&self) {
        self.wake.notify_one();
    }

    /// The last failure, if the last step failed.
    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .expect("error lock is never poisoned")
            .clone()
    }

    /// The contract address, once deployed.
    pub fn contract(&self) -> Option<String> {
        self.meta
            .get(CONTRACT_KEY)
            .ok()
            .flatten()
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Every record, oldest first (at most `limit`, the newest ones).
    pub fn records(&self, limit: usize) -> Vec<AnchorRecord> {
        let mut records: Vec<AnchorRecord> = self.newest_first().take(limit).collect();
        records.reverse();
        records
    }

    fn last_record(&self) -> Result<Option<AnchorRecord>, AnchorError> {
        match self.records.last()? {
            Some((_, value)) => serde_json::from_slice(&value)
                .map(Some)
                .map_err(|error| AnchorError::Store(error.to_string())),
            None => Ok(None),
        }
    }

    /// Records from the newest back, read lazily.
    fn newest_first(&self) -> impl Iterator<Item = AnchorRecord> + '_ {
        self.records
            .iter()
            .rev()
            .filter_map(|item| item.ok())
            .filter_map(|(_, value)| serde_json::from_slice(&value).ok())
    }

    fn last_confirmed(&self) -> Option<AnchorRecord> {
        self.newest_first()
            .find(|record| record.state == AnchorState::Confirmed)
    }

    async fn save(&self, record: &AnchorRecord) -> Result<(), AnchorError> {
        let value = serde_json::to_vec(record).expect("a record serialises");
        self.records.insert(record.sequence.to_be_bytes(), value)?;
        self.db.flush_async().await?;
        Ok(())
    }

    fn rpc_error(&self, error: impl std::fmt::Display) -> AnchorError {
        AnchorError::Rpc {
            url: self.config.rpc_url.clone(),
            reason: error.to_string(),
        }
    }

    /// Runs one JSON-RPC future with the configured timeout.
    async fn call<T, E: std::fmt::Display>(
        &self,
        future: impl std::future::IntoFuture<Output = Result<T, E>>,
    ) -> Result<T, AnchorError> {
        match tokio::time::timeout(self.config.rpc_timeout, future.into_future()).await {
            Ok(result) => result.map_err(|error| self.rpc_error(error)),
            Err(_) => Err(self.rpc_error("timed out")),
        }
    }

    /// The anchoring loop: a step every `poll`, or at once when asked. Never returns; errors
    /// are logged, kept for [`Anchorer::last_error`], and retried at the next step.
    pub async fn run(self: Arc<Self>, notary: Notary) {
        let mut last_attempt_ms: Option<u64> = None;
        loop {
            let demanded = tokio::select! {
                () = self.wake.notified() => true,
                () = tokio::time::sleep(self.config.poll) => false,
            };
            let due = demanded
                || last_attempt_ms.is_none_or(|at| {
                    now_ms().saturating_sub(at) >= self.config.interval.as_millis() as u64
                });
            match self.step(&notary, due).await {
                Ok(submitted) => {
                    if submitted {
                        last_attempt_ms = Some(now_ms());
                    }
                    *self
                        .last_error
                        .lock()
                        .expect("error lock is never poisoned") = None;
                }
                Err(error) => {
                    tracing::warn!(%error, "anchoring failed; retrying");
                    *self
                        .last_error
                        .lock()
                        .expect("error lock is never poisoned") = Some(error.to_string());
                }
            }
        }
    }

    /// One step: follow the pending transaction, watch the last confirmed one, and send a new
    /// one when the log grew and an anchor is `due`. Returns whether it sent a transaction.
    pub async fn step(&self, notary: &Notary, due: bool) -> Result<bool, AnchorError> {
        let chain_id = self.check_chain().await?;
        let contract = self.ensure_contract().await?;
        let mut must_send = false;
        if let Some(mut last) = self.last_record()? {
            if last.state == AnchorState::Submitted {
                if !self.follow(&mut last).await? {
                    return Ok(false);
                }
                // Confirmed now, or vanished: a vanished one is replaced at once.
                must_send = last.state == AnchorState::Dropped;
            }
        }
        if let Some(mut anchor) = self.last_confirmed() {
            if !self.still_on_chain(&anchor).await? {
                tracing::warn!(sequence = anchor.sequence, tx = %anchor.tx_hash, "a confirmed anchor was reorged away; anchoring again");
                anchor.state = AnchorState::Reorged;
                self.save(&anchor).await?;
                must_send = true;
            }
        }
        let anchored_size = self.last_confirmed().map_or(0, |anchor| anchor.size);
        let size = notary.size();
        if size == 0 || (!must_send && (size <= anchored_size || !due)) {
            return Ok(false);
        }
        self.send(notary, chain_id, contract).await?;
        Ok(true)
    }

    async fn check_chain(&self) -> Result<u64, AnchorError> {
        let chain_id = self.call(self.provider.get_chain_id()).await?;
        match self.meta.get(CHAIN_KEY)? {
            Some(bytes) => {
                let want = u64::from_be_bytes(
                    bytes
                        .as_ref()
                        .try_into()
                        .map_err(|_| AnchorError::Store("bad chain id".into()))?,
                );
                if want != chain_id {
                    return Err(AnchorError::WrongChain {
                        got: chain_id,
                        want,
                    });
                }
            }
            None => {
                self.meta.insert(CHAIN_KEY, &chain_id.to_be_bytes())?;
                self.db.flush_async().await?;
            }
        }
        Ok(chain_id)
    }

    /// The contract's address, deploying it when there is none or its code is gone (a reorg
    /// or a fresh chain under the same id).
    async fn ensure_contract(&self) -> Result<Address, AnchorError> {
        if let Some(address) = self.contract() {
            let address: Address = address
                .parse()
                .map_err(|_| AnchorError::Store("bad contract address".into()))?;
            let code = self.call(self.provider.get_code_at(address)).await?;
            if !code.is_empty() {
                return Ok(address);
            }
            tracing::warn!(%address, "the anchor contract is gone; deploying it again");
        }
        let request = TransactionRequest::default()
            .with_from(self.account)
            .with_deploy_code(Bytes::from(contract_code()));
        let pending = self.call(self.provider.send_transaction(request)).await?;
        let hash = *pending.tx_hash();
        let receipt = self.wait_receipt(hash).await?;
        let address = receipt
            .contract_address
            .ok_or_else(|| self.rpc_error("the deployment created no contract"))?;
        self.meta
            .insert(CONTRACT_KEY, address.to_checksum(None).as_bytes())?;
        self.db.flush_async().await?;
        tracing::info!(%address, "anchor contract deployed");
        Ok(address)
    }

    async fn wait_receipt(
        &self,
        hash: B256,
    ) -> Result<alloy::rpc::types::eth::TransactionReceipt, AnchorError> {
        for _ in 0..100 {
            if let Some(receipt) = self
                .call(self.provider.get_transaction_receipt(hash))
                .await?
            {
                return Ok(receipt);
            }
            tokio::time::sleep(self.config.poll.min(Duration::from_millis(200))).await;
        }
        Err(self.rpc_error(format!("transaction {hash} was not mined")))
    }

    async fn send(
        &self,
        notary: &Notary,
        chain_id: u64,
        contract: Address,
    ) -> Result<(), AnchorError> {
        let note = notary.latest_checkpoint();
        let checkpoint = open_checkpoint(&note, &notary.verifier())
            .map_err(|error| AnchorError::Store(error.to_string()))?;
        let request = TransactionRequest::default()
            .with_from(self.account)
            .with_to(contract)
            .with_input(Bytes::from(calldata(&checkpoint.root, checkpoint.size)));
        let pending = self.call(self.provider.send_transaction(request)).await?;
        let sequence = self.last_record()?.map_or(0, |last| last.sequence + 1);
        let record = AnchorRecord {
            sequence,
            state: AnchorState::Submitted,
            size: checkpoint.size,
            root: checkpoint.root,
            checkpoint: note,
            chain_id,
            contract: contract.to_checksum(None),
            account: self.account(),
            tx_hash: pending.tx_hash().to_string(),
            block_number: None,
            block_hash: None,
            log_index: None,
            submitted_ms: now_ms(),
            confirmed_ms: None,
        };
        self.save(&record).await?;
        tracing::info!(sequence, size = record.size, tx = %record.tx_hash, "anchor sent");
        Ok(())
    }

    /// Advances a submitted record. Returns true when it reached a final state (confirmed or
    /// dropped), false while it waits.
    async fn follow(&self, record: &mut AnchorRecord) -> Result<bool, AnchorError> {
        let hash: B256 = record
            .tx_hash
            .parse()
            .map_err(|_| AnchorError::Store("bad transaction hash".into()))?;
        let receipt = self
            .call(self.provider.get_transaction_receipt(hash))
            .await?;
        let Some(receipt) = receipt else {
            // Not in a block: still waiting in the pool, or gone (dropped, reorged out).
            let known = self
                .call(self.provider.get_transaction_by_hash(hash))
                .await?
                .is_some();
            if known {
                return Ok(false);
            }
            tracing::warn!(tx = %record.tx_hash, "an anchor transaction vanished; sending it again");
            record.state = AnchorState::Dropped;
            self.save(record).await?;
            return Ok(true);
        };
        let (Some(number), Some(block_hash)) = (receipt.block_number, receipt.block_hash) else {
            return Ok(false);
        };
        let log = receipt.inner.logs().iter().find(|log| {
            log.topics().first() == Some(&Anchored::SIGNATURE_HASH)
                && log.inner.address.to_checksum(None) == record.contract
        });
        let Some(log) = log.filter(|_| receipt.status()) else {
            tracing::warn!(tx = %record.tx_hash, "an anchor transaction failed; sending it again");
            record.state = AnchorState::Dropped;
            self.save(record).await?;
            return Ok(true);
        };
        record.block_number = Some(number);
        record.block_hash = Some(block_hash.to_string());
        record.log_index = log.log_index;
        let head = self.call(self.provider.get_block_number()).await?;
        if head + 1 < number + self.config.confirmations {
            return Ok(false);
        }
        if !self.still_on_chain(record).await? {
            return Ok(false);
        }
        record.state = AnchorState::Confirmed;
        record.confirmed_ms = Some(now_ms());
        self.save(record).await?;
        tracing::info!(
            sequence = record.sequence,
            size = record.size,
            block = number,
            "anchor confirmed"
        );
        Ok(true)
    }

    /// Whether the block recorded for `record` is still the canonical block at its height.
    async fn still_on_chain(&self, record: &AnchorRecord) -> Result<bool, AnchorError> {
        let (Some(number), Some(hash)) = (record.block_number, &record.block_hash) else {
            return Ok(false);
        };
        let block = self
            .call(
                self.provider
                    .get_block_by_number(BlockNumberOrTag::Number(number)),
            )
            .await?;
        Ok(block.is_some_and(|block| block.header.hash.to_string() == *hash))
    }

    /// Upgrades `receipt` with the first confirmed anchor at or beyond its checkpoint.
    /// `Ok(None)` when no anchor covers it yet.
    pub fn upgrade(
        &self,
        notary: &Notary,
        receipt: &Receipt,
    ) -> Result<Option<Receipt>, crate::Error> {
        // The receipt must be this log's: the same checks as any verifier, with the notary's
        // own key. That also gives the checkpoint the consistency proof starts from.
        let checkpoint = crate::ReceiptVerifier::new(notary.verifier())
            .verify(receipt, &receipt.entry)?
            .checkpoint;
        // The oldest confirmed anchor that covers the checkpoint: walk back from the newest
        // while anchors still cover it (sizes grow with sequence numbers).
        let anchor = self
            .newest_first()
            .filter(|record| record.state == AnchorState::Confirmed)
            .take_while(|record| record.size >= checkpoint.size)
            .last();
        let Some(anchor) = anchor else {
            return Ok(None);
        };
        let (Some(block_number), Some(block_hash), Some(log_index)) = (
            anchor.block_number,
            anchor.block_hash.clone(),
            anchor.log_index,
        ) else {
            return Err(crate::Error::Corrupt("a confirmed anchor lacks its block"));
        };
        Ok(Some(Receipt {
            state: ReceiptState::Anchored,
            anchor: Some(AnchorProof {
                consistency: notary.consistency_proof(checkpoint.size, anchor.size)?,
                checkpoint: anchor.checkpoint,
                chain_id: anchor.chain_id,
                contract: anchor.contract,
                account: anchor.account,
                tx_hash: anchor.tx_hash,
                block_number,
                block_hash,
                log_index,
            }),
            ..receipt.clone()
        }))
    }
}

/// What the chain says about an anchor proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainCheck {
    /// Blocks from the anchor's block to the head, counting both.
    pub confirmations: u64,
}

/// Checks `anchor` against a node: the transaction exists and succeeded, from the anchoring
/// account, in the canonical block named, with at least `confirmations`, and its log at
/// `log_index` is the contract's `Anchored` event carrying exactly `checkpoint`'s root and size.
pub async fn check_on_chain(
    rpc_url: &str,
    anchor: &AnchorProof,
    checkpoint: &Checkpoint,
    confirmations: u64,
) -> Result<ChainCheck, String> {
    let url: reqwest::Url = rpc_url
        .parse()
        .map_err(|error| format!("--rpc {rpc_url}: {error}"))?;
    let provider = ProviderBuilder::new().connect_http(url);
    let rpc = |error: &dyn std::fmt::Display| format!("the node at {rpc_url}: {error}");
    let chain_id = provider.get_chain_id().await.map_err(|e| rpc(&e))?;
    if chain_id != anchor.chain_id {
        return Err(format!(
            "the node serves chain {chain_id}, the anchor is on chain {}",
            anchor.chain_id
        ));
    }
    let hash: B256 = anchor
        .tx_hash
        .parse()
        .map_err(|_| "the anchor's transaction hash is malformed".to_owned())?;
    let receipt = provider
        .get_transaction_receipt(hash)
        .await
        .map_err(|e| rpc(&e))?
        .ok_or_else(|| format!("transaction {} is not on the chain", anchor.tx_hash))?;
    if !receipt.status() {
        return Err(format!("transaction {} failed", anchor.tx_hash));
    }
    if receipt.block_number != Some(anchor.block_number)
        || receipt.block_hash.map(|hash| hash.to_string()) != Some(anchor.block_hash.clone())
    {
        return Err(format!(
            "transaction {} is in block {:?}, the anchor says block {} ({})",
            anchor.tx_hash, receipt.block_number, anchor.block_number, anchor.block_hash
        ));
    }
    let account: Address = anchor
        .account
        .parse()
        .map_err(|_| "the anchor's account is malformed".to_owned())?;
    if receipt.from != account {
        return Err(format!(
            "transaction {} was sent by {}, not the notary's account {}",
            anchor.tx_hash, receipt.from, anchor.account
        ));
    }
    let block = provider
        .get_block_by_number(BlockNumberOrTag::Number(anchor.block_number))
        .await
        .map_err(|e| rpc(&e))?
        .ok_or_else(|| format!("block {} is not on the chain", anchor.block_number))?;
    if block.header.hash.to_string() != anchor.block_hash {
        return Err(format!(
            "block {} on the chain is {}, not {}: the anchor was reorged away",
            anchor.block_number, block.header.hash, anchor.block_hash
        ));
    }
    let log = receipt
        .inner
        .logs()
        .iter()
        .find(|log| log.log_index == Some(anchor.log_index))
        .ok_or_else(|| format!("the transaction has no log {}", anchor.log_index))?;
    let contract: Address = anchor
        .contract
        .parse()
        .map_err(|_| "the anchor's contract is malformed".to_owned())?;
    if log.inner.address != contract {
        return Err(format!(
            "log {} is not from the anchor contract",
            anchor.log_index
        ));
    }
    let event = Anchored::decode_log(&log.inner)
        .map_err(|error| format!("log {} is not an Anchored event: {error}", anchor.log_index))?;
    if event.notary != account
        || event.root.as_slice() != checkpoint.root.as_bytes()
        || event.size != U256::from(checkpoint.size)
    {
        return Err(format!(
            "the chain holds root {} size {} from {}, the anchored checkpoint has root {} size {}",
            hex::encode(event.root),
            event.size,
            event.notary,
            checkpoint.root.to_hex(),
            checkpoint.size
        ));
    }
    let head = provider.get_block_number().await.map_err(|e| rpc(&e))?;
    let depth = head.saturating_sub(anchor.block_number) + 1;
    if depth < confirmations {
        return Err(format!(
            "the anchor has {depth} confirmations, fewer than the {confirmations} required"
        ));
    }
    Ok(ChainCheck {
        confirmations: depth,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_code_has_the_documented_shape() {
        let code = contract_code();
        assert_eq!(code.len(), 12 + 59);
        // The init code copies and returns exactly the runtime that follows it.
        assert_eq!(
            &code[..12],
            &[0x60, 59, 0x60, 12, 0x60, 0, 0x39, 0x60, 59, 0x60, 0, 0xf3]
        );
        assert_eq!(&code[12 + 21..12 + 53], Anchored::SIGNATURE_HASH.as_slice());
        assert_eq!(
            Anchored::SIGNATURE_HASH,
            alloy::primitives::keccak256("Anchored(address,bytes32,uint256)")
        );
    }

    #[test]
    fn calldata_is_root_then_size_as_uint256() {
        let root = Digest::sha256(b"root");
        let data = calldata(&root, 0x0102);
        assert_eq!(&data[..32], root.as_bytes());
        assert_eq!(&data[32..62], &[0u8; 30]);
        assert_eq!(&data[62..], &[1, 2]);
    }
}
