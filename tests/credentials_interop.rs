//! Credentials cross-verified with independent implementations, both ways, offline:
//! `@sd-jwt/sd-jwt-vc` (npm) and `sd-jwt` (PyPI) for SD-JWT VC and key binding,
//! `@sd-jwt/jwt-status-list` for our Token Status Lists, Digital Bazaar's `@digitalbazaar/vc`
//! with `eddsa-rdfc-2022` for VC 2.0, and `@digitalbazaar/vc-bitstring-status-list` for our
//! Bitstring Status Lists. The peers are installed by scripts/interop/install.sh.

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::io::Write as _;
use std::process::{Command, Stdio};

use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use serde_json::{json, Map, Value};
use sigillo_e2e::{interop_dir, interop_tool, TempDir};
use wallet::issuers::{default_issuers, ExternalIssuer};
use wallet::jose::{b64, SigningKey};
use wallet::service::{Holder, IssueRequest, VerifyOptions};
use wallet::status::{Purpose, Status};
use wallet::vc::Suite;
use wallet::{sdjwt, Credentials, CredentialsConfig};

const URL: &str = "http://127.0.0.1:9";

fn open(dir: &std::path::Path, external: Vec<ExternalIssuer>) -> Credentials {
    Credentials::open(CredentialsConfig {
        access: None,
        data_dir: dir.to_path_buf(),
        public_url: URL.into(),
        did_host: "127.0.0.1:9".into(),
        issuers: default_issuers(),
        external,
    })
    .unwrap()
}

/// Runs a peer with one JSON request; `Err` carries the peer's refusal.
fn peer(program: &str, script: &str, request: &Value) -> Result<Value, String> {
    let mut child = Command::new(program)
        .arg(interop_tool(script))
        .current_dir(interop_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let answer: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("{script}: {}", String::from_utf8_lossy(&output.stderr)));
    if output.status.success() {
        Ok(answer)
    } else {
        Err(answer["error"].as_str().unwrap_or_default().to_owned())
    }
}

fn node(script: &str, request: &Value) -> Result<Value, String> {
    peer("node", script, request)
}

fn python(request: &Value) -> Result<Value, String> {
    let python = interop_dir().join(".venv/bin/python");
    peer(python.to_str().unwrap(), "sdjwt_peer.py", request)
}

/// A holder key both sides can use: ours as a `SigningKey`, the peers' as a private JWK.
fn holder() -> (SigningKey, Value) {
    let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
    let point = secret.public_key().to_encoded_point(false);
    let jwk = json!({
        "kty": "EC", "crv": "P-256",
        "x": b64(point.x().unwrap()), "y": b64(point.y().unwrap()), "d": b64(secret.to_bytes()),
    });
    let pkcs8 = p256::pkcs8::EncodePrivateKey::to_pkcs8_der(&secret).unwrap();
    (SigningKey::p256_from_pkcs8(pkcs8.as_bytes()).unwrap(), jwk)
}

fn public(jwk: &Value) -> Value {
    let mut jwk = jwk.clone();
    jwk.as_object_mut().unwrap().remove("d");
    jwk
}

fn residenza() -> Map<String, Value> {
    json!({
        "fiscal_code": "RSSGLI85M41F205X", "given_name": "Giulia", "family_name": "Rossi", "birth_date": "1985-08-01",
        "address": {"street_address": "Via Libertà 12", "locality": "Cinisello Balsamo", "postal_code": "20092", "province": "MI", "region": "Lombardia"},
        "resident_since": "2015-03-01"
    })
    .as_object()
    .unwrap()
    .clone()
}

fn durc() -> Value {
    json!({"vat_number": "12345678903", "company_name": "Asilo Girotondo srl", "regular": true,
           "issue_date": "2026-10-01", "valid_until": "2027-01-29", "protocol": "INPS_123456789"})
}

