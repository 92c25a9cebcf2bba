//! The RFC 3161 time-stamp authority against independent implementations: Debian's
//! `openssl ts` makes queries and verifies our replies with the CA file, and PyPI's
//! `rfc3161-client` makes SHA-512 queries and verifies too. Negative cases: a wrong imprint, a
//! wrong nonce, a wrong CA, and queries the TSA must refuse (with the right PKIStatus, nothing
//! entered in the log). Every token is matched with the Sigillo receipt of the same entry.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a panic is the failure report.

use std::path::Path;
use std::process::Command;

use notary::{Digest, NoteVerifier, Receipt, ReceiptVerifier};
use sha2::Digest as _;
use sigillo_e2e::{interop_dir, interop_tool, log_size, Server, TempDir};

/// Runs a command; returns (exit code, stdout + stderr).
fn run(command: &mut Command) -> (i32, String) {
    let out = command.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

fn openssl(args: &[&str], dir: &Path) -> (i32, String) {
    run(Command::new("openssl").args(args).current_dir(dir))
}

fn python_peer(args: &[&str], dir: &Path) -> (i32, String) {
    run(Command::new(interop_tool(".venv/bin/python"))
        .arg(interop_dir().join("rfc3161_peer.py"))
        .args(args)
        .current_dir(dir))
}

/// POSTs a query file; saves the reply; returns the HTTP status.
fn post_query(server: &Server, query: &Path, reply: &Path, content_type: &str) -> u16 {
    let response = reqwest::blocking::Client::new()
        .post(format!("{}/v1/tsa", server.url))
        .bearer_auth(server.token("operator"))
        .header("content-type", content_type)
        .body(std::fs::read(query).unwrap())
        .send()
        .unwrap();
    let status = response.status().as_u16();
    if status == 200 {
        assert_eq!(
            response.headers()["content-type"],
            "application/timestamp-reply"
        );
    }
    std::fs::write(reply, response.bytes().unwrap()).unwrap();
    status
}

/// POSTs `work/query` as `application/timestamp-query`, saves the reply as `work/reply`.
fn post_tsq(server: &Server, work: &Path, query: &str, reply: &str) -> u16 {
    post_query(
        server,
        &work.join(query),
        &work.join(reply),
        "application/timestamp-query",
    )
}

#[test]
fn openssl_and_rfc3161_client_verify_our_tokens() {
    let dir = TempDir::new("tsa");
    let server = Server::start(&dir.0, &["--block-interval-ms", "20"]);
    let work = &dir.0;
    let ca = dir.0.join("data/tsa/ca.pem");
    let tsa_cert = dir.0.join("data/tsa/tsa.pem");
    std::fs::write(
        work.join("doc.txt"),
        "Comune di Cinisello Balsamo, delibera 42\n",
    )
    .unwrap();
    std::fs::write(work.join("other.txt"), "another document\n").unwrap();
    // The certificates the service publishes are the ones in its data directory.
    let chain = reqwest::blocking::get(format!("{}/v1/tsa/certs", server.url))
        .unwrap()
        .text()
        .unwrap();
    assert_eq!(
        chain,
        std::fs::read_to_string(&tsa_cert).unwrap() + &std::fs::read_to_string(&ca).unwrap()
    );

    // openssl makes the query (SHA-256, nonce, certificate asked) and verifies the reply.
    for (digest, cert) in [("-sha256", true), ("-sha384", false), ("-sha512", true)] {
        let mut args = vec!["ts", "-query", "-data", "doc.txt", digest, "-out", "q.tsq"];
        if cert {
            args.push("-cert");
        }
        let (code, text) = openssl(&args, work);
        assert_eq!(code, 0, "{text}");
        assert_eq!(post_tsq(&server, work, "q.tsq", "r.tsr"), 200);
        let mut verify = vec![
            "ts",
            "-verify",
            "-in",
            "r.tsr",
            "-queryfile",
            "q.tsq",
            "-CAfile",
        ];
        let ca = ca.to_str().unwrap();
        verify.push(ca);
        if !cert {
            // Without certReq the token does not carry the certificate: give it.
            verify.extend(["-untrusted", tsa_cert.to_str().unwrap()]);
        }
        let (code, text) = openssl(&verify, work);
        assert_eq!(code, 0, "{digest}: {text}");
        assert!(text.contains("Verification: OK"), "{text}");
        let mut by_data = verify.clone();
        by_data[4] = "-data";
        by_data[5] = "doc.txt";
        let (code, text) = openssl(&by_data, work);
        assert_eq!(code, 0, "{digest}: {text}");

        // Negative: a wrong imprint, a wrong CA.
        by_data[5] = "other.txt";
        let (code, text) = openssl(&by_data, work);
        assert_ne!(code, 0, "a token verified for the wrong document: {text}");
        let (code, text) = openssl(
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                "other-ca.key",
                "-out",
                "other-ca.pem",
                "-subj",
                "/CN=Other CA",
                "-days",
                "2",
            ],
            work,
        );
        assert_eq!(code, 0, "{text}");
        let mut wrong_ca = verify.clone();
        wrong_ca[7] = "other-ca.pem";
        let (code, text) = openssl(&wrong_ca, work);
        assert_ne!(code, 0, "a token verified under another CA: {text}");
    }

    // Negative: the reply to one query does not verify against another query's nonce.
    let (code, text) = openssl(
        &[
            "ts", "-query", "-data", "doc.txt", "-sha256", "-cert", "-out", "q1.tsq",
        ],
        work,
    );
    assert_eq!(code, 0, "{text}");
    let (code, text) = openssl(
        &[
            "ts", "-query", "-data", "doc.txt", "-sha256", "-cert", "-out", "q2.tsq",
        ],
        work,
    );
    assert_eq!(code, 0, "{text}");
    assert_eq!(post_tsq(&server, work, "q1.tsq", "r1.tsr"), 200);
    let (code, text) = openssl(
        &[
            "ts",
            "-verify",
            "-in",
            "r1.tsr",
            "-queryfile",
            "q2.tsq",
            "-CAfile",
            ca.to_str().unwrap(),
        ],
        work,
    );
    assert_ne!(
        code, 0,
        "a token verified against another query's nonce: {text}"
    );
    assert!(text.contains("nonce mismatch"), "{text}");

    // rfc3161-client makes a SHA-512 query with a nonce and verifies the reply.
    let (code, nonce) = python_peer(&["query", "doc.txt", "py.tsq"], work);
    assert_eq!(code, 0, "{nonce}");
    let nonce = nonce.trim().to_owned();
    assert_eq!(post_tsq(&server, work, "py.tsq", "py.tsr"), 200);
    let ca_arg = ca.to_str().unwrap();
    let (code, text) = python_peer(
        &["verify", "py.tsr", "doc.txt", ca_arg, "--nonce", &nonce],
        work,
    );
    assert_eq!(code, 0, "{text}");
    assert!(text.starts_with("OK serial="), "{text}");
    // It also verifies the tokens openssl asked for.
    let (code, text) = python_peer(&["verify", "r1.tsr", "doc.txt", ca_arg], work);
    assert_eq!(code, 0, "{text}");
    let (code, text) = python_peer(
        &["verify", "py.tsr", "other.txt", ca_arg, "--nonce", &nonce],
        work,
    );
    assert_ne!(code, 0, "wrong imprint accepted: {text}");
    let wrong_nonce = format!("{}", nonce.parse::<u128>().unwrap() + 1);
    let (code, text) = python_peer(
        &[
            "verify",
            "py.tsr",
            "doc.txt",
            ca_arg,
            "--nonce",
            &wrong_nonce,
        ],
        work,
    );
    assert_ne!(code, 0, "wrong nonce accepted: {text}");
    let (code, text) = python_peer(
        &[
            "verify",
            "py.tsr",
            "doc.txt",
            "other-ca.pem",
            "--nonce",
            &nonce,
        ],
        work,
    );
    assert_ne!(code, 0, "wrong CA accepted: {text}");

    // The token matches the Sigillo receipt of the same entry: the serial number is the
    // entry's number in the log and genTime is its block's time.
    let reply = std::fs::read(work.join("r1.tsr")).unwrap();
    let info = notary::tsa::token_info(&reply).unwrap();
    let imprint = sha2::Sha256::digest(std::fs::read(work.join("doc.txt")).unwrap());
    let entry = Digest::from_slice(&imprint).unwrap();
    let receipts: Vec<Receipt> = reqwest::blocking::get(format!(
        "{}/v1/notary/entries/{}",
        server.url,
        entry.to_hex()
    ))
    .unwrap()
    .json::<serde_json::Value>()
    .map(|body| serde_json::from_value(body["receipts"].clone()).unwrap())
    .unwrap();
    let serial = u64::from_str_radix(&hex::encode(info.serial_number.as_bytes()), 16).unwrap();
    let receipt = receipts
        .iter()
        .find(|r| r.block.first_entry + r.entry_index == serial)
        .expect("a receipt at the token's serial number");
    assert_eq!(receipt.block.time_ms, info.gen_time.unix_ms);
    let key = reqwest::blocking::get(format!("{}/v1/notary/key", server.url))
        .unwrap()
        .text()
        .unwrap();
    ReceiptVerifier::new(NoteVerifier::from_vkey(key.trim()).unwrap())
        .verify(receipt, &entry)
        .unwrap();
}

