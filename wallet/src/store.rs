//! The credentials' storage: a sled database under the data directory with the status of every
//! allocated status-list entry and a record of every issued credential. Every write is flushed
//! before the caller acknowledges it.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::status::Status;
use crate::Error;

/// What is kept about an issued credential (never its claims).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CredentialRecord {
    /// The credential's id (`urn:uuid:…`).
    pub id: String,
    /// The issuer's short name.
    pub issuer: String,
    /// The credential type's short name.
    pub credential_type: String,
    /// `dc+sd-jwt` or `ldp_vc`.
    pub format: String,
    /// The status list number within the issuer.
    pub list: u32,
    /// The index within the list.
    pub index: u32,
    /// Issued at, Unix seconds.
    pub issued_at: i64,
    /// Valid until, Unix seconds.
    pub expires_at: i64,
}

impl CredentialRecord {
    /// A record with only its status slot and times set (the rest empty), to complete with
    /// struct update syntax.
    pub fn slot(list: u32, index: u32, issued_at: i64, expires_at: i64) -> Self {
        CredentialRecord {
            id: String::new(),
            issuer: String::new(),
            credential_type: String::new(),
            format: String::new(),
            list,
            index,
            issued_at,
            expires_at,
        }
    }
}

/// The sled database.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    entries: sled::Tree,
    credentials: sled::Tree,
}

fn storage(error: sled::Error) -> Error {
    Error::Storage {
        reason: error.to_string(),
    }
}

/// The trees of JSON records that the OpenID4VCI and OpenID4VP flows keep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Records {
    /// Credential offers, by SHA-256 of the pre-authorized code.
    Offers,
    /// Offers by reference, by offer id: the offer JSON.
    OfferDocuments,
    /// Access tokens, by SHA-256 of the token.
    AccessTokens,
    /// `c_nonce`s, by the nonce.
    Nonces,
    /// Calls (bandi), by id.
    Calls,
    /// Authorization requests, by `state`.
    Requests,
    /// Applications (answered requests), by id.
    Applications,
}

impl Records {
    fn name(self) -> &'static str {
        match self {
            Records::Offers => "oid4vci-offers",
            Records::OfferDocuments => "oid4vci-offer-documents",
            Records::AccessTokens => "oid4vci-access-tokens",
            Records::Nonces => "oid4vci-nonces",
            Records::Calls => "oid4vp-calls",
            Records::Requests => "oid4vp-requests",
            Records::Applications => "oid4vp-applications",
        }
    }
}

fn corrupt(tree: Records) -> Error {
    Error::Storage {
        reason: format!("a record in {} is corrupt", tree.name()),
    }
}

fn entry_key(issuer: &str, list: u32, index: u32) -> Vec<u8> {
    let mut key = Vec::with_capacity(issuer.len() + 9);
    key.extend_from_slice(issuer.as_bytes());
    key.push(0);
    key.extend_from_slice(&list.to_be_bytes());
    key.extend_from_slice(&index.to_be_bytes());
    key
}

