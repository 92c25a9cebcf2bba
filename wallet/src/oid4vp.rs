//! Calls (bandi) and OpenID4VP 1.0, verifier side.
//!
//! A public body (one of the issuers, with its bearer token) publishes a call: a DCQL query
//! (which credential types, which claims, optionally which issuers) and rules on the disclosed
//! values (`employees < 50`, `isee_value <= 25000`, `seat.region == "Lombardia"`, `ateco_code in
//! [...]`). An applicant asks for an authorization request (`response_type=vp_token`,
//! `response_mode=direct_post`, a fresh `nonce` and `state`), by value or by reference. Its
//! `client_id` is `redirect_uri:` + the call's response URI, so the key-binding JWT's `aud`
//! names one call: a presentation made for call A fails at call B.
//!
//! The response (`vp_token`, `state`) is checked like any presentation (issuer signature and
//! trust, status, validity, schema, every digest once, KB-JWT `aud`, `nonce`, `sd_hash`, fresh
//! `iat`), then for the call: every requested claim disclosed, nothing asked for missing, the
//! issuer one the call accepts, every rule true. An accepted application gets a result signed
//! by the publishing body (ES256), is stored (on disk before the answer), and the SHA-256 of
//! the `vp_token` and of the result are stamped by the notary: the call's platform keeps a
//! verifiable audit trail. The answer does not wait for the notary's next block; the receipts
//! follow at `receipts_url` within a block interval, and [`Calls::stamp_pending`] stamps at
//! start whatever a crash left unstamped. The `state` is spent before anything is stored, so
//! the same response cannot be replayed.

use std::sync::Arc;

use rand::RngCore;
use serde_json::{json, Map, Value};
use sha2::{Digest as _, Sha256};

use crate::issuers::Issuer;
use crate::jose::b64;
use crate::service::{Credentials, VerifyOptions};
use crate::store::Records;
use crate::Error;

/// How long an authorization request may be answered, in seconds.
pub const REQUEST_TTL_SECONDS: i64 = 600;
/// Most credential queries in a call.
pub const QUERIES_MAX: usize = 10;
/// Most claims per credential query, and most rules per call.
pub const CLAIMS_MAX: usize = 32;
/// The `typ` of a signed application result.
pub const RESULT_TYP: &str = "sigillo-application-result+jwt";

/// A rule's comparison.
const OPERATORS: [&str; 7] = ["==", "!=", "<", "<=", ">", ">=", "in"];

/// The calls service: the credentials' verifier plus the notary that stamps applications.
#[derive(Clone)]
pub struct Calls {
    credentials: Arc<Credentials>,
    notary: notary::Notary,
}

impl std::fmt::Debug for Calls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Calls").finish_non_exhaustive()
    }
}

fn malformed(what: &'static str, reason: impl Into<String>) -> Error {
    Error::Malformed {
        what,
        reason: reason.into(),
    }
}

fn random() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    b64(bytes)
}

/// A DCQL claims path as the dotted form the SD-JWT code uses (`seat.region`, `items.0`).
pub fn dotted(path: &[Value]) -> Result<String, Error> {
    if path.is_empty() || path.len() > 8 {
        return Err(malformed("path", "a claims path has 1 to 8 elements"));
    }
    path.iter()
        .map(|element| match element {
            Value::String(name) if !name.is_empty() && !name.contains('.') => Ok(name.clone()),
            Value::Number(index) if index.is_u64() => Ok(index.to_string()),
            _ => Err(malformed(
                "path",
                "elements are claim names or array indices (null, all elements, is not supported)",
            )),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(|parts| parts.join("."))
}

/// The value at a DCQL claims path.
pub fn value_at<'a>(claims: &'a Value, path: &[Value]) -> Option<&'a Value> {
    path.iter()
        .try_fold(claims, |value, element| match element {
            Value::String(name) => value.get(name.as_str()),
            Value::Number(index) => value.get(index.as_u64()? as usize),
            _ => None,
        })
}

