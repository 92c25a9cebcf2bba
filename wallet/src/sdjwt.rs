//! SD-JWT (RFC 9901) and its key binding: issuing with salted disclosures, decoy digests, and
//! nested and array disclosures; presenting a chosen subset with a key-binding JWT; and
//! verifying every digest, every disclosure and the binding.
//!
//! This module is the format. What a credential must also satisfy (the issuer is trusted for
//! its `vct`, its validity period, its status, its schema) is checked in [`crate::verify`].

use rand::RngCore as _;
use serde_json::{json, Map, Value};
use sha2::{Digest as _, Sha256};

use crate::jose::{b64, unb64, Jws, PublicKey, SigningKey};
use crate::Error;

/// The only digest algorithm used and accepted.
pub const SD_ALG: &str = "sha-256";
/// The claim name marking an array element's digest.
const ARRAY_DIGEST_KEY: &str = "...";
/// Claims that stay in the clear in an SD-JWT VC (SD-JWT VC section 3.2.2).
pub const NEVER_DISCLOSABLE: [&str; 8] = [
    "iss",
    "nbf",
    "exp",
    "cnf",
    "vct",
    "vct#integrity",
    "status",
    "iat",
];
/// The most disclosures one SD-JWT may carry.
pub const DISCLOSURES_MAX: usize = 256;
/// Salt length, in bytes (128 bits, as RFC 9901 recommends).
pub const SALT_BYTES: usize = 16;
/// At most this many decoy digests are added to each `_sd` array (at least one).
pub const DECOYS_PER_OBJECT_MAX: u32 = 3;

/// The base64url SHA-256 digest of a disclosure (or of any string).
pub fn digest(text: &str) -> String {
    b64(Sha256::digest(text.as_bytes()))
}

/// One disclosure: `[salt, name, value]` for an object property, `[salt, value]` for an array
/// element.
#[derive(Clone, Debug, PartialEq)]
pub struct Disclosure {
    /// The base64url encoding, exactly as issued (digests are over this text).
    pub encoded: String,
    /// The property name, or `None` for an array element.
    pub name: Option<String>,
    /// The disclosed value (which may itself hold digests of nested disclosures).
    pub value: Value,
}

impl Disclosure {
    fn new(name: Option<&str>, value: Value) -> Self {
        let mut salt = [0u8; SALT_BYTES];
        rand::thread_rng().fill_bytes(&mut salt);
        let array = match name {
            Some(name) => json!([b64(salt), name, value]),
            None => json!([b64(salt), value]),
        };
        let encoded = b64(serde_json::to_vec(&array).expect("a JSON array serialises"));
        Disclosure {
            encoded,
            name: name.map(str::to_owned),
            value,
        }
    }

    /// Decodes a disclosure, checking its shape.
    pub fn parse(encoded: &str) -> Result<Self, Error> {
        let bad = |reason: &str| Error::Malformed {
            what: "disclosure",
            reason: reason.into(),
        };
        let bytes = unb64(encoded, "disclosure")?;
        let array: Vec<Value> = crate::limits::parse_json(&bytes, "disclosure")?;
        let mut items = array.into_iter();
        let (name, value) = match (items.next(), items.next(), items.next(), items.next()) {
            (Some(Value::String(_)), Some(value), None, None) => (None, value),
            (Some(Value::String(_)), Some(Value::String(name)), Some(value), None) => {
                (Some(name), value)
            }
            _ => return Err(bad(
                "a disclosure is [salt, value] or [salt, name, value] with string salt and name",
            )),
        };
        if matches!(name.as_deref(), Some("_sd") | Some(ARRAY_DIGEST_KEY)) {
            return Err(bad("the names _sd and ... cannot be disclosed"));
        }
        Ok(Disclosure {
            encoded: encoded.to_owned(),
            name,
            value,
        })
    }

    /// This disclosure's digest.
    pub fn digest(&self) -> String {
        digest(&self.encoded)
    }
}