#[test]
fn sd_jwt_vc_peers_verify_ours_and_read_our_status_list() {
    let dir = TempDir::new("credentials-interop-ours");
    let credentials = open(&dir.0, Vec::new());
    let comune = credentials.issuer("comune-cinisello-balsamo").unwrap();
    let (holder_key, holder_jwk) = holder();
    let request = IssueRequest::new(
        "residenza",
        residenza(),
        Some(Holder::Jwk(public(&holder_jwk))),
    );
    let issued = credentials.issue_sd_jwt(comune, &[request]).unwrap();
    let compact = issued[0].credential.as_str().unwrap();
    let issuer_jwk = comune.p256.public().to_jwk();
    let status_list = credentials
        .token_status_list("comune-cinisello-balsamo", 0)
        .unwrap();

    // Our presentation of two claims, bound to a verifier's nonce and audience.
    let selected = sdjwt::select(
        compact,
        &comune.p256.public(),
        &["given_name", "address.locality"],
    )
    .unwrap();
    let presentation = sdjwt::bind(
        &selected,
        &holder_key,
        "https://bandi.example",
        "n-7",
        wallet::now_seconds(),
    );
    let verify = json!({"op": "verify", "credential": presentation, "issuerJwk": issuer_jwk,
                        "statusListJwt": status_list, "nonce": "n-7", "aud": "https://bandi.example"});
    let npm = node("sdjwt_peer.mjs", &verify).unwrap();
    assert_eq!(npm["payload"]["given_name"], "Giulia");
    assert_eq!(
        npm["payload"]["address"],
        json!({"locality": "Cinisello Balsamo"})
    );
    assert!(npm["payload"].get("fiscal_code").is_none());
    assert_eq!(npm["kb"]["nonce"], "n-7");
    let pypi = python(&verify).unwrap();
    assert_eq!(
        pypi["payload"]["address"],
        json!({"locality": "Cinisello Balsamo"})
    );
    // The whole credential, every disclosure (nested, array, with decoys), without binding.
    let whole = json!({"op": "verify", "credential": compact, "issuerJwk": issuer_jwk, "statusListJwt": status_list});
    assert_eq!(
        node("sdjwt_peer.mjs", &whole).unwrap()["payload"]["address"]["postal_code"],
        "20092"
    );
    assert_eq!(
        python(&whole).unwrap()["payload"]["resident_since"],
        "2015-03-01"
    );
    // They refuse a wrong nonce and a tampered disclosure, as we do.
    let wrong_nonce = json!({"op": "verify", "credential": presentation, "issuerJwk": issuer_jwk,
                             "statusListJwt": status_list, "nonce": "n-8", "aud": "https://bandi.example"});
    assert!(node("sdjwt_peer.mjs", &wrong_nonce).is_err());
    assert!(python(&wrong_nonce).is_err());
    let forged = sdjwt::issue(
        &comune.p256,
        "k",
        "dc+sd-jwt",
        Map::new(),
        json!({"given_name": "Mallory"})
            .as_object()
            .unwrap()
            .clone(),
        Default::default(),
    )
    .unwrap();
    let foreign = format!("{compact}{}~", forged.disclosures[0].encoded);
    let tampered = json!({"op": "verify", "credential": foreign, "issuerJwk": issuer_jwk, "statusListJwt": status_list});
    // RFC 9901 section 7.1 says to reject a disclosure the credential does not reference; we
    // do (`disclosure_not_referenced`). Both peers skip it silently instead: the forged claim
    // does not reach their output either.
    assert_eq!(
        node("sdjwt_peer.mjs", &tampered).unwrap()["payload"]["given_name"],
        "Giulia"
    );
    assert_eq!(
        python(&tampered).unwrap()["payload"]["given_name"],
        "Giulia"
    );
    assert_eq!(
        credentials
            .verify_sd_jwt(&foreign, &VerifyOptions::default())
            .unwrap_err()
            .code(),
        "disclosure_not_referenced"
    );

    // @sd-jwt/jwt-status-list reads our list; after revocation, the peer refuses the credential.
    let index = issued[0].status_index;
    let read = |jwt: &str| {
        node(
            "sdjwt_peer.mjs",
            &json!({"op": "status", "statusListJwt": jwt, "index": index}),
        )
        .unwrap()["status"]
            .clone()
    };
    assert_eq!(read(&status_list), json!(0));
    credentials
        .set_status(comune, &issued[0].id, Status::Suspended)
        .unwrap();
    let suspended = credentials
        .token_status_list("comune-cinisello-balsamo", 0)
        .unwrap();
    assert_eq!(read(&suspended), json!(2));
    let whole = json!({"op": "verify", "credential": compact, "issuerJwk": issuer_jwk, "statusListJwt": suspended});
    assert!(node("sdjwt_peer.mjs", &whole)
        .unwrap_err()
        .to_lowercase()
        .contains("status"));
}

