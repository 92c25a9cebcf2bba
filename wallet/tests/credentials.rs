//! The credentials service end to end in one process: issue, verify, present, change status,
//! and every refusal a verifier or issuer owes.

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use serde_json::{json, Map, Value};
use wallet::issuers::{default_issuers, ExternalIssuer};
use wallet::jose::{Algorithm, SigningKey};
use wallet::service::{Holder, IssueRequest, VerifyOptions};
use wallet::status::Status;
use wallet::vc::Suite;
use wallet::{sdjwt, Credentials, CredentialsConfig, Error};

fn open(dir: &std::path::Path) -> Credentials {
    Credentials::open(CredentialsConfig {
        access: None,
        data_dir: dir.to_path_buf(),
        public_url: "http://127.0.0.1:9".into(),
        did_host: "127.0.0.1:9".into(),
        issuers: default_issuers(),
        external: Vec::new(),
    })
    .unwrap()
}

fn temp() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sigillo-wallet-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn residenza() -> Map<String, Value> {
    json!({
        "fiscal_code": "RSSGLI85M41F205X",
        "given_name": "Giulia",
        "family_name": "Rossi",
        "birth_date": "1985-08-01",
        "address": {"street_address": "Via Libertà 12", "locality": "Cinisello Balsamo", "postal_code": "20092", "province": "MI", "region": "Lombardia"},
        "resident_since": "2015-03-01",
        "household": [{"fiscal_code": "RSSLCU23A01F205Q", "relation": "figlio", "birth_date": "2023-01-01"}]
    })
    .as_object()
    .unwrap()
    .clone()
}

/// Signs an SD-JWT with any key, kid and typ, every claim of `claims` disclosable.
fn forge(
    key: &SigningKey,
    kid: &str,
    typ: &str,
    clear: Value,
    claims: Map<String, Value>,
) -> String {
    let clear = clear.as_object().unwrap().clone();
    sdjwt::issue(key, kid, typ, clear, claims, Default::default())
        .unwrap()
        .compact
}

fn holder() -> (SigningKey, Holder) {
    let (key, _) = SigningKey::generate_p256();
    let did = wallet::did::did_key(&key.public());
    (key, Holder::DidKey(did))
}