/// How claims are made selectively disclosable at issuance.
#[derive(Clone, Copy, Debug)]
pub struct DisclosurePolicy {
    /// Add 1 to [`DECOYS_PER_OBJECT_MAX`] decoy digests to every `_sd` array.
    pub decoys: bool,
    /// Make the members of nested objects and the elements of arrays disclosable one by one,
    /// besides the claim that holds them.
    pub recursive: bool,
}

impl Default for DisclosurePolicy {
    fn default() -> Self {
        DisclosurePolicy {
            decoys: true,
            recursive: true,
        }
    }
}

/// An issued SD-JWT: the compact form (ending in `~`) and its disclosures.
#[derive(Clone, Debug)]
pub struct Issued {
    /// `<issuer-signed JWT>~<disclosure>~…~`.
    pub compact: String,
    /// The disclosures, in the order they appear.
    pub disclosures: Vec<Disclosure>,
}

/// Issues an SD-JWT: `clear` claims stay in the clear (they must include `_sd_alg`-free
/// registered claims such as `iss`, `vct`, `cnf`), and every member of `disclosable` becomes a
/// disclosure, recursively per `policy`. The header gets `typ` and `kid`.
pub fn issue(
    key: &SigningKey,
    kid: &str,
    typ: &str,
    clear: Map<String, Value>,
    disclosable: Map<String, Value>,
    policy: DisclosurePolicy,
) -> Result<Issued, Error> {
    if let Some(name) = disclosable
        .keys()
        .find(|name| NEVER_DISCLOSABLE.contains(&name.as_str()) || name.as_str() == "_sd_alg")
    {
        return Err(Error::Claims {
            reason: format!("{name} is never selectively disclosable"),
        });
    }
    if let Some(name) = disclosable.keys().find(|name| clear.contains_key(*name)) {
        return Err(Error::Claims {
            reason: format!("{name} is given both in the clear and as disclosable"),
        });
    }
    let mut disclosures = Vec::with_capacity(disclosable.len() * 2);
    let mut payload = clear;
    let digests = conceal_members(disclosable, policy, &mut disclosures);
    if disclosures.len() > DISCLOSURES_MAX {
        return Err(Error::TooLarge {
            what: "disclosures",
            limit: DISCLOSURES_MAX,
        });
    }
    payload.insert("_sd".into(), Value::Array(with_decoys(digests, policy)));
    payload.insert("_sd_alg".into(), SD_ALG.into());
    let mut header = Map::new();
    header.insert("typ".into(), typ.into());
    let jwt = key.sign_jws(header, Some(kid), &Value::Object(payload));
    let mut compact = String::with_capacity(
        jwt.len()
            + disclosures
                .iter()
                .map(|d| d.encoded.len() + 1)
                .sum::<usize>()
            + 1,
    );
    compact.push_str(&jwt);
    compact.push('~');
    for disclosure in &disclosures {
        compact.push_str(&disclosure.encoded);
        compact.push('~');
    }
    Ok(Issued {
        compact,
        disclosures,
    })
}

/// Turns every member of `members` into a disclosure and returns their digests.
fn conceal_members(
    members: Map<String, Value>,
    policy: DisclosurePolicy,
    out: &mut Vec<Disclosure>,
) -> Vec<Value> {
    members
        .into_iter()
        .map(|(name, value)| {
            let value = if policy.recursive {
                conceal_inside(value, policy, out)
            } else {
                value
            };
            let disclosure = Disclosure::new(Some(&name), value);
            let digest = disclosure.digest();
            out.push(disclosure);
            Value::String(digest)
        })
        .collect()
}

/// Makes the members of an object, or the elements of an array, disclosable one by one.
fn conceal_inside(value: Value, policy: DisclosurePolicy, out: &mut Vec<Disclosure>) -> Value {
    match value {
        Value::Object(members) if !members.is_empty() => {
            let digests = conceal_members(members, policy, out);
            json!({"_sd": with_decoys(digests, policy)})
        }
        Value::Array(items) if !items.is_empty() => Value::Array(
            items
                .into_iter()
                .map(|item| {
                    let item = conceal_inside(item, policy, out);
                    let disclosure = Disclosure::new(None, item);
                    let digest = disclosure.digest();
                    out.push(disclosure);
                    json!({ ARRAY_DIGEST_KEY: digest })
                })
                .collect(),
        ),
        other => other,
    }
}