fn compare(actual: &Value, op: &str, expected: &Value) -> bool {
    let numbers = actual.as_f64().zip(expected.as_f64());
    match op {
        "==" => actual == expected || numbers.is_some_and(|(a, b)| a == b),
        "!=" => !(actual == expected || numbers.is_some_and(|(a, b)| a == b)),
        "<" => numbers.is_some_and(|(a, b)| a < b) || strings(actual, expected, |a, b| a < b),
        "<=" => numbers.is_some_and(|(a, b)| a <= b) || strings(actual, expected, |a, b| a <= b),
        ">" => numbers.is_some_and(|(a, b)| a > b) || strings(actual, expected, |a, b| a > b),
        ">=" => numbers.is_some_and(|(a, b)| a >= b) || strings(actual, expected, |a, b| a >= b),
        "in" => expected
            .as_array()
            .is_some_and(|items| items.iter().any(|item| compare(actual, "==", item))),
        _ => false,
    }
}

/// Strings compare in code-point order: ISO dates (`2026-11-22`) compare as dates.
fn strings(actual: &Value, expected: &Value, order: impl Fn(&str, &str) -> bool) -> bool {
    matches!((actual, expected), (Value::String(a), Value::String(b)) if order(a, b))
}

/// Checks a call definition and returns its DCQL query's credential queries by id.
fn check_call(call: &Map<String, Value>) -> Result<(), Error> {
    let title = call
        .get("title")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if title.is_empty() || title.len() > 200 {
        return Err(malformed("title", "1 to 200 characters"));
    }
    let queries = call
        .get("dcql_query")
        .and_then(|q| q.get("credentials"))
        .and_then(Value::as_array)
        .ok_or_else(|| malformed("dcql_query", "needs a credentials array"))?;
    if queries.is_empty() || queries.len() > QUERIES_MAX {
        return Err(malformed(
            "dcql_query",
            format!("1 to {QUERIES_MAX} credential queries"),
        ));
    }
    let mut ids = Vec::new();
    for query in queries {
        let id = query.get("id").and_then(Value::as_str).unwrap_or_default();
        if id.is_empty()
            || id.len() > 64
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(malformed(
                "dcql_query",
                "a query id is 1-64 of [A-Za-z0-9_-]",
            ));
        }
        if ids.contains(&id) {
            return Err(malformed("dcql_query", format!("query id {id} repeats")));
        }
        ids.push(id);
        if query.get("format").and_then(Value::as_str) != Some("dc+sd-jwt") {
            return Err(malformed("dcql_query", "format must be dc+sd-jwt"));
        }
        let vcts = query
            .get("meta")
            .and_then(|m| m.get("vct_values"))
            .and_then(Value::as_array)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| malformed("dcql_query", format!("{id}: meta.vct_values is needed")))?;
        for vct in vcts {
            let known = vct.as_str().and_then(crate::types::find);
            if known.is_none() {
                return Err(Error::UnknownType {
                    name: vct.to_string(),
                });
            }
        }
        let claims = query
            .get("claims")
            .and_then(Value::as_array)
            .filter(|c| !c.is_empty() && c.len() <= CLAIMS_MAX)
            .ok_or_else(|| malformed("dcql_query", format!("{id}: 1 to {CLAIMS_MAX} claims")))?;
        for claim in claims {
            let path = claim
                .get("path")
                .and_then(Value::as_array)
                .ok_or_else(|| malformed("dcql_query", format!("{id}: each claim has a path")))?;
            dotted(path)?;
        }
        if let Some(issuers) = call.get("issuers").and_then(|i| i.get(id)) {
            let ok = issuers
                .as_array()
                .is_some_and(|list| !list.is_empty() && list.iter().all(Value::is_string));
            if !ok {
                return Err(malformed("issuers", format!("{id}: a list of issuer DIDs")));
            }
        }
    }
    let rules = call
        .get("rules")
        .map(|r| r.as_array().ok_or_else(|| malformed("rules", "an array")))
        .transpose()?
        .map(Vec::as_slice)
        .unwrap_or_default();
    if rules.len() > CLAIMS_MAX {
        return Err(malformed("rules", format!("at most {CLAIMS_MAX}")));
    }
    for rule in rules {
        let query = rule
            .get("credential")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let Some(position) = ids.iter().position(|id| *id == query) else {
            return Err(malformed(
                "rules",
                format!("{query:?} is no query of the call"),
            ));
        };
        let path = rule
            .get("path")
            .and_then(Value::as_array)
            .ok_or_else(|| malformed("rules", "each rule has a path"))?;
        let requested = queries[position]["claims"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c.get("path").and_then(Value::as_array) == Some(path));
        if !requested {
            return Err(malformed(
                "rules",
                format!(
                    "{query}: {} is not a claim the call asks for",
                    dotted(path)?
                ),
            ));
        }
        let op = rule.get("op").and_then(Value::as_str).unwrap_or_default();
        if !OPERATORS.contains(&op) {
            return Err(malformed("rules", format!("op is one of {OPERATORS:?}")));
        }
        match (op, rule.get("value")) {
            ("in", Some(Value::Array(_))) => {}
            ("in", _) => return Err(malformed("rules", "in takes an array")),
            (_, Some(Value::Number(_) | Value::String(_) | Value::Bool(_))) => {}
            _ => {
                return Err(malformed(
                    "rules",
                    "value is a number, a string or a boolean",
                ))
            }
        }
    }
    Ok(())
}