#[test]
fn refused_queries_get_the_right_status_and_change_nothing() {
    let dir = TempDir::new("tsa-refused");
    let server = Server::start(&dir.0, &["--block-interval-ms", "20"]);
    let work = &dir.0;
    std::fs::write(work.join("doc.txt"), "x").unwrap();
    let before = log_size(&server.url);
    let refused = |args: &[&str], failure: &str| {
        let mut query = vec!["ts", "-query", "-data", "doc.txt", "-out", "q.tsq"];
        query.extend_from_slice(args);
        let (code, text) = openssl(&query, work);
        assert_eq!(code, 0, "{text}");
        assert_eq!(post_tsq(&server, work, "q.tsq", "r.tsr"), 200);
        let (code, text) = openssl(&["ts", "-reply", "-in", "r.tsr", "-text"], work);
        assert_eq!(code, 0, "{text}");
        assert!(text.contains("Status: Rejected"), "{text}");
        assert!(text.contains(failure), "{args:?}: {text}");
    };
    refused(
        &["-sha1"],
        "unrecognized or unsupported algorithm identifier",
    );
    refused(
        &["-md5"],
        "unrecognized or unsupported algorithm identifier",
    );
    refused(
        &["-sha256", "-tspolicy", "1.2.3.4"],
        "policy is not supported",
    );
    // Not DER at all.
    std::fs::write(work.join("junk.tsq"), b"\x30\x03\x02\x01\x07junk").unwrap();
    assert_eq!(post_tsq(&server, work, "junk.tsq", "r.tsr"), 200);
    let (_, text) = openssl(&["ts", "-reply", "-in", "r.tsr", "-text"], work);
    assert!(
        text.contains("Status: Rejected")
            && text.contains("the data submitted has the wrong format"),
        "{text}"
    );
    // Wrong media type, oversized body.
    let (code, text) = openssl(
        &[
            "ts", "-query", "-data", "doc.txt", "-sha256", "-out", "q.tsq",
        ],
        work,
    );
    assert_eq!(code, 0, "{text}");
    assert_eq!(
        post_query(
            &server,
            &work.join("q.tsq"),
            &work.join("r.tsr"),
            "application/json"
        ),
        415
    );
    std::fs::write(work.join("big.tsq"), vec![0u8; 64 * 1024]).unwrap();
    assert_eq!(post_tsq(&server, work, "big.tsq", "r.tsr"), 413);
    // Nothing was entered in the log.
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(log_size(&server.url), before);
}