/// Adds decoy digests (digests of random bytes, indistinguishable from real ones) and sorts, so
/// that neither the number nor the order of real claims shows.
fn with_decoys(mut digests: Vec<Value>, policy: DisclosurePolicy) -> Vec<Value> {
    if policy.decoys {
        let mut rng = rand::thread_rng();
        let count = 1 + rng.next_u32() % DECOYS_PER_OBJECT_MAX;
        for _ in 0..count {
            let mut noise = [0u8; 32];
            rng.fill_bytes(&mut noise);
            digests.push(Value::String(b64(Sha256::digest(noise))));
        }
    }
    digests.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    digests
}

/// An SD-JWT split into its parts; nothing verified yet.
#[derive(Debug)]
pub struct Parsed<'a> {
    /// The issuer-signed JWT.
    pub jwt: Jws<'a>,
    /// The disclosures, as presented.
    pub disclosures: Vec<Disclosure>,
    /// The key-binding JWT, if the presentation has one.
    pub kb_jwt: Option<Jws<'a>>,
    /// The presentation up to and including the last `~` (what `sd_hash` covers).
    pub hashed_part: &'a str,
}

/// Splits `compact` (`jwt~d1~…~dn~[kb-jwt]`) and decodes each part.
pub fn parse(compact: &str) -> Result<Parsed<'_>, Error> {
    if compact.len() > crate::limits::CREDENTIAL_BYTES_MAX {
        return Err(Error::TooLarge {
            what: "sd-jwt",
            limit: crate::limits::CREDENTIAL_BYTES_MAX,
        });
    }
    let last_tilde = compact.rfind('~').ok_or(Error::Malformed {
        what: "sd-jwt",
        reason: "an SD-JWT has at least one ~".into(),
    })?;
    let hashed_part = &compact[..=last_tilde];
    let kb = &compact[last_tilde + 1..];
    let mut parts = hashed_part[..last_tilde].split('~');
    let jwt = Jws::parse(parts.next().unwrap_or_default())?;
    let mut disclosures = Vec::new();
    for part in parts {
        if disclosures.len() == DISCLOSURES_MAX {
            return Err(Error::TooLarge {
                what: "disclosures",
                limit: DISCLOSURES_MAX,
            });
        }
        if part.is_empty() {
            return Err(Error::Malformed {
                what: "sd-jwt",
                reason: "empty disclosure between two ~".into(),
            });
        }
        disclosures.push(Disclosure::parse(part)?);
    }
    let kb_jwt = if kb.is_empty() {
        None
    } else {
        Some(Jws::parse(kb)?)
    };
    Ok(Parsed {
        jwt,
        disclosures,
        kb_jwt,
        hashed_part,
    })
}

/// What a verified SD-JWT shows.
#[derive(Clone, Debug)]
pub struct Revealed {
    /// The issuer JWT's header.
    pub header: Map<String, Value>,
    /// The payload with every presented disclosure put back and the `_sd`, `_sd_alg` and
    /// undisclosed `...` entries removed.
    pub claims: Map<String, Value>,
    /// The paths of the disclosed claims (`address.locality`, `nationalities.0`).
    pub disclosed: Vec<String>,
}

/// Checks the issuer's signature with `issuer_key` and rebuilds the claims from the
/// disclosures: each disclosure's digest must appear exactly once in the payload or in another
/// disclosure, no digest may be used twice, and a disclosed name may not replace a clear claim.
pub fn reveal(parsed: &Parsed<'_>, issuer_key: &PublicKey) -> Result<Revealed, Error> {
    let (claims, disclosed) = reveal_sources(parsed, issuer_key)?;
    Ok(Revealed {
        header: parsed.jwt.header.clone(),
        claims,
        disclosed: disclosed.into_iter().map(|(path, _)| path).collect(),
    })
}

/// Each disclosed claim's path, with the disclosure that carried it.
type Sources<'a> = Vec<(String, &'a Disclosure)>;