impl Store {
    /// Opens (or creates) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let db = sled::open(path).map_err(storage)?;
        let entries = db.open_tree("status-entries").map_err(storage)?;
        let credentials = db.open_tree("credentials").map_err(storage)?;
        Ok(Store {
            db,
            entries,
            credentials,
        })
    }

    /// Every allocated entry: (issuer, list, index, status).
    pub fn entries(&self) -> Result<Vec<(String, u32, u32, Status)>, Error> {
        let mut out = Vec::new();
        for item in self.entries.iter() {
            let (key, value) = item.map_err(storage)?;
            let split = key
                .iter()
                .position(|b| *b == 0)
                .filter(|at| key.len() == at + 9);
            let (Some(at), Some(status)) =
                (split, value.first().and_then(|b| Status::from_bits(*b)))
            else {
                return Err(Error::Storage {
                    reason: "a status entry is corrupt".into(),
                });
            };
            let issuer = String::from_utf8_lossy(&key[..at]).into_owned();
            let list = u32::from_be_bytes(key[at + 1..at + 5].try_into().expect("4 bytes"));
            let index = u32::from_be_bytes(key[at + 5..at + 9].try_into().expect("4 bytes"));
            out.push((issuer, list, index, status));
        }
        Ok(out)
    }

    /// Writes issued credentials' records and their status entries (not yet flushed).
    pub fn put_issued(&self, records: &[CredentialRecord]) -> Result<(), Error> {
        for record in records {
            let json = serde_json::to_vec(record).expect("a record serialises");
            self.entries
                .insert(
                    entry_key(&record.issuer, record.list, record.index),
                    &[Status::Valid as u8],
                )
                .map_err(storage)?;
            self.credentials
                .insert(record.id.as_bytes(), json)
                .map_err(storage)?;
        }
        Ok(())
    }

    /// Sets a status (not yet flushed).
    pub fn put_status(&self, record: &CredentialRecord, status: Status) -> Result<(), Error> {
        self.entries
            .insert(
                entry_key(&record.issuer, record.list, record.index),
                &[status as u8],
            )
            .map_err(storage)?;
        Ok(())
    }

    /// A credential's record.
    pub fn credential(&self, id: &str) -> Result<Option<CredentialRecord>, Error> {
        match self.credentials.get(id.as_bytes()).map_err(storage)? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|_| Error::Storage {
                    reason: "a credential record is corrupt".into(),
                }),
        }
    }

    fn tree(&self, tree: Records) -> Result<sled::Tree, Error> {
        self.db.open_tree(tree.name()).map_err(storage)
    }

    /// Writes a JSON record (not yet flushed).
    pub fn put_record(&self, tree: Records, key: &[u8], value: &Value) -> Result<(), Error> {
        let json = serde_json::to_vec(value).expect("a JSON value serialises");
        self.tree(tree)?.insert(key, json).map_err(storage)?;
        Ok(())
    }

    /// Reads a JSON record.
    pub fn record(&self, tree: Records, key: &[u8]) -> Result<Option<Value>, Error> {
        self.tree(tree)?
            .get(key)
            .map_err(storage)?
            .map(|bytes| serde_json::from_slice(&bytes).map_err(|_| corrupt(tree)))
            .transpose()
    }

    /// Every record of a tree, in key order.
    pub fn records(&self, tree: Records) -> Result<Vec<(Vec<u8>, Value)>, Error> {
        self.tree(tree)?
            .iter()
            .map(|item| {
                let (key, bytes) = item.map_err(storage)?;
                let value = serde_json::from_slice(&bytes).map_err(|_| corrupt(tree))?;
                Ok((key.to_vec(), value))
            })
            .collect()
    }

    /// Removes the grants (offers, access tokens, nonces, authorization requests) whose
    /// `expires_at` is before `now`, and flushes. Returns how many went. Calls and
    /// applications are kept: they are the platform's record.
    pub fn purge_expired(&self, now: i64) -> Result<usize, Error> {
        let mut removed = 0;
        for tree in [
            Records::Offers,
            Records::OfferDocuments,
            Records::AccessTokens,
            Records::Nonces,
            Records::Requests,
        ] {
            for (key, record) in self.records(tree)? {
                if record["expires_at"].as_i64().is_some_and(|at| at < now) {
                    // Only if unchanged since read: a grant being spent right now is left to
                    // its taker.
                    let bytes = serde_json::to_vec(&record).expect("a JSON value serialises");
                    let gone = self
                        .tree(tree)?
                        .compare_and_swap(&key, Some(bytes), None::<Vec<u8>>)
                        .map_err(storage)?
                        .is_ok();
                    removed += usize::from(gone);
                }
            }
        }
        if removed > 0 {
            self.flush()?;
        }
        Ok(removed)
    }

    /// Removes a record and returns it: of two callers taking the same key, one gets it.
    pub fn take_record(&self, tree: Records, key: &[u8]) -> Result<Option<Value>, Error> {
        self.tree(tree)?
            .remove(key)
            .map_err(storage)?
            .map(|bytes| serde_json::from_slice(&bytes).map_err(|_| corrupt(tree)))
            .transpose()
    }

    /// Replaces `old` by `new` only if the record still is `old`; false if it changed.
    pub fn replace_record(
        &self,
        tree: Records,
        key: &[u8],
        old: &Value,
        new: &Value,
    ) -> Result<bool, Error> {
        let old = serde_json::to_vec(old).expect("a JSON value serialises");
        let new = serde_json::to_vec(new).expect("a JSON value serialises");
        Ok(self
            .tree(tree)?
            .compare_and_swap(key, Some(old), Some(new))
            .map_err(storage)?
            .is_ok())
    }

    /// Flushes everything written so far to disk (fsync).
    pub fn flush(&self) -> Result<(), Error> {
        self.db.flush().map_err(storage)?;
        Ok(())
    }
}
