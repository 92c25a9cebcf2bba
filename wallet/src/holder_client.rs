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

/// The body of a successful answer, as text; a refusal or a failure as an error.
async fn text(
    url: &str,
    response: Result<reqwest::Response, reqwest::Error>,
) -> Result<String, ClientError> {
    let network = |e: reqwest::Error| ClientError::Network {
        url: url.to_owned(),
        reason: e.to_string(),
    };
    let response = response.map_err(network)?;
    let status = response.status();
    let body = response.text().await.map_err(network)?;
    if !status.is_success() {
        return Err(ClientError::Refused {
            url: url.to_owned(),
            status: status.as_u16(),
            body,
        });
    }
    Ok(body)
}

/// The body of a successful answer, as JSON.
async fn answer(
    url: &str,
    response: Result<reqwest::Response, reqwest::Error>,
) -> Result<Value, ClientError> {
    let body = text(url, response).await?;
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
    let format = configuration["format"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // What the credential must be: its `vct` (SD-JWT VC) or its VC 2.0 type.
    let vct = match format.as_str() {
        "dc+sd-jwt" => configuration["vct"].as_str(),
        "ldp_vc" => configuration["credential_definition"]["type"]
            .as_array()
            .and_then(|types| {
                types
                    .iter()
                    .filter_map(Value::as_str)
                    .find(|t| *t != "VerifiableCredential")
            }),
        _ => None,
    }
    .ok_or_else(|| {
        ClientError::Invalid(format!(
            "{configuration_id} is not offered in a format we hold"
        ))
    })?
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
    let loader = crate::vc::Loader::new();
    for (item, (key, pkcs8)) in issued.iter().zip(keys) {
        let (text, issuer_did, issuer_key) = if format == "ldp_vc" {
            let (issuer_did, issuer_key) = check_issued_vc(
                &loader,
                &item["credential"],
                &did_document,
                &vct,
                &key.public(),
            )
            .await?;
            (item["credential"].to_string(), issuer_did, issuer_key)
        } else {
            let compact = item["credential"]
                .as_str()
                .ok_or_else(|| ClientError::Invalid("a credential is not a string".into()))?;
            let (issuer_did, issuer_key) =
                check_issued(compact, &did_document, &vct, &key.public())?;
            (compact.to_owned(), issuer_did, issuer_key)
        };
        checked.push((text, issuer_did, issuer_key, pkcs8));
    }
    let stored_format = if format == "ldp_vc" {
        "vc2"
    } else {
        "dc+sd-jwt"
    };
    let credential_type = crate::types::find(&vct)
        .map(|t| t.name.to_owned())
        .unwrap_or(vct);
    let ids = checked
        .into_iter()
        .map(|(compact, issuer_did, issuer_key, pkcs8)| {
            wallet.add_credential(
                stored_format,
                &credential_type,
                &issuer_did,
                compact,
                Some(&pkcs8),
                Some(issuer_key.to_jwk()),
            )
        })
        .collect();
    wallet.save()?;
    Ok(ids)
}

/// Checks a received VC 2.0 credential: its `eddsa-rdfc-2022` (or `eddsa-jcs-2022`) proof with
/// the issuer's key its `verificationMethod` names in `did_document`, of type `vc_type`, its
/// subject the did:key of `holder`. Returns the issuer's DID and the key that signed it.
async fn check_issued_vc(
    loader: &crate::vc::Loader,
    credential: &Value,
    did_document: &Value,
    vc_type: &str,
    holder: &PublicKey,
) -> Result<(String, PublicKey), ClientError> {
    let issuer = did_document["id"].as_str().unwrap_or_default();
    let named = match &credential["issuer"] {
        Value::String(id) => id.as_str(),
        other => other["id"].as_str().unwrap_or_default(),
    };
    if named != issuer {
        return Err(ClientError::Invalid(
            "the issuer is not the DID of the issuer that offered it".into(),
        ));
    }
    let method = credential["proof"]["verificationMethod"]
        .as_str()
        .unwrap_or_default();
    let key = did_document["verificationMethod"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["id"] == method)
        .and_then(|m| m["publicKeyMultibase"].as_str())
        .map(crate::did::from_multikey)
        .transpose()?
        .ok_or_else(|| ClientError::Invalid(format!("{method} is not a Multikey of the issuer")))?;
    let PublicKey::Ed25519(ed25519) = &key else {
        return Err(ClientError::Invalid(format!(
            "{method} is not an Ed25519 key"
        )));
    };
    let suite = crate::vc::Suite::from_name(
        credential["proof"]["cryptosuite"]
            .as_str()
            .unwrap_or_default(),
    )?;
    crate::vc::check_proof(
        loader,
        credential,
        ed25519,
        issuer,
        method,
        suite,
        crate::now_seconds(),
    )
    .await?;
    let typed = credential["type"]
        .as_array()
        .is_some_and(|types| types.iter().any(|t| t == vc_type));
    if !typed {
        return Err(ClientError::Invalid(format!(
            "the credential is not a {vc_type}"
        )));
    }
    if credential["credentialSubject"]["id"] != crate::did::did_key(holder).as_str() {
        return Err(ClientError::Invalid(
            "the credential's subject is not the key the wallet proved".into(),
        ));
    }
    Ok((issuer.to_owned(), key))
}

/// Checks a received SD-JWT VC: signed by a key of `did_document` (the one its `kid` names),
/// of type `vct`, bound to `holder`. Returns the issuer's DID and the key that signed it.
fn check_issued(
    compact: &str,
    did_document: &Value,
    vct: &str,
    holder: &PublicKey,
) -> Result<(String, PublicKey), ClientError> {
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
    Ok((iss.unwrap_or_default().to_owned(), key))
}

/// An OpenID4VP authorization request, as the wallet read it.
#[derive(Clone, Debug)]
pub struct PresentationRequest {
    /// The verifier (`redirect_uri:` + its response URI).
    pub client_id: String,
    /// Where the answer goes (`direct_post`).
    pub response_uri: String,
    /// The nonce the key-binding JWTs sign.
    pub nonce: String,
    /// The verifier's `state`, returned with the answer.
    pub state: String,
    /// The DCQL query.
    pub dcql_query: Value,
}

/// What will leave the wallet for one credential query.
#[derive(Clone, Debug)]
pub struct PlannedDisclosure {
    /// The DCQL credential query id.
    pub query: String,
    /// The wallet's credential that answers it.
    pub credential_id: String,
    /// Its type.
    pub credential_type: String,
    /// Its issuer.
    pub issuer: String,
    /// Each claim that will be disclosed: (path, value).
    pub claims: Vec<(String, Value)>,
}

fn json_parameter(value: &str, name: &str) -> Result<Value, ClientError> {
    serde_json::from_str(value).map_err(|e| ClientError::Uri(format!("{name} is not JSON: {e}")))
}

/// Reads an authorization request URI (`openid4vp://?…`, by value or with `request_uri`).
pub async fn read_request(
    http: &reqwest::Client,
    uri: &str,
) -> Result<PresentationRequest, ClientError> {
    let parameters = query(uri);
    let get = |name: &str| {
        parameters
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    let object: Map<String, Value> = match get("request_uri") {
        Some(request_uri) => {
            let text = text(&request_uri, http.get(&request_uri).send().await).await?;
            // The `redirect_uri:` prefix comes with unsigned request objects (`alg: none`);
            // nothing else about the presentation rests on them: the verifier checks it all.
            let mut parts = text.trim().split('.');
            let (Some(header), Some(payload), Some(""), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err(ClientError::Invalid(
                    "the request object is not an unsigned JWT".into(),
                ));
            };
            let header = json_parameter(
                &String::from_utf8_lossy(&crate::jose::unb64(header, "header")?),
                "header",
            )?;
            if header["alg"] != "none" || header["typ"] != "oauth-authz-req+jwt" {
                return Err(ClientError::Invalid(
                    "the request object must be typ oauth-authz-req+jwt, alg none".into(),
                ));
            }
            let payload = json_parameter(
                &String::from_utf8_lossy(&crate::jose::unb64(payload, "payload")?),
                "payload",
            )?;
            let object = payload.as_object().cloned().ok_or_else(|| {
                ClientError::Invalid("the request object is not an object".into())
            })?;
            if get("client_id").as_deref() != object.get("client_id").and_then(Value::as_str) {
                return Err(ClientError::Invalid(
                    "the request object's client_id differs from the URI's".into(),
                ));
            }
            object
        }
        None => {
            let mut object = Map::new();
            for (name, value) in &parameters {
                let value = match name.as_str() {
                    "dcql_query" | "client_metadata" => json_parameter(value, name)?,
                    _ => Value::String(value.clone()),
                };
                object.insert(name.clone(), value);
            }
            object
        }
    };
    let text = |name: &str| {
        object
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| ClientError::Invalid(format!("the request has no {name}")))
    };
    if text("response_type")? != "vp_token" || text("response_mode")? != "direct_post" {
        return Err(ClientError::Invalid(
            "only response_type=vp_token with response_mode=direct_post is supported".into(),
        ));
    }
    let client_id = text("client_id")?;
    let response_uri = text("response_uri")?;
    if client_id.strip_prefix("redirect_uri:") != Some(response_uri.as_str()) {
        return Err(ClientError::Invalid(
            "client_id must be redirect_uri: followed by the response_uri".into(),
        ));
    }
    Ok(PresentationRequest {
        client_id,
        response_uri,
        nonce: text("nonce")?,
        state: text("state")?,
        dcql_query: object.get("dcql_query").cloned().unwrap_or(Value::Null),
    })
}

/// Matches the request's DCQL query against the wallet: for each credential query, the most
/// recent unexpired credential of an asked-for `vct` that holds every asked-for claim.
pub fn plan(
    wallet: &HolderWallet,
    request: &PresentationRequest,
) -> Result<Vec<PlannedDisclosure>, ClientError> {
    let queries = request.dcql_query["credentials"]
        .as_array()
        .filter(|q| !q.is_empty())
        .ok_or_else(|| ClientError::Invalid("the DCQL query asks for no credentials".into()))?;
    let now = crate::now_seconds();
    let mut planned = Vec::with_capacity(queries.len());
    for query in queries {
        let id = query["id"].as_str().unwrap_or_default();
        if query["format"] != "dc+sd-jwt" {
            return Err(ClientError::Invalid(format!(
                "{id}: only dc+sd-jwt is held"
            )));
        }
        let vcts: Vec<&str> = query["meta"]["vct_values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let paths: Vec<Vec<Value>> = query["claims"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["path"].as_array().cloned())
            .collect();
        let mut best: Option<(i64, PlannedDisclosure)> = None;
        for held in wallet
            .credentials()
            .iter()
            .filter(|c| c.format == "dc+sd-jwt")
        {
            let Some(issuer_key) = held
                .issuer_key
                .as_ref()
                .and_then(|k| PublicKey::from_jwk(k).ok())
            else {
                continue;
            };
            let Ok(parsed) = sdjwt::parse(&held.credential) else {
                continue;
            };
            // `vct` and `exp` are never disclosable: the clear payload answers whether this
            // credential can match, before any signature is checked.
            let payload = &parsed.jwt.payload;
            let vct = payload
                .get("vct")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let expired = payload
                .get("exp")
                .and_then(Value::as_i64)
                .is_some_and(|exp| exp < now);
            if !vcts.contains(&vct) || expired {
                continue;
            }
            let Ok(revealed) = sdjwt::reveal(&parsed, &issuer_key) else {
                continue;
            };
            let claims = Value::Object(revealed.claims);
            let mut values = Vec::with_capacity(paths.len());
            for path in &paths {
                let value = crate::oid4vp::value_at(&claims, path);
                match (value, crate::oid4vp::dotted(path)) {
                    (Some(value), Ok(dotted)) => values.push((dotted, value.clone())),
                    _ => break,
                }
            }
            if values.len() != paths.len() {
                continue;
            }
            if best.as_ref().is_none_or(|(at, _)| held.received_at >= *at) {
                best = Some((
                    held.received_at,
                    PlannedDisclosure {
                        query: id.to_owned(),
                        credential_id: held.id.clone(),
                        credential_type: held.credential_type.clone(),
                        issuer: held.issuer.clone(),
                        claims: values,
                    },
                ));
            }
        }
        let (_, disclosure) = best.ok_or_else(|| {
            ClientError::Invalid(format!(
                "no credential in the wallet answers {id} ({})",
                vcts.join(", ")
            ))
        })?;
        planned.push(disclosure);
    }
    Ok(planned)
}

/// Discloses exactly the planned claims, binds each presentation to the verifier and its
/// nonce, and posts them (`direct_post`). Returns the verifier's answer.
pub async fn present(
    http: &reqwest::Client,
    wallet: &HolderWallet,
    request: &PresentationRequest,
    planned: &[PlannedDisclosure],
) -> Result<Value, ClientError> {
    let body = response_body(wallet, request, planned)?;
    post_response(http, request, body).await
}

/// The `direct_post` body (`vp_token`, `state`, form-encoded): every byte that leaves.
pub fn response_body(
    wallet: &HolderWallet,
    request: &PresentationRequest,
    planned: &[PlannedDisclosure],
) -> Result<String, ClientError> {
    let now = crate::now_seconds();
    let mut vp_token = Map::new();
    for disclosure in planned {
        let held = wallet
            .credentials()
            .iter()
            .find(|c| c.id == disclosure.credential_id)
            .ok_or_else(|| ClientError::Invalid("a planned credential left the wallet".into()))?;
        let issuer_key = held
            .issuer_key
            .as_ref()
            .map(PublicKey::from_jwk)
            .transpose()?
            .ok_or_else(|| ClientError::Invalid("the credential has no issuer key".into()))?;
        let paths: Vec<&str> = disclosure.claims.iter().map(|(p, _)| p.as_str()).collect();
        let selected = sdjwt::select(&held.credential, &issuer_key, &paths)?;
        let key = wallet.credential_key(held)?;
        let bound = sdjwt::bind(&selected, &key, &request.client_id, &request.nonce, now);
        vp_token.insert(disclosure.query.clone(), json!([bound]));
    }
    Ok(form_urlencoded::Serializer::new(String::new())
        .append_pair("vp_token", &Value::Object(vp_token).to_string())
        .append_pair("state", &request.state)
        .finish())
}

/// Posts a `direct_post` body to the request's response URI.
pub async fn post_response(
    http: &reqwest::Client,
    request: &PresentationRequest,
    body: String,
) -> Result<Value, ClientError> {
    answer(
        &request.response_uri,
        http.post(&request.response_uri)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await,
    )
    .await
}

/// Waits (up to `timeout`) for the notary's receipts of an application the verifier answered,
/// and returns the answer with them.
pub async fn await_receipts(
    http: &reqwest::Client,
    answer: &Value,
    timeout: std::time::Duration,
) -> Result<Value, ClientError> {
    if !answer["receipts"].is_null() {
        return Ok(answer.clone());
    }
    let url = answer["receipts_url"]
        .as_str()
        .ok_or_else(|| ClientError::Invalid("the answer has no receipts_url".into()))?;
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let response = http
            .get(url)
            .send()
            .await
            .map_err(|e| ClientError::Network {
                url: url.to_owned(),
                reason: e.to_string(),
            })?;
        if response.status() == reqwest::StatusCode::OK {
            let stamped = answer_json(url, response).await?;
            let mut answer = answer.clone();
            answer["receipts"] = stamped["receipts"].clone();
            return Ok(answer);
        }
        if response.status() != reqwest::StatusCode::ACCEPTED {
            return Err(ClientError::Refused {
                url: url.to_owned(),
                status: response.status().as_u16(),
                body: response.text().await.unwrap_or_default(),
            });
        }
        if std::time::Instant::now() >= deadline {
            return Err(ClientError::Invalid(format!(
                "no receipts after {} s",
                timeout.as_secs()
            )));
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

async fn answer_json(url: &str, response: reqwest::Response) -> Result<Value, ClientError> {
    answer(url, Ok(response)).await
}