/// [`reveal`]'s work: the claims, and each disclosed claim's path with the disclosure that
/// carried it.
fn reveal_sources<'a>(
    parsed: &'a Parsed<'_>,
    issuer_key: &PublicKey,
) -> Result<(Map<String, Value>, Sources<'a>), Error> {
    parsed.jwt.verify(issuer_key)?;
    match parsed.jwt.payload.get("_sd_alg").and_then(Value::as_str) {
        Some(SD_ALG) => {}
        Some(other) => {
            return Err(Error::Malformed {
                what: "_sd_alg",
                reason: format!("{other} is not {SD_ALG}"),
            })
        }
        None => {
            return Err(Error::Malformed {
                what: "_sd_alg",
                reason: format!("missing; it must be {SD_ALG}"),
            })
        }
    }
    let mut by_digest = std::collections::HashMap::with_capacity(parsed.disclosures.len());
    for disclosure in &parsed.disclosures {
        if by_digest
            .insert(disclosure.digest(), (disclosure, false))
            .is_some()
        {
            return Err(Error::DisclosureDuplicated);
        }
    }
    let mut payload = parsed.jwt.payload.clone();
    payload.remove("_sd_alg");
    let mut disclosed = Vec::new();
    let mut claims = match unconceal(
        Value::Object(payload),
        &mut by_digest,
        "",
        &mut disclosed,
        0,
    )? {
        Value::Object(claims) => claims,
        _ => unreachable!("an object stays an object"),
    };
    if by_digest.values().any(|(_, used)| !used) {
        return Err(Error::DisclosureNotReferenced);
    }
    for name in NEVER_DISCLOSABLE {
        if disclosed.iter().any(|(path, _)| path == name) {
            return Err(Error::Claims {
                reason: format!("{name} arrived in a disclosure; it must be in the clear"),
            });
        }
    }
    claims.remove("_sd");
    Ok((claims, disclosed))
}

type DigestTable<'a> = std::collections::HashMap<String, (&'a Disclosure, bool)>;

fn take<'a>(table: &mut DigestTable<'a>, digest: &str) -> Result<Option<&'a Disclosure>, Error> {
    match table.get_mut(digest) {
        Some((_, true)) => Err(Error::DigestRepeated),
        Some((disclosure, used)) => {
            *used = true;
            Ok(Some(*disclosure))
        }
        None => Ok(None),
    }
}