#[test]
fn we_verify_sd_jwt_vcs_and_presentations_from_the_peers() {
    let (_, holder_jwk) = holder();
    for (name, run) in [
        ("npm", node as fn(&str, &Value) -> Result<Value, String>),
        ("pypi", |_: &str, r: &Value| python(r)),
    ] {
        let iss = format!("https://{name}-issuer.example");
        let claims = durc();
        let disclosable: Vec<&str> = [
            "company_name",
            "regular",
            "issue_date",
            "valid_until",
            "protocol",
        ]
        .to_vec();
        let issue = json!({"op": "issue", "iss": iss, "vct": "urn:sigillo:vct:durc:1", "claims": claims,
                           "disclosable": disclosable, "holderJwk": public(&holder_jwk)});
        let issued = run("sdjwt_peer.mjs", &issue).unwrap();
        let dir = TempDir::new("credentials-interop-theirs");
        let trusted = ExternalIssuer {
            id: iss.clone(),
            types: vec!["durc".into()],
            document: None,
            jwk: Some(issued["issuerJwk"].clone()),
        };
        let credentials = open(&dir.0, vec![trusted]);
        let credential = issued["credential"].as_str().unwrap();
        let verified = credentials
            .verify_sd_jwt(credential, &VerifyOptions::default())
            .unwrap();
        assert_eq!(verified.claims["regular"], json!(true), "{name}");
        assert_eq!(verified.claims["vat_number"], "12345678903", "{name}");

        // Their holder presents two claims to our verifier.
        let mut present = json!({"op": "present", "credential": credential, "issuerJwk": issued["issuerJwk"],
                                 "holderPrivateJwk": holder_jwk, "aud": "https://bandi.example", "nonce": "n-9"});
        if name == "npm" {
            present["frame"] = json!({"regular": true, "valid_until": true});
        } else {
            present["disclose"] = json!({"regular": true, "valid_until": true});
        }
        let presentation = run("sdjwt_peer.mjs", &present).unwrap()["presentation"]
            .as_str()
            .unwrap()
            .to_owned();
        let options = VerifyOptions {
            aud: Some("https://bandi.example".into()),
            nonce: Some("n-9".into()),
            now: None,
        };
        let shown = credentials.verify_sd_jwt(&presentation, &options).unwrap();
        assert_eq!(shown.claims["valid_until"], "2027-01-29", "{name}");
        assert!(shown.claims.get("protocol").is_none(), "{name}");
        assert!(shown.checks.contains(&"key_binding"), "{name}");
        let replay = VerifyOptions {
            nonce: Some("n-10".into()),
            ..options
        };
        assert_eq!(
            credentials
                .verify_sd_jwt(&presentation, &replay)
                .unwrap_err()
                .code(),
            "key_binding",
            "{name}"
        );
        // Trusted for DURC only.
        let other = json!({"op": "issue", "iss": iss, "vct": "urn:sigillo:vct:isee:1", "claims": {}, "disclosable": []});
        let other = run("sdjwt_peer.mjs", &other).unwrap();
        let error = credentials
            .verify_sd_jwt(
                other["credential"].as_str().unwrap(),
                &VerifyOptions::default(),
            )
            .unwrap_err();
        assert!(
            matches!(
                error.code(),
                "issuer_not_trusted_for_type" | "bad_signature"
            ),
            "{name}: {error}"
        );
    }
}

fn documents(credentials: &Credentials, issuer: &str) -> Map<String, Value> {
    let issuer = credentials.issuer(issuer).unwrap();
    let mut documents = Map::new();
    documents.insert(
        wallet::types::CONTEXT_URL.into(),
        serde_json::from_str(wallet::types::CONTEXT).unwrap(),
    );
    documents.insert(issuer.did.clone(), issuer.document());
    documents
}