/// An answer that passed every check, with what it showed.
#[derive(Clone, Debug)]
pub struct Checked {
    /// The call.
    pub call: Value,
    /// The issuer of each query's credential.
    pub issuers: Map<String, Value>,
    /// The disclosed claims, by query id.
    pub disclosed: Map<String, Value>,
    /// Each rule with the disclosed value and whether it passed (all did).
    pub checks: Vec<Value>,
}

/// An authorization request for a call.
#[derive(Clone, Debug)]
pub struct AuthorizationRequest {
    /// `openid4vp://?…` with every parameter in the URI.
    pub by_value: String,
    /// `openid4vp://?client_id=…&request_uri=…`.
    pub by_reference: String,
    /// The parameters (the request object's claims).
    pub parameters: Value,
    /// The request's `state`.
    pub state: String,
    /// When it lapses.
    pub expires_at: i64,
}

impl Calls {
    /// The service over `credentials`, stamping with `notary`.
    pub fn new(credentials: Arc<Credentials>, notary: notary::Notary) -> Self {
        Calls {
            credentials,
            notary,
        }
    }

    /// The credentials service.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    fn response_uri(&self, call: &str) -> String {
        format!("{}/v1/calls/{call}/response", self.credentials.public_url())
    }

    /// The `client_id` of a call: its response URI with the `redirect_uri:` prefix.
    pub fn client_id(&self, call: &str) -> String {
        format!("redirect_uri:{}", self.response_uri(call))
    }

    /// Publishes a call as `publisher`. Returns it with its id.
    pub fn publish(
        &self,
        publisher: &Issuer,
        mut call: Map<String, Value>,
    ) -> Result<Value, Error> {
        crate::limits::check_depth(&Value::Object(call.clone()), "call")?;
        check_call(&call)?;
        let id = uuid::Uuid::new_v4().to_string();
        call.insert("id".into(), id.clone().into());
        call.insert("publisher".into(), publisher.id.clone().into());
        call.insert("publisher_did".into(), publisher.did.clone().into());
        call.insert("client_id".into(), self.client_id(&id).into());
        call.insert("created_at".into(), crate::now_seconds().into());
        let call = Value::Object(call);
        let store = self.credentials.store();
        store.put_record(Records::Calls, id.as_bytes(), &call)?;
        store.flush()?;
        Ok(call)
    }

    /// A published call.
    pub fn call(&self, id: &str) -> Result<Value, Error> {
        self.credentials
            .store()
            .record(Records::Calls, id.as_bytes())?
            .ok_or_else(|| Error::NotFound {
                what: format!("call {id}"),
            })
    }

    /// A fresh authorization request for `call`.
    pub fn request(&self, call_id: &str) -> Result<AuthorizationRequest, Error> {
        let call = self.call(call_id)?;
        let state = random();
        let nonce = random();
        let now = crate::now_seconds();
        let expires_at = now + REQUEST_TTL_SECONDS;
        let client_id = self.client_id(call_id);
        let parameters = json!({
            "response_type": "vp_token",
            "response_mode": "direct_post",
            "client_id": client_id,
            "response_uri": self.response_uri(call_id),
            "nonce": nonce,
            "state": state,
            "dcql_query": call["dcql_query"],
            "client_metadata": {
                "vp_formats_supported": {
                    "dc+sd-jwt": {"sd-jwt_alg_values": ["ES256", "EdDSA"], "kb-jwt_alg_values": ["ES256", "EdDSA"]}
                }
            },
        });
        let store = self.credentials.store();
        store.put_record(
            Records::Requests,
            state.as_bytes(),
            &json!({"call": call_id, "nonce": nonce, "parameters": parameters, "expires_at": expires_at}),
        )?;
        store.flush()?;
        let mut by_value = form_urlencoded::Serializer::new(String::new());
        for (name, value) in parameters.as_object().expect("an object") {
            match value {
                Value::String(text) => by_value.append_pair(name, text),
                other => by_value.append_pair(name, &other.to_string()),
            };
        }
        let request_uri = format!(
            "{}/v1/calls/{call_id}/requests/{state}",
            self.credentials.public_url()
        );
        let by_reference = form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", &client_id)
            .append_pair("request_uri", &request_uri)
            .finish();
        Ok(AuthorizationRequest {
            by_value: format!("openid4vp://?{}", by_value.finish()),
            by_reference: format!("openid4vp://?{by_reference}"),
            parameters,
            state,
            expires_at,
        })
    }

    /// The request object behind `request_uri`: an unsigned JWT (`alg: none`), as OpenID4VP
    /// requires for the `redirect_uri:` client identifier prefix.
    pub fn request_object(&self, call_id: &str, state: &str) -> Result<String, Error> {
        let record = self
            .credentials
            .store()
            .record(Records::Requests, state.as_bytes())?
            .filter(|r| r["call"] == call_id)
            .filter(|r| r["expires_at"].as_i64().unwrap_or(0) >= crate::now_seconds())
            .ok_or_else(|| Error::NotFound {
                what: "authorization request".into(),
            })?;
        let header = json!({"alg": "none", "typ": "oauth-authz-req+jwt"});
        Ok(format!(
            "{}.{}.",
            b64(header.to_string()),
            b64(record["parameters"].to_string())
        ))
    }

    /// Checks an answer to `call_id`: `vp_token` (the JSON text) and `state`. Accepted, it is
    /// stored with its signed result and the notary's receipts, and the `state` is spent.
    pub async fn respond(
        &self,
        call_id: &str,
        vp_token: &str,
        state: &str,
    ) -> Result<Value, Error> {
        let checked = self.check(call_id, vp_token, state)?;
        self.admit(call_id, vp_token, state, checked).await
    }

    /// Every check of [`respond`](Self::respond), changing nothing: the request, each
    /// presentation, the call's claims, issuers and rules.
    pub fn check(&self, call_id: &str, vp_token: &str, state: &str) -> Result<Checked, Error> {
        let store = self.credentials.store();
        let now = crate::now_seconds();
        let request = store
            .record(Records::Requests, state.as_bytes())?
            .filter(|r| r["call"] == call_id)
            .ok_or_else(|| Error::Binding {
                reason: "unknown or already answered state (a replay, or another call's request)"
                    .into(),
            })?;
        if request["expires_at"].as_i64().unwrap_or(0) < now {
            return Err(Error::Binding {
                reason: "the authorization request has expired".into(),
            });
        }
        let call = self.call(call_id)?;
        let tokens: Map<String, Value> = match serde_json::from_str(vp_token) {
            Ok(Value::Object(tokens)) => tokens,
            _ => return Err(malformed("vp_token", "a JSON object keyed by query id")),
        };
        let options = VerifyOptions {
            aud: Some(self.client_id(call_id)),
            nonce: request["nonce"].as_str().map(str::to_owned),
            now: None,
        };
        let mut disclosed = Map::new();
        let mut issuers = Map::new();
        let queries = call["dcql_query"]["credentials"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for query in &queries {
            let id = query["id"].as_str().unwrap_or_default();
            let presentations = tokens
                .get(id)
                .and_then(Value::as_array)
                .filter(|p| p.len() == 1)
                .ok_or_else(|| Error::Claims {
                    reason: format!("one presentation is needed for {id}"),
                })?;
            let presentation = presentations[0]
                .as_str()
                .ok_or_else(|| malformed("vp_token", "a presentation is a string"))?;
            let verified = self.credentials.verify_sd_jwt(presentation, &options)?;
            let vct_ok = query["meta"]["vct_values"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|v| v.as_str() == Some(verified.credential_type.as_str()));
            if !vct_ok {
                return Err(Error::Claims {
                    reason: format!(
                        "{id}: a {} is not what the call asks for",
                        verified.credential_type
                    ),
                });
            }
            if let Some(accepted) = call["issuers"].get(id).and_then(Value::as_array) {
                if !accepted
                    .iter()
                    .any(|d| d.as_str() == Some(verified.issuer.as_str()))
                {
                    return Err(Error::NotTrustedForType {
                        issuer: verified.issuer,
                        credential_type: format!("call query {id}"),
                    });
                }
            }
            for claim in query["claims"].as_array().into_iter().flatten() {
                let path = claim["path"].as_array().cloned().unwrap_or_default();
                if value_at(&verified.claims, &path).is_none() {
                    return Err(Error::Claims {
                        reason: format!("{id}: {} is not disclosed", dotted(&path)?),
                    });
                }
            }
            issuers.insert(id.to_owned(), verified.issuer.clone().into());
            disclosed.insert(id.to_owned(), verified.claims);
        }
        if let Some(extra) = tokens.keys().find(|k| !disclosed.contains_key(*k)) {
            return Err(malformed(
                "vp_token",
                format!("{extra} is no query of the call"),
            ));
        }
        let mut checks = Vec::new();
        let mut failed = Vec::new();
        for rule in call["rules"].as_array().into_iter().flatten() {
            let query = rule["credential"].as_str().unwrap_or_default();
            let path = rule["path"].as_array().cloned().unwrap_or_default();
            let actual = value_at(&disclosed[query], &path)
                .cloned()
                .unwrap_or(Value::Null);
            let op = rule["op"].as_str().unwrap_or_default();
            let passed = compare(&actual, op, &rule["value"]);
            let check = json!({
                "credential": query, "path": path, "op": op, "value": rule["value"],
                "disclosed": actual, "passed": passed,
            });
            if !passed {
                failed.push(format!(
                    "{query}.{} {op} {} (disclosed {actual})",
                    dotted(&path)?,
                    rule["value"]
                ));
            }
            checks.push(check);
        }
        if !failed.is_empty() {
            return Err(Error::Claims {
                reason: format!("the call's requirements are not met: {}", failed.join("; ")),
            });
        }
        Ok(Checked {
            call,
            issuers,
            disclosed,
            checks,
        })
    }

    async fn admit(
        &self,
        call_id: &str,
        vp_token: &str,
        state: &str,
        checked: Checked,
    ) -> Result<Value, Error> {
        let Checked {
            call,
            issuers,
            disclosed,
            checks,
        } = checked;
        let store = self.credentials.store();
        let now = crate::now_seconds();
        // Accepted: spend the state first, so a replay racing this one finds it gone.
        if store
            .take_record(Records::Requests, state.as_bytes())?
            .is_none()
        {
            return Err(Error::Binding {
                reason: "the state was just used".into(),
            });
        }
        let publisher = self
            .credentials
            .issuer(call["publisher"].as_str().unwrap_or_default())
            .ok_or_else(|| Error::Storage {
                reason: "the call's publisher is no longer configured".into(),
            })?;
        let application_id = uuid::Uuid::new_v4().to_string();
        let presentation_sha256 = hex::encode(Sha256::digest(vp_token.as_bytes()));
        let payload = json!({
            "iss": publisher.did,
            "sub": application_id,
            "iat": now,
            "call": call_id,
            "call_title": call["title"],
            "outcome": "admitted",
            "presentation_sha256": presentation_sha256,
            "issuers": issuers,
            "disclosed": disclosed,
            "checks": checks,
        });
        let mut header = Map::new();
        header.insert("typ".into(), RESULT_TYP.into());
        let result = publisher
            .p256
            .sign_jws(header, Some(&publisher.p256_method()), &payload);
        let application = json!({
            "application_id": application_id,
            "call": call_id,
            "outcome": "admitted",
            "result": result,
            "presentation_sha256": presentation_sha256,
            "result_sha256": hex::encode(Sha256::digest(result.as_bytes())),
            "receipts": null,
            "receipts_url": format!(
                "{}/v1/applications/{application_id}/receipts",
                self.credentials.public_url()
            ),
            "created_at": now,
        });
        store.put_record(
            Records::Applications,
            application_id.as_bytes(),
            &application,
        )?;
        store.flush()?;
        // The answer does not wait for the next notary block: the application is on disk, and
        // its stamp follows within one block interval (or at the next start, if the process
        // dies first: `stamp_pending`).
        let calls = self.clone();
        tokio::spawn(async move {
            if let Err(error) = calls.stamp(&application_id).await {
                tracing::warn!(%error, application = %application_id, "stamping an application");
            }
        });
        Ok(application)
    }

    /// Stamps an application's two hashes (presentation and result) with the notary and keeps
    /// the receipts in its record; nothing to do if it has them.
    pub async fn stamp(&self, id: &str) -> Result<Value, Error> {
        let record = self.application(id)?;
        if !record["receipts"].is_null() {
            return Ok(record);
        }
        let digest = |name: &str| {
            record[name]
                .as_str()
                .and_then(|hex| notary::Digest::from_hex(hex).ok())
                .ok_or_else(|| Error::Storage {
                    reason: format!("application {id} has no {name}"),
                })
        };
        let entries = vec![digest("presentation_sha256")?, digest("result_sha256")?];
        let submitted = self
            .notary
            .submit(entries)
            .await
            .map_err(|e| Error::Storage {
                reason: format!("stamping application {id}: {e}"),
            })?;
        let receipts = submitted.receipts();
        let mut stamped = record.clone();
        stamped["receipts"] = json!({"presentation": receipts[0], "result": receipts[1]});
        let store = self.credentials.store();
        if store.replace_record(Records::Applications, id.as_bytes(), &record, &stamped)? {
            store.flush()?;
            Ok(stamped)
        } else {
            // Stamped meanwhile by another caller: theirs stands.
            self.application(id)
        }
    }

    /// Stamps every application that has no receipts yet (after a crash); returns how many.
    pub async fn stamp_pending(&self) -> Result<usize, Error> {
        let pending: Vec<String> = self
            .credentials
            .store()
            .records(Records::Applications)?
            .into_iter()
            .filter(|(_, record)| record["receipts"].is_null())
            .map(|(key, _)| String::from_utf8_lossy(&key).into_owned())
            .collect();
        for id in &pending {
            self.stamp(id).await?;
        }
        Ok(pending.len())
    }

    /// The hashes and receipts of an application: `None` while its stamp is pending.
    pub fn receipts(&self, id: &str) -> Result<Option<Value>, Error> {
        let record = self.application(id)?;
        Ok((!record["receipts"].is_null()).then(|| {
            json!({
                "application_id": id,
                "presentation_sha256": record["presentation_sha256"],
                "result_sha256": record["result_sha256"],
                "receipts": record["receipts"],
            })
        }))
    }

    /// A stored application.
    pub fn application(&self, id: &str) -> Result<Value, Error> {
        self.credentials
            .store()
            .record(Records::Applications, id.as_bytes())?
            .ok_or_else(|| Error::NotFound {
                what: format!("application {id}"),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_compare_numbers_strings_and_lists() {
        assert!(compare(&json!(49), "<", &json!(50)));
        assert!(!compare(&json!(50), "<", &json!(50)));
        assert!(compare(&json!(25000.0), "<=", &json!(25000)));
        assert!(compare(&json!("Lombardia"), "==", &json!("Lombardia")));
        assert!(compare(&json!("62.01"), "in", &json!(["62.01", "62.02"])));
        assert!(!compare(&json!("47.11"), "in", &json!(["62.01", "62.02"])));
        assert!(compare(&json!("2026-12-31"), ">=", &json!("2026-11-22")));
        assert!(!compare(&json!(null), ">", &json!(1)));
        assert!(compare(&json!(true), "==", &json!(true)));
    }
}