fn unconceal<'a>(
    value: Value,
    table: &mut DigestTable<'a>,
    path: &str,
    disclosed: &mut Sources<'a>,
    depth: usize,
) -> Result<Value, Error> {
    if depth > crate::limits::JSON_DEPTH_MAX {
        return Err(Error::TooDeep {
            what: "sd-jwt claims",
            limit: crate::limits::JSON_DEPTH_MAX,
        });
    }
    let join = |name: &str| {
        if path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    match value {
        Value::Object(mut members) => {
            let digests = match members.remove("_sd") {
                None => Vec::new(),
                Some(Value::Array(digests)) => digests,
                Some(_) => {
                    return Err(Error::Malformed {
                        what: "_sd",
                        reason: "must be an array of digests".into(),
                    })
                }
            };
            let mut out = Map::with_capacity(members.len() + digests.len());
            for (name, value) in members {
                let inner = unconceal(value, table, &join(&name), disclosed, depth + 1)?;
                out.insert(name, inner);
            }
            for digest in digests {
                let Value::String(digest) = digest else {
                    return Err(Error::Malformed {
                        what: "_sd",
                        reason: "digests are strings".into(),
                    });
                };
                let Some(disclosure) = take(table, &digest)? else {
                    continue;
                };
                let Some(name) = &disclosure.name else {
                    return Err(Error::Malformed {
                        what: "disclosure",
                        reason: "an array element's disclosure is referenced from _sd".into(),
                    });
                };
                if out.contains_key(name) {
                    return Err(Error::Claims {
                        reason: format!(
                            "disclosure of {name} would replace a claim that is already there"
                        ),
                    });
                }
                let claim_path = join(name);
                disclosed.push((claim_path.clone(), disclosure));
                let inner = unconceal(
                    disclosure.value.clone(),
                    table,
                    &claim_path,
                    disclosed,
                    depth + 1,
                )?;
                out.insert(name.clone(), inner);
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let digest = match &item {
                    Value::Object(members) if members.len() == 1 => {
                        members.get(ARRAY_DIGEST_KEY).cloned()
                    }
                    _ => None,
                };
                match digest {
                    Some(Value::String(digest)) => {
                        let Some(disclosure) = take(table, &digest)? else {
                            continue;
                        };
                        if disclosure.name.is_some() {
                            return Err(Error::Malformed {
                                what: "disclosure",
                                reason: "a property's disclosure is referenced from an array"
                                    .into(),
                            });
                        }
                        let element_path = join(&out.len().to_string());
                        disclosed.push((element_path.clone(), disclosure));
                        out.push(unconceal(
                            disclosure.value.clone(),
                            table,
                            &element_path,
                            disclosed,
                            depth + 1,
                        )?);
                    }
                    Some(_) => {
                        return Err(Error::Malformed {
                            what: "...",
                            reason: "an array digest is a string".into(),
                        })
                    }
                    None => {
                        let element_path = join(&out.len().to_string());
                        out.push(unconceal(item, table, &element_path, disclosed, depth + 1)?);
                    }
                }
            }
            Ok(Value::Array(out))
        }
        scalar => Ok(scalar),
    }
}

/// Which disclosures a holder keeps for a presentation: those whose claim path is one of
/// `paths`, lies under one of them, or lies on the way to one of them (a nested claim needs
/// its parent's disclosure).
pub fn select(issued: &str, issuer_key: &PublicKey, paths: &[&str]) -> Result<String, Error> {
    let parsed = parse(issued)?;
    let (_, disclosed) = reveal_sources(&parsed, issuer_key)?;
    let wanted = |path: &str| {
        paths.iter().any(|want| {
            *want == path
                || want
                    .strip_prefix(path)
                    .is_some_and(|rest| rest.starts_with('.'))
                || path
                    .strip_prefix(*want)
                    .is_some_and(|rest| rest.starts_with('.'))
        })
    };
    let kept: std::collections::HashSet<&str> = disclosed
        .iter()
        .filter(|(path, _)| wanted(path))
        .map(|(_, disclosure)| disclosure.encoded.as_str())
        .collect();
    let jwt_end = parsed.hashed_part.find('~').expect("parse found a ~");
    let mut out = String::from(&parsed.hashed_part[..=jwt_end]);
    for disclosure in &parsed.disclosures {
        if kept.contains(disclosure.encoded.as_str()) {
            out.push_str(&disclosure.encoded);
            out.push('~');
        }
    }
    Ok(out)
}

/// The `typ` of a key-binding JWT.
pub const KB_JWT_TYP: &str = "kb+jwt";

/// Appends a key-binding JWT, signed by the holder's key, for `aud` and `nonce` at `iat`
/// (seconds). `presentation` must end in `~`.
pub fn bind(presentation: &str, holder: &SigningKey, aud: &str, nonce: &str, iat: i64) -> String {
    debug_assert!(presentation.ends_with('~'));
    let mut header = Map::new();
    header.insert("typ".into(), KB_JWT_TYP.into());
    let payload = json!({"iat": iat, "aud": aud, "nonce": nonce, "sd_hash": digest(presentation)});
    format!("{presentation}{}", holder.sign_jws(header, None, &payload))
}

/// What a key-binding JWT must match.
#[derive(Clone, Debug)]
pub struct BindingCheck<'a> {
    /// The expected audience.
    pub aud: &'a str,
    /// The expected nonce.
    pub nonce: &'a str,
    /// Now, in seconds.
    pub now: i64,
    /// How old (or how far in the future) `iat` may be, in seconds.
    pub freshness_seconds: i64,
}