#[tokio::test]
async fn digital_bazaar_verifies_our_vc2_and_status_lists_and_we_verify_theirs() {
    let dir = TempDir::new("credentials-interop-vc");
    let credentials = open(&dir.0, Vec::new());
    let inps = credentials.issuer("inps").unwrap();
    let (holder_key, _) = holder();
    let holder_did = wallet::did::did_key(&holder_key.public());
    let claims = json!({
        "fiscal_code": "RSSGLI85M41F205X", "isee_value": 18500.5, "isee_type": "minorenni",
        "dsu_protocol": "INPS-ISEE-2025-00000123456", "dsu_valid_from": "2025-01-15", "dsu_valid_until": "2025-12-31"
    });
    let request = IssueRequest::new(
        "isee",
        claims.as_object().unwrap().clone(),
        Some(Holder::DidKey(holder_did)),
    );
    let issued = credentials
        .issue_vc(inps, &[request], Suite::EddsaRdfc2022)
        .await
        .unwrap();
    let vc = issued[0].credential.clone();
    let mut documents = documents(&credentials, "inps");
    // The Bitstring Status Lists, read and verified by @digitalbazaar/vc-bitstring-status-list.
    let add_lists = |documents: &mut Map<String, Value>, lists: Vec<Value>| {
        for list in lists {
            documents.insert(list["id"].as_str().unwrap().to_owned(), list);
        }
    };
    let lists = vec![
        credentials
            .bitstring_status_list("inps", 0, Purpose::Revocation)
            .await
            .unwrap(),
        credentials
            .bitstring_status_list("inps", 0, Purpose::Suspension)
            .await
            .unwrap(),
    ];
    add_lists(&mut documents, lists);
    node(
        "vc_peer.mjs",
        &json!({"op": "verify", "credential": vc, "documents": documents}),
    )
    .unwrap();
    let mut tampered = vc.clone();
    tampered["credentialSubject"]["isee_value"] = json!(1000);
    assert!(node(
        "vc_peer.mjs",
        &json!({"op": "verify", "credential": tampered, "documents": documents})
    )
    .is_err());
    let status = node(
        "vc_peer.mjs",
        &json!({"op": "status", "credential": vc, "documents": documents}),
    )
    .unwrap();
    assert_eq!(status["verified"], json!(true), "{status}");
    assert_eq!(
        status["status"],
        json!([{"purpose": "revocation", "status": false}, {"purpose": "suspension", "status": false}])
    );
    credentials
        .set_status(inps, &issued[0].id, Status::Invalid)
        .unwrap();
    let lists = vec![credentials
        .bitstring_status_list("inps", 0, Purpose::Revocation)
        .await
        .unwrap()];
    add_lists(&mut documents, lists);
    let status = node(
        "vc_peer.mjs",
        &json!({"op": "status", "credential": vc, "documents": documents}),
    )
    .unwrap();
    assert_eq!(
        status["status"][0],
        json!({"purpose": "revocation", "status": true})
    );

    // Theirs: a did:key issuer signs an ISEE credential with our pinned context.
    let unsigned = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", wallet::types::CONTEXT_URL],
        "type": ["VerifiableCredential", "IseeCredential"],
        "validFrom": "2026-01-01T00:00:00Z",
        "validUntil": "2036-01-01T00:00:00Z",
        "credentialSubject": claims,
    });
    let theirs = node(
        "vc_peer.mjs",
        &json!({"op": "issue", "credential": unsigned, "documents": documents}),
    )
    .unwrap();
    let did = theirs["did"].as_str().unwrap().to_owned();
    let dir = TempDir::new("credentials-interop-vc-theirs");
    let trusting = open(
        &dir.0,
        vec![ExternalIssuer {
            id: did,
            types: vec!["isee".into()],
            document: None,
            jwk: None,
        }],
    );
    let verified = trusting
        .verify_vc(&theirs["credential"], &VerifyOptions::default())
        .await
        .unwrap();
    assert_eq!(verified.credential_type, "IseeCredential");
    let mut tampered = theirs["credential"].clone();
    tampered["credentialSubject"]["isee_type"] = json!("ordinario");
    assert!(trusting
        .verify_vc(&tampered, &VerifyOptions::default())
        .await
        .is_err());
    // Untrusted without the trust entry.
    assert_eq!(
        credentials
            .verify_vc(&theirs["credential"], &VerifyOptions::default())
            .await
            .unwrap_err()
            .code(),
        "untrusted_issuer"
    );
}

