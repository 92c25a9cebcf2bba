//! The holder wallet's side of OpenID4VCI: receive an offer into a [`HolderWallet`].
//!
//! `receive` follows the pre-authorized code flow: the offer (by value or by reference), the
//! issuer's metadata and its authorization server's, the token (with the transaction code),
//! a `c_nonce`, and one credential request with one key proof per copy. Each copy is bound to
//! a fresh P-256 key kept beside it, so the copies cannot be linked by their `cnf`. Before
//! storing, the wallet checks each credential: the issuer's signature with the key from the
//! issuer's DID document, the offered `vct`, and the binding to the key it asked for.

use serde_json::{json, Map, Value};

use crate::holder::{HolderWallet, WalletError};
use crate::jose::{PublicKey, SigningKey};
use crate::oid4vci::{PRE_AUTHORIZED_GRANT, PROOF_TYP};
use crate::sdjwt;

/// What can go wrong receiving or presenting.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The offer or request URI is not one we understand.
    #[error("{0}")]
    Uri(String),
    /// The other side answered with an error.
    #[error("{url} answered {status}: {body}")]
    Refused {
        /// What was called.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The answer.
        body: String,
    },
    /// The other side could not be reached.
    #[error("{url}: {reason}")]
    Network {
        /// What was called.
        url: String,
        /// Why.
        reason: String,
    },
    /// What came back fails a check.
    #[error("{0}")]
    Invalid(String),
    /// The credential library refused something.
    #[error(transparent)]
    Credential(#[from] crate::Error),
    /// The wallet file.
    #[error(transparent)]
    Wallet(#[from] WalletError),
}

/// Decodes `%XX` escapes and `+` (form encoding) in a URI query value.
pub fn percent_decode(text: &str) -> Result<String, ClientError> {
    let bytes: Vec<u8> = form_urlencoded::parse(format!("x={text}").as_bytes())
        .next()
        .map(|(_, value)| value.into_owned().into_bytes())
        .unwrap_or_default();
    String::from_utf8(bytes).map_err(|_| ClientError::Uri("not UTF-8".into()))
}

/// The parameters of a `scheme://?a=b&c=d` URI.
pub fn query(uri: &str) -> Vec<(String, String)> {
    let query = uri.split_once('?').map(|(_, q)| q).unwrap_or_default();
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

async fn answer(
    url: &str,
    response: Result<reqwest::Response, reqwest::Error>,
) -> Result<Value, ClientError> {
    let response = response.map_err(|e| ClientError::Network {
        url: url.to_owned(),
        reason: e.to_string(),
    })?;
    let status = response.status();
    let body = response.text().await.map_err(|e| ClientError::Network {
        url: url.to_owned(),
        reason: e.to_string(),
    })?;
    if !status.is_success() {
        return Err(ClientError::Refused {
            url: url.to_owned(),
            status: status.as_u16(),
            body,
        });
    }
    serde_json::from_str(&body).map_err(|e| ClientError::Invalid(format!("{url}: {e}")))
}

/// `GET url` as JSON.
pub async fn get_json(http: &reqwest::Client, url: &str) -> Result<Value, ClientError> {
    answer(url, http.get(url).send().await).await
}

/// Inserts `/.well-known/NAME` between the origin and the path of `identifier`.
pub fn well_known(identifier: &str, name: &str) -> Result<String, ClientError> {
    let rest = identifier
        .strip_prefix("https://")
        .map(|r| ("https://", r))
        .or_else(|| identifier.strip_prefix("http://").map(|r| ("http://", r)))
        .ok_or_else(|| ClientError::Uri(format!("{identifier} is not an HTTP(S) URL")))?;
    let (scheme, rest) = rest;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let path = path.trim_end_matches('/');
    Ok(if path.is_empty() {
        format!("{scheme}{host}/.well-known/{name}")
    } else {
        format!("{scheme}{host}/.well-known/{name}/{path}")
    })
}

/// Resolves an offer URI (`openid-credential-offer://?credential_offer=…` or
/// `…?credential_offer_uri=…`) to the offer object.
pub async fn resolve_offer(http: &reqwest::Client, uri: &str) -> Result<Value, ClientError> {
    let parameters = query(uri);
    let get = |name: &str| {
        parameters
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    match (get("credential_offer"), get("credential_offer_uri")) {
        (Some(offer), None) => serde_json::from_str(&offer)
            .map_err(|e| ClientError::Uri(format!("credential_offer is not JSON: {e}"))),
        (None, Some(url)) => get_json(http, &url).await,
        _ => Err(ClientError::Uri(
            "an offer URI has exactly one of credential_offer and credential_offer_uri".into(),
        )),
    }
}

/// Receives the credential offered by `offer_uri` into `wallet` as `copies` copies, each bound
/// to its own key, and saves the wallet. Returns the new credentials' ids.
pub async fn receive(
    http: &reqwest::Client,
    wallet: &mut HolderWallet,
    offer_uri: &str,
    tx_code: Option<&str>,
    copies: usize,
) -> Result<Vec<String>, ClientError> {
    let offer = resolve_offer(http, offer_uri).await?;
    let issuer = offer["credential_issuer"]
        .as_str()
        .ok_or_else(|| ClientError::Invalid("the offer has no credential_issuer".into()))?
        .to_owned();
    let configuration_id = offer["credential_configuration_ids"][0]
        .as_str()
        .ok_or_else(|| ClientError::Invalid("the offer names no configuration".into()))?
        .to_owned();
    let grant = &offer["grants"][PRE_AUTHORIZED_GRANT];
    let code = grant["pre-authorized_code"]
        .as_str()
        .ok_or_else(|| ClientError::Invalid("the offer has no pre-authorized code".into()))?;
    if grant.get("tx_code").is_some() && tx_code.is_none() {
        return Err(ClientError::Invalid(
            "this offer needs the transaction code the issuer gave you (--tx-code)".into(),
        ));
    }
    let metadata = get_json(http, &well_known(&issuer, "openid-credential-issuer")?).await?;
    if metadata["credential_issuer"] != issuer.as_str() {
        return Err(ClientError::Invalid(
            "the metadata is for another credential issuer".into(),
        ));
    }
    let configuration = &metadata["credential_configurations_supported"][&configuration_id];
    let vct = configuration["vct"]
        .as_str()
        .ok_or_else(|| ClientError::Invalid(format!("{configuration_id} is not offered")))?
        .to_owned();
    let batch = metadata["batch_credential_issuance"]["batch_size"]
        .as_u64()
        .unwrap_or(1) as usize;
    if copies == 0 || copies > batch {
        return Err(ClientError::Invalid(format!(
            "the issuer gives between 1 and {batch} copies"
        )));
    }
    let authorization_server = metadata["authorization_servers"][0]
        .as_str()
        .unwrap_or(&issuer)
        .to_owned();
    let server = get_json(
        http,
        &well_known(&authorization_server, "oauth-authorization-server")?,
    )
    .await?;
    let token_endpoint = server["token_endpoint"]
        .as_str()
        .ok_or_else(|| ClientError::Invalid("no token_endpoint".into()))?;
    let mut form = vec![
        ("grant_type", PRE_AUTHORIZED_GRANT),
        ("pre-authorized_code", code),
    ];
    if let Some(tx_code) = tx_code {
        form.push(("tx_code", tx_code));
    }
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let token = answer(
        token_endpoint,
        http.post(token_endpoint)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await,
    )
    .await?;
    let access_token = token["access_token"]
        .as_str()
        .ok_or_else(|| ClientError::Invalid("no access_token".into()))?;
    let nonce_endpoint = metadata["nonce_endpoint"]
        .as_str()
        .ok_or_else(|| ClientError::Invalid("no nonce_endpoint".into()))?;
    let nonce = answer(nonce_endpoint, http.post(nonce_endpoint).send().await).await?;
    let c_nonce = nonce["c_nonce"]
        .as_str()
        .ok_or_else(|| ClientError::Invalid("no c_nonce".into()))?;
    let now = crate::now_seconds();
    let mut keys = Vec::with_capacity(copies);
    let mut proofs = Vec::with_capacity(copies);
    for _ in 0..copies {
        let (key, pkcs8) = SigningKey::generate_p256();
        let mut header = Map::new();
        header.insert("typ".into(), PROOF_TYP.into());
        header.insert("jwk".into(), key.public().to_jwk());
        proofs.push(key.sign_jws(
            header,
            None,
            &json!({"aud": issuer, "iat": now, "nonce": c_nonce}),
        ));
        keys.push((key, pkcs8));
    }
    let credential_endpoint = metadata["credential_endpoint"]
        .as_str()
        .ok_or_else(|| ClientError::Invalid("no credential_endpoint".into()))?;
    let issued = answer(
        credential_endpoint,
        http.post(credential_endpoint)
            .bearer_auth(access_token)
            .json(&json!({
                "credential_configuration_id": configuration_id,
                "proofs": {"jwt": proofs},
            }))
            .send()
            .await,
    )
    .await?;
    let issued = issued["credentials"]
        .as_array()
        .filter(|c| c.len() == copies)
        .ok_or_else(|| ClientError::Invalid(format!("expected {copies} credentials")))?;
    let did_document = get_json(http, &format!("{issuer}/did.json")).await?;
    let mut checked = Vec::with_capacity(copies);
    for (item, (key, pkcs8)) in issued.iter().zip(keys) {
        let compact = item["credential"]
            .as_str()
            .ok_or_else(|| ClientError::Invalid("a credential is not a string".into()))?;
        let issuer_did = check_issued(compact, &did_document, &vct, &key.public())?;
        checked.push((compact.to_owned(), issuer_did, pkcs8));
    }
    let credential_type = crate::types::find(&vct)
        .map(|t| t.name.to_owned())
        .unwrap_or(vct);
    let ids = checked
        .into_iter()
        .map(|(compact, issuer_did, pkcs8)| {
            wallet.add_credential(
                "dc+sd-jwt",
                &credential_type,
                &issuer_did,
                compact,
                Some(&pkcs8),
            )
        })
        .collect();
    wallet.save()?;
    Ok(ids)
}

/// Checks a received SD-JWT VC: signed by a key of `did_document` (the one its `kid` names),
/// of type `vct`, bound to `holder`. Returns the issuer's DID.
fn check_issued(
    compact: &str,
    did_document: &Value,
    vct: &str,
    holder: &PublicKey,
) -> Result<String, ClientError> {
    let parsed = sdjwt::parse(compact)?;
    let iss = parsed.jwt.payload.get("iss").and_then(Value::as_str);
    if iss != did_document["id"].as_str() {
        return Err(ClientError::Invalid(
            "iss is not the DID of the issuer that offered it".into(),
        ));
    }
    let kid = parsed.jwt.kid().unwrap_or_default();
    let method = did_document["verificationMethod"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["id"] == kid)
        .ok_or_else(|| {
            ClientError::Invalid(format!("{kid} is not in the issuer's DID document"))
        })?;
    let key = match (method.get("publicKeyJwk"), method.get("publicKeyMultibase")) {
        (Some(jwk), _) => PublicKey::from_jwk(jwk)?,
        (None, Some(Value::String(multikey))) => crate::did::from_multikey(multikey)?,
        _ => return Err(ClientError::Invalid(format!("{kid} has no public key"))),
    };
    let revealed = sdjwt::reveal(&parsed, &key)?;
    if revealed.claims.get("vct").and_then(Value::as_str) != Some(vct) {
        return Err(ClientError::Invalid(format!(
            "the credential is not a {vct}"
        )));
    }
    let bound = revealed
        .claims
        .get("cnf")
        .and_then(|cnf| cnf.get("jwk"))
        .map(PublicKey::from_jwk)
        .transpose()?;
    if bound.as_ref() != Some(holder) {
        return Err(ClientError::Invalid(
            "the credential is not bound to the key the wallet proved".into(),
        ));
    }
    Ok(iss.unwrap_or_default().to_owned())
}