/// Checks the key-binding JWT against the holder key from `cnf` and `check`.
pub fn check_binding(
    parsed: &Parsed<'_>,
    holder: &PublicKey,
    check: &BindingCheck<'_>,
) -> Result<(), Error> {
    let kb = parsed.kb_jwt.as_ref().ok_or(Error::Binding {
        reason: "the presentation has no key-binding JWT".into(),
    })?;
    if kb.typ() != Some(KB_JWT_TYP) {
        return Err(Error::Binding {
            reason: format!("typ must be {KB_JWT_TYP}"),
        });
    }
    kb.verify(holder).map_err(|error| Error::Binding {
        reason: format!("signature: {error}"),
    })?;
    let claim = |name: &str| kb.payload.get(name);
    if claim("aud").and_then(Value::as_str) != Some(check.aud) {
        return Err(Error::Binding {
            reason: "aud is not this verifier".into(),
        });
    }
    if claim("nonce").and_then(Value::as_str) != Some(check.nonce) {
        return Err(Error::Binding {
            reason: "nonce does not match".into(),
        });
    }
    if claim("sd_hash").and_then(Value::as_str) != Some(digest(parsed.hashed_part).as_str()) {
        return Err(Error::Binding {
            reason: "sd_hash does not cover this presentation".into(),
        });
    }
    let iat = claim("iat").and_then(Value::as_i64).ok_or(Error::Binding {
        reason: "iat missing".into(),
    })?;
    if (check.now - iat).abs() > check.freshness_seconds {
        return Err(Error::Binding {
            reason: format!(
                "iat is {}s from now; at most {}s is accepted",
                check.now - iat,
                check.freshness_seconds
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail loudly on purpose

    use super::*;

    fn sample() -> (SigningKey, Map<String, Value>) {
        let (key, _) = SigningKey::generate_p256();
        let claims = json!({
            "given_name": "Giulia",
            "address": {"locality": "Cinisello Balsamo", "region": "Lombardia"},
            "children": ["A", "B"],
        });
        (key, claims.as_object().unwrap().clone())
    }

    fn issue_sample(key: &SigningKey, claims: Map<String, Value>) -> Issued {
        let clear = json!({"iss": "did:web:x", "vct": "urn:t"})
            .as_object()
            .unwrap()
            .clone();
        issue(
            key,
            "did:web:x#p256",
            "dc+sd-jwt",
            clear,
            claims,
            DisclosurePolicy::default(),
        )
        .unwrap()
    }

    #[test]
    fn rfc9901_disclosure_digest_vector() {
        // RFC 9901 section 4.2.1: the disclosure of family_name "Möbius".
        let encoded = "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0";
        assert_eq!(
            digest(encoded),
            "X9yH0Ajrdm1Oij4tWso9UzzKJvPoDxwmuEcO3XAdRC0"
        );
        let disclosure = Disclosure::parse(encoded).unwrap();
        assert_eq!(disclosure.name.as_deref(), Some("family_name"));
        assert_eq!(disclosure.value, json!("Möbius"));
        // An array element's disclosure (section 4.2.2): ["lklxF5jMYlGTPUovMNIvCA", "FR"].
        let element = Disclosure::parse("WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIkZSIl0").unwrap();
        assert_eq!((element.name, element.value), (None, json!("FR")));
        assert_eq!(
            digest("WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIkZSIl0"),
            "w0I8EKcdCtUPkGCNUrfwVp2xEgNjtoIDlOxc9-PlOhs"
        );
    }

    #[test]
    fn everything_issued_is_revealed_and_decoys_hide_the_count() {
        let (key, claims) = sample();
        let issued = issue_sample(&key, claims.clone());
        // given_name, address, locality, region, children, 2 elements.
        assert_eq!(issued.disclosures.len(), 7);
        let parsed = parse(&issued.compact).unwrap();
        let sd = parsed.jwt.payload["_sd"].as_array().unwrap();
        assert!(sd.len() > 3, "decoys are added");
        let revealed = reveal(&parsed, &key.public()).unwrap();
        for (name, value) in &claims {
            assert_eq!(&revealed.claims[name], value);
        }
        assert!(!revealed.claims.contains_key("_sd_alg"));
    }

    #[test]
    fn selected_paths_only_leave_the_holder() {
        let (key, claims) = sample();
        let issued = issue_sample(&key, claims);
        let presented = select(&issued.compact, &key.public(), &["address.locality"]).unwrap();
        let revealed = reveal(&parse(&presented).unwrap(), &key.public()).unwrap();
        assert_eq!(
            revealed.claims["address"],
            json!({"locality": "Cinisello Balsamo"})
        );
        assert!(!revealed.claims.contains_key("given_name"));
        assert!(!revealed.claims.contains_key("children"));
        let presented = select(&issued.compact, &key.public(), &["children"]).unwrap();
        let revealed = reveal(&parse(&presented).unwrap(), &key.public()).unwrap();
        assert_eq!(revealed.claims["children"], json!(["A", "B"]));
    }

    #[test]
    fn tampered_duplicated_and_unreferenced_disclosures_are_refused() {
        let (key, claims) = sample();
        let issued = issue_sample(&key, claims);
        let first = &issued.disclosures[0].encoded;
        let duplicated = format!("{}{first}~", issued.compact);
        assert!(matches!(
            reveal(&parse(&duplicated).unwrap(), &key.public()),
            Err(Error::DisclosureDuplicated)
        ));
        let forged = Disclosure::new(Some("given_name"), json!("Mallory"));
        let foreign = format!("{}{}~", issued.compact, forged.encoded);
        assert!(matches!(
            reveal(&parse(&foreign).unwrap(), &key.public()),
            Err(Error::DisclosureNotReferenced)
        ));
        // Changing a disclosed value changes its digest: it no longer matches.
        let tampered_value = Disclosure::parse(first).unwrap();
        let mut array: Vec<Value> = serde_json::from_slice(&unb64(first, "t").unwrap()).unwrap();
        *array.last_mut().unwrap() = json!("tampered");
        let tampered = b64(serde_json::to_vec(&array).unwrap());
        assert_ne!(tampered_value.encoded, tampered);
        let replaced = issued.compact.replace(first.as_str(), &tampered);
        assert!(matches!(
            reveal(&parse(&replaced).unwrap(), &key.public()),
            Err(Error::DisclosureNotReferenced)
        ));
        // A signature from another key.
        let (other, _) = SigningKey::generate_p256();
        assert!(matches!(
            reveal(&parse(&issued.compact).unwrap(), &other.public()),
            Err(Error::BadSignature)
        ));
    }

    #[test]
    fn registered_claims_cannot_be_disclosable() {
        let (key, _) = sample();
        let claims = json!({"exp": 1}).as_object().unwrap().clone();
        assert!(matches!(
            issue(
                &key,
                "k",
                "dc+sd-jwt",
                Map::new(),
                claims,
                DisclosurePolicy::default()
            ),
            Err(Error::Claims { .. })
        ));
    }

    #[test]
    fn key_binding_checks_nonce_audience_hash_and_freshness() {
        let (key, claims) = sample();
        let issued = issue_sample(&key, claims);
        let holder =
            SigningKey::Ed25519(ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng));
        let presented = bind(&issued.compact, &holder, "https://verifier", "n-1", 1_000);
        let parsed = parse(&presented).unwrap();
        let check = BindingCheck {
            aud: "https://verifier",
            nonce: "n-1",
            now: 1_010,
            freshness_seconds: 300,
        };
        check_binding(&parsed, &holder.public(), &check).unwrap();
        let wrong = |check: BindingCheck<'_>| {
            check_binding(&parsed, &holder.public(), &check)
                .unwrap_err()
                .to_string()
        };
        assert!(wrong(BindingCheck {
            nonce: "n-2",
            ..check.clone()
        })
        .contains("nonce"));
        assert!(wrong(BindingCheck {
            aud: "https://other",
            ..check.clone()
        })
        .contains("aud"));
        assert!(wrong(BindingCheck {
            now: 5_000,
            ..check.clone()
        })
        .contains("iat"));
        let (intruder, _) = SigningKey::generate_p256();
        assert!(check_binding(&parsed, &intruder.public(), &check).is_err());
        // A disclosure dropped after binding breaks sd_hash.
        let last = &issued.disclosures.last().unwrap().encoded;
        let stripped = presented.replacen(&format!("~{last}~"), "~", 1);
        let check_stripped = check_binding(&parse(&stripped).unwrap(), &holder.public(), &check);
        assert!(check_stripped.unwrap_err().to_string().contains("sd_hash"));
    }
}