#[test]
fn sd_jwt_vc_issue_verify_present_and_revoke() {
    let dir = temp();
    let credentials = open(&dir);
    let comune = credentials.issuer("comune-cinisello-balsamo").unwrap();
    let (holder_key, holder) = holder();
    let issued = credentials
        .issue_sd_jwt(
            comune,
            &[IssueRequest::new("residenza", residenza(), Some(holder))],
        )
        .unwrap();
    let compact = issued[0].credential.as_str().unwrap();
    let verified = credentials
        .verify_sd_jwt(compact, &VerifyOptions::default())
        .unwrap();
    assert_eq!(verified.claims["address"]["locality"], "Cinisello Balsamo");
    assert_eq!(verified.claims["household"][0]["relation"], "figlio");
    for check in [
        "signature",
        "disclosures",
        "issuer",
        "validity",
        "status",
        "schema",
    ] {
        assert!(
            verified.checks.contains(&check),
            "{check} in {:?}",
            verified.checks
        );
    }

    // The holder shows only the locality, bound to the verifier's nonce and audience.
    let p256 = comune.p256.public();
    let selected = sdjwt::select(compact, &p256, &["address.locality"]).unwrap();
    let now = wallet::now_seconds();
    let presentation = sdjwt::bind(
        &selected,
        &holder_key,
        "https://bando.example",
        "nonce-1",
        now,
    );
    let options = VerifyOptions {
        aud: Some("https://bando.example".into()),
        nonce: Some("nonce-1".into()),
        now: None,
    };
    let shown = credentials.verify_sd_jwt(&presentation, &options).unwrap();
    assert_eq!(
        shown.claims["address"],
        json!({"locality": "Cinisello Balsamo"})
    );
    assert!(shown.claims.get("given_name").is_none());
    assert!(shown.checks.contains(&"key_binding"));
    // Another call (audience), a replayed nonce, a stale iat, a presentation without options.
    let other = VerifyOptions {
        aud: Some("https://altro-bando.example".into()),
        ..options.clone()
    };
    assert!(matches!(
        credentials.verify_sd_jwt(&presentation, &other),
        Err(Error::Binding { .. })
    ));
    let replay = VerifyOptions {
        nonce: Some("nonce-2".into()),
        ..options.clone()
    };
    assert!(matches!(
        credentials.verify_sd_jwt(&presentation, &replay),
        Err(Error::Binding { .. })
    ));
    let stale = sdjwt::bind(
        &selected,
        &holder_key,
        "https://bando.example",
        "nonce-1",
        now - 3600,
    );
    assert!(matches!(
        credentials.verify_sd_jwt(&stale, &options),
        Err(Error::Binding { .. })
    ));
    assert!(matches!(
        credentials.verify_sd_jwt(&presentation, &VerifyOptions::default()),
        Err(Error::Binding { .. })
    ));
    // A thief without the holder key.
    let (thief, _) = SigningKey::generate_p256();
    let stolen = sdjwt::bind(&selected, &thief, "https://bando.example", "nonce-1", now);
    assert!(matches!(
        credentials.verify_sd_jwt(&stolen, &options),
        Err(Error::Binding { .. })
    ));

    // Suspend, reinstate, revoke (final).
    let id = &issued[0].id;
    assert_eq!(
        credentials
            .set_status(comune, id, Status::Suspended)
            .unwrap(),
        Status::Valid
    );
    assert!(matches!(
        credentials.verify_sd_jwt(compact, &VerifyOptions::default()),
        Err(Error::Suspended)
    ));
    credentials.set_status(comune, id, Status::Valid).unwrap();
    credentials
        .verify_sd_jwt(compact, &VerifyOptions::default())
        .unwrap();
    credentials.set_status(comune, id, Status::Invalid).unwrap();
    assert!(matches!(
        credentials.verify_sd_jwt(compact, &VerifyOptions::default()),
        Err(Error::Revoked)
    ));
    assert!(matches!(
        credentials.set_status(comune, id, Status::Valid),
        Err(Error::StatusChange { .. })
    ));
    // Another municipality cannot touch it.
    let milano = credentials.issuer("comune-milano").unwrap();
    assert!(matches!(
        credentials.set_status(milano, id, Status::Valid),
        Err(Error::NotFound { .. })
    ));

    // EdDSA on request, with the issuer's Ed25519 key.
    let eddsa = IssueRequest {
        algorithm: Algorithm::EdDsa,
        ..IssueRequest::new("residenza", residenza(), None)
    };
    let issued_eddsa = credentials.issue_sd_jwt(comune, &[eddsa]).unwrap();
    let compact_eddsa = issued_eddsa[0].credential.as_str().unwrap();
    assert_eq!(
        sdjwt::parse(compact_eddsa).unwrap().jwt.alg,
        Algorithm::EdDsa
    );
    credentials
        .verify_sd_jwt(compact_eddsa, &VerifyOptions::default())
        .unwrap();

    // The status survives a restart, and the published list says the same.
    drop(credentials);
    let reopened = open(&dir);
    assert!(matches!(
        reopened.verify_sd_jwt(compact, &VerifyOptions::default()),
        Err(Error::Revoked)
    ));
    let list = reopened
        .token_status_list("comune-cinisello-balsamo", 0)
        .unwrap();
    let jws = wallet::jose::Jws::parse(&list).unwrap();
    jws.verify(&p256).unwrap();
    assert_eq!(jws.typ(), Some("statuslist+jwt"));
    let lst = jws.payload["status_list"]["lst"].as_str().unwrap();
    assert_eq!(
        wallet::status::read_token_status(lst, 2, issued[0].status_index).unwrap(),
        1
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn issuance_refuses_what_does_not_fit_and_changes_nothing() {
    let dir = temp();
    let credentials = open(&dir);
    let comune = credentials.issuer("comune-milano").unwrap();
    let inps = credentials.issuer("inps").unwrap();
    let mut bad = residenza();
    bad.insert("fiscal_code".into(), json!("not a codice fiscale"));
    let refusals = [
        (comune, IssueRequest::new("residenza", bad, None), "schema"),
        (
            comune,
            IssueRequest::new("isee", residenza(), None),
            "forbidden",
        ),
        (
            inps,
            IssueRequest::new("residenza", residenza(), None),
            "forbidden",
        ),
        (
            comune,
            IssueRequest::new("passaporto", residenza(), None),
            "unknown_type",
        ),
        (
            comune,
            IssueRequest::new(
                "residenza",
                residenza(),
                Some(Holder::DidKey("did:key:zNotAKey".into())),
            ),
            "malformed",
        ),
        (
            comune,
            IssueRequest {
                valid_until: Some(wallet::now_seconds() + 400 * 86_400),
                ..IssueRequest::new("residenza", residenza(), None)
            },
            "bad_claims",
        ),
    ];
    for (issuer, request, code) in refusals {
        let error = credentials
            .issue_sd_jwt(
                issuer,
                &[IssueRequest::new("residenza", residenza(), None), request],
            )
            .unwrap_err();
        assert_eq!(error.code(), code, "{error}");
    }
    // Nothing was allocated: the first list is still empty and unpublished changes are none.
    let lst = wallet::jose::Jws::parse(&credentials.token_status_list("comune-milano", 0).unwrap())
        .unwrap()
        .payload["status_list"]["lst"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(lst, wallet::status::List::default().token_status_lst());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn sd_jwt_verifier_refusals() {
    let dir = temp();
    let credentials = open(&dir);
    let comune = credentials.issuer("comune-milano").unwrap();
    let issued = credentials
        .issue_sd_jwt(comune, &[IssueRequest::new("residenza", residenza(), None)])
        .unwrap();
    let compact = issued[0].credential.as_str().unwrap().to_owned();
    let options = VerifyOptions::default();
    let code = |sd_jwt: &str, options: &VerifyOptions| {
        credentials
            .verify_sd_jwt(sd_jwt, options)
            .unwrap_err()
            .code()
    };

    // Expired and not yet valid.
    let later = VerifyOptions {
        now: Some(wallet::now_seconds() + 400 * 86_400),
        ..options.clone()
    };
    assert_eq!(code(&compact, &later), "expired");
    let earlier = VerifyOptions {
        now: Some(wallet::now_seconds() - 86_400),
        ..options.clone()
    };
    assert_eq!(code(&compact, &earlier), "not_yet_valid");
    // Tampered signature.
    let (jwt, rest) = compact.split_once('~').unwrap();
    let mut signature: Vec<char> = jwt.chars().collect();
    let last = signature.len() - 5;
    signature[last] = if signature[last] == 'A' { 'B' } else { 'A' };
    let tampered: String = signature.into_iter().collect();
    assert_eq!(
        code(&format!("{tampered}~{rest}"), &options),
        "bad_signature"
    );
    // A duplicated disclosure, a foreign one.
    let first = rest.split('~').next().unwrap();
    assert_eq!(
        code(&format!("{compact}{first}~"), &options),
        "disclosure_duplicated"
    );
    let foreign = "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0";
    assert_eq!(
        code(&format!("{compact}{foreign}~"), &options),
        "disclosure_not_referenced"
    );
    // alg none, HMAC with the public key as secret.
    let payload = jwt.split('.').nth(1).unwrap();
    let none = format!(
        "{}.{payload}.~",
        wallet::jose::b64(br#"{"alg":"none","typ":"dc+sd-jwt"}"#)
    );
    assert_eq!(code(&none, &options), "algorithm_refused");
    let hs = format!(
        "{}.{payload}.c2ln~",
        wallet::jose::b64(br#"{"alg":"HS256","typ":"dc+sd-jwt"}"#)
    );
    assert_eq!(code(&hs, &options), "algorithm_refused");
    // Untrusted issuer: the same credential signed by someone else's key with the same iss.
    let (stranger, _) = SigningKey::generate_p256();
    let forged = forge(
        &stranger,
        &comune.p256_method(),
        "dc+sd-jwt",
        json!({"iss": comune.did, "vct": "urn:sigillo:vct:residenza:1"}),
        residenza(),
    );
    assert_eq!(code(&forged, &options), "bad_signature");
    let unknown = forge(
        &stranger,
        "did:web:evil#k",
        "dc+sd-jwt",
        json!({"iss": "did:web:evil", "vct": "urn:sigillo:vct:residenza:1"}),
        residenza(),
    );
    assert_eq!(code(&unknown, &options), "untrusted_issuer");
    // An issuer trusted for residency, claiming an ISEE.
    let isee = forge(
        &comune.p256,
        &comune.p256_method(),
        "dc+sd-jwt",
        json!({"iss": comune.did, "vct": "urn:sigillo:vct:isee:1"}),
        Map::new(),
    );
    assert_eq!(code(&isee, &options), "issuer_not_trusted_for_type");
    // Oversized and deeply nested input.
    assert_eq!(
        code(&format!("{}~", "a".repeat(70_000)), &options),
        "too_large"
    );
    let deep = format!("{}1{}", "[".repeat(40), "]".repeat(40));
    let deep_disclosure = wallet::jose::b64(format!("[\"salt\",\"x\",{deep}]"));
    assert_eq!(
        code(&format!("{compact}{deep_disclosure}~"), &options),
        "too_deep"
    );
    // A typ that is not an SD-JWT VC.
    let jwt_typ = forge(
        &comune.p256,
        &comune.p256_method(),
        "JWT",
        json!({"iss": comune.did, "vct": "urn:sigillo:vct:residenza:1"}),
        residenza(),
    );
    assert_eq!(code(&jwt_typ, &options), "malformed");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn vc2_rdfc_and_jcs_issue_verify_status_and_refusals() {
    let dir = temp();
    let credentials = open(&dir);
    let inps = credentials.issuer("inps").unwrap();
    let claims = json!({
        "fiscal_code": "RSSGLI85M41F205X", "isee_value": 18500.5, "isee_type": "minorenni",
        "dsu_protocol": "INPS-ISEE-2025-00000123456", "dsu_valid_from": "2025-01-15", "dsu_valid_until": "2025-12-31"
    });
    let (_, holder) = holder();
    for suite in [Suite::EddsaRdfc2022, Suite::EddsaJcs2022] {
        let request = IssueRequest::new(
            "isee",
            claims.as_object().unwrap().clone(),
            Some(holder.clone()),
        );
        let issued = credentials.issue_vc(inps, &[request], suite).await.unwrap();
        let vc = &issued[0].credential;
        assert_eq!(vc["proof"]["cryptosuite"], suite.name());
        let verified = credentials
            .verify_vc(vc, &VerifyOptions::default())
            .await
            .unwrap();
        assert_eq!(verified.credential_type, "IseeCredential");
        assert!(verified.checks.contains(&"schema"));
        // Tamper with a claim.
        let mut tampered = vc.clone();
        tampered["credentialSubject"]["isee_value"] = json!(5000);
        let error = credentials
            .verify_vc(&tampered, &VerifyOptions::default())
            .await
            .unwrap_err();
        assert!(
            matches!(error, Error::BadSignature | Error::Proof { .. }),
            "{suite:?}: {error}"
        );
        // Expired.
        let later = VerifyOptions {
            now: Some(wallet::now_seconds() + 400 * 86_400),
            ..Default::default()
        };
        assert_eq!(
            credentials.verify_vc(vc, &later).await.unwrap_err().code(),
            "expired"
        );
        // Revoked.
        credentials
            .set_status(inps, &issued[0].id, Status::Invalid)
            .unwrap();
        assert_eq!(
            credentials
                .verify_vc(vc, &VerifyOptions::default())
                .await
                .unwrap_err()
                .code(),
            "revoked"
        );
    }
    // A proof by another key under INPS's method id.
    let request = IssueRequest::new("isee", claims.as_object().unwrap().clone(), None);
    let issued = credentials
        .issue_vc(inps, &[request], Suite::EddsaJcs2022)
        .await
        .unwrap();
    let mut other = issued[0].credential.clone();
    other["proof"]["verificationMethod"] = json!("did:web:evil#ed25519");
    assert!(credentials
        .verify_vc(&other, &VerifyOptions::default())
        .await
        .is_err());
    let mut no_proof = issued[0].credential.clone();
    no_proof.as_object_mut().unwrap().remove("proof");
    assert_eq!(
        credentials
            .verify_vc(&no_proof, &VerifyOptions::default())
            .await
            .unwrap_err()
            .code(),
        "bad_proof"
    );
    // The Bitstring Status List credential is itself a verifiable credential of INPS.
    let list = credentials
        .bitstring_status_list("inps", 0, wallet::status::Purpose::Revocation)
        .await
        .unwrap();
    assert_eq!(list["credentialSubject"]["statusPurpose"], "revocation");
    assert!(list["credentialSubject"]["encodedList"]
        .as_str()
        .unwrap()
        .starts_with('u'));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn external_issuers_are_trusted_by_did_key_and_only_for_their_types() {
    let dir = temp();
    let (peer, _) = SigningKey::generate_p256();
    let did = wallet::did::did_key(&peer.public());
    let credentials = Credentials::open(CredentialsConfig {
        access: None,
        data_dir: dir.clone(),
        public_url: "http://127.0.0.1:9".into(),
        did_host: "127.0.0.1:9".into(),
        issuers: default_issuers(),
        external: vec![ExternalIssuer {
            id: did.clone(),
            types: vec!["durc".into()],
            document: None,
            jwk: None,
        }],
    })
    .unwrap();
    let kid = format!("{did}#{}", did.trim_start_matches("did:key:"));
    let clear = |vct: &str| {
        json!({"iss": did, "vct": vct, "exp": wallet::now_seconds() + 60})
            .as_object()
            .unwrap()
            .clone()
    };
    let durc = json!({"vat_number": "12345678903", "regular": true})
        .as_object()
        .unwrap()
        .clone();
    let good = sdjwt::issue(
        &peer,
        &kid,
        "dc+sd-jwt",
        clear("urn:sigillo:vct:durc:1"),
        durc.clone(),
        Default::default(),
    )
    .unwrap();
    credentials
        .verify_sd_jwt(&good.compact, &VerifyOptions::default())
        .unwrap();
    let wrong = sdjwt::issue(
        &peer,
        &kid,
        "dc+sd-jwt",
        clear("urn:sigillo:vct:isee:1"),
        Map::new(),
        Default::default(),
    )
    .unwrap();
    assert_eq!(
        credentials
            .verify_sd_jwt(&wrong.compact, &VerifyOptions::default())
            .unwrap_err()
            .code(),
        "issuer_not_trusted_for_type"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