/// A presentation made by a holder wallet for a call (DCQL matching, selective disclosure,
/// KB-JWT for the call's `client_id` and nonce) verifies with both SD-JWT VC peers, which see
/// exactly the claims the call asked for.
#[test]
fn sd_jwt_vc_peers_verify_a_presentation_our_wallet_made_for_a_call() {
    use wallet::holder::{HolderWallet, OwnerKind};
    use wallet::holder_client::{plan, response_body, PresentationRequest};

    let dir = TempDir::new("credentials-interop-wallet");
    let credentials = open(&dir.0, Vec::new());
    let comune = credentials.issuer("comune-cinisello-balsamo").unwrap();
    let mut holder = HolderWallet::create(
        &dir.0.join("giulia.wallet"),
        "Giulia",
        OwnerKind::Citizen,
        "interop passphrase",
    )
    .unwrap();
    let holder_jwk = holder
        .holder_key(wallet::jose::Algorithm::Es256)
        .public()
        .to_jwk();
    let request = IssueRequest::new("residenza", residenza(), Some(Holder::Jwk(holder_jwk)));
    let issued = credentials.issue_sd_jwt(comune, &[request]).unwrap();
    let issuer_jwk = comune.p256.public().to_jwk();
    holder.add_credential(
        "dc+sd-jwt",
        "residenza",
        &comune.did,
        issued[0].credential.as_str().unwrap().to_owned(),
        None,
        Some(issuer_jwk.clone()),
    );
    let client_id = "redirect_uri:https://bandi.example/v1/calls/nidi/response";
    let request = PresentationRequest {
        client_id: client_id.into(),
        response_uri: "https://bandi.example/v1/calls/nidi/response".into(),
        nonce: "n-42".into(),
        state: "s-1".into(),
        dcql_query: json!({"credentials": [{"id": "residenza", "format": "dc+sd-jwt",
            "meta": {"vct_values": ["urn:sigillo:vct:residenza:1"]},
            "claims": [{"path": ["address", "region"]}, {"path": ["resident_since"]}]}]}),
    };
    let planned = plan(&holder, &request).unwrap();
    let body = response_body(&holder, &request, &planned).unwrap();
    let vp_token: Value = serde_json::from_str(
        &form_urlencoded::parse(body.as_bytes())
            .find(|(key, _)| key == "vp_token")
            .unwrap()
            .1,
    )
    .unwrap();
    let presentation = vp_token["residenza"][0].as_str().unwrap();
    let status_list = credentials
        .token_status_list("comune-cinisello-balsamo", 0)
        .unwrap();
    let verify = json!({"op": "verify", "credential": presentation, "issuerJwk": issuer_jwk,
                        "statusListJwt": status_list, "nonce": "n-42", "aud": client_id});
    for answer in [
        node("sdjwt_peer.mjs", &verify).unwrap(),
        python(&verify).unwrap(),
    ] {
        assert_eq!(answer["payload"]["address"], json!({"region": "Lombardia"}));
        assert_eq!(answer["payload"]["resident_since"], "2015-03-01");
        for hidden in ["fiscal_code", "given_name", "family_name", "birth_date"] {
            assert!(answer["payload"].get(hidden).is_none(), "{hidden} left");
        }
    }
    let elsewhere = json!({"op": "verify", "credential": presentation, "issuerJwk": issuer_jwk,
                           "statusListJwt": status_list, "nonce": "n-42", "aud": "redirect_uri:https://other.example/response"});
    assert!(node("sdjwt_peer.mjs", &elsewhere).is_err());
    assert!(python(&elsewhere).is_err());
}
