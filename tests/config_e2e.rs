//! `sigillo serve` configured by a TOML file under environment variables and flags; a wrong
//! setting stops the start with a message naming it; per-client rate limits answer 429 with
//! Retry-After; CORS headers only for the origins configured.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a panic is the report.

use std::time::Duration;

use sigillo_e2e::{sigillo, Server, TempDir};

/// Starts `sigillo serve --config FILE` with `toml`, expecting it to refuse; returns stderr.
fn refused(dir: &TempDir, toml: &str) -> String {
    let file = dir.0.join("bad.toml");
    std::fs::write(&file, toml).unwrap();
    let output = sigillo()
        .args([
            "serve",
            "--config",
            file.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .arg("--data")
        .arg(dir.0.join("bad-data"))
        .arg("--did-docs")
        .arg(dir.0.join("bad-docs"))
        .output()
        .unwrap();
    assert!(!output.status.success(), "{toml}: started");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_wrong_setting_stops_the_start_and_names_itself() {
    let dir = TempDir::new("config-bad");
    for (toml, expect) in [
        (
            "block_interval_ms = 0",
            "--block-interval-ms must be 1 to 60000",
        ),
        ("block_interval_ms = \"fast\"", "--block-interval-ms"),
        (
            "blok_interval_ms = 100",
            "unknown setting \"blok_interval_ms\"",
        ),
        (
            "cors_origins = \"servizi.comune.milano.it\"",
            "is not an origin",
        ),
        (
            "request_timeout_ms = 5",
            "--request-timeout-ms must be 100 to 600000",
        ),
        (
            "registry_deadline_ms = 0",
            "--registry-deadline-ms must be 1 to 60000",
        ),
        (
            "block_interval_ms = [1, 2]",
            "must be a string, a number or a boolean",
        ),
        ("listen = ", "is not valid TOML"),
    ] {
        let stderr = refused(&dir, toml);
        assert!(stderr.contains(expect), "{toml}: {stderr}");
    }
}

#[test]
fn file_then_environment_then_flags_and_the_protections_they_set() {
    let dir = TempDir::new("config-good");
    let file = dir.0.join("sigillo.toml");
    std::fs::write(
        &file,
        "origin = \"comune.example/notary\"\nrate_limit_per_second = 1000\nrate_limit_burst = 3\n\
         cors_origins = \"https://servizi.comune.example\"\n",
    )
    .unwrap();
    // The environment overrides the file's rate; the file's burst and origin stand.
    std::env::set_var("SIGILLO_RATE_LIMIT_PER_SECOND", "1");
    let server = Server::start(&dir.0, &["--config", file.to_str().unwrap()]);
    std::env::remove_var("SIGILLO_RATE_LIMIT_PER_SECOND");
    let client = reqwest::blocking::Client::new();
    let checkpoint = client
        .get(format!("{}/v1/notary/checkpoint", server.url))
        .send()
        .unwrap();
    assert_eq!(checkpoint.status(), 200);
    assert!(checkpoint
        .text()
        .unwrap()
        .starts_with("comune.example/notary\n"));
    // Burst 3 at 1 a second: the fourth request at once is refused, with Retry-After.
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..5 {
        let response = client
            .get(format!("{}/v1/token/ledger", server.url))
            .send()
            .unwrap();
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            retry_after = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            assert_eq!(
                response.json::<serde_json::Value>().unwrap()["error"],
                "rate_limited"
            );
        }
    }
    assert_eq!(&statuses[..2], &[200, 200], "{statuses:?}");
    assert!(statuses.contains(&429), "{statuses:?}");
    assert_eq!(retry_after.as_deref(), Some("1"));
    // Probes are never limited; another client (a bearer token) has its own allowance.
    for _ in 0..10 {
        assert_eq!(
            client
                .get(format!("{}/healthz", server.url))
                .send()
                .unwrap()
                .status(),
            200
        );
    }
    let with_token = client
        .get(format!("{}/v1/token/ledger", server.url))
        .bearer_auth("someone-else")
        .send()
        .unwrap();
    assert_eq!(with_token.status(), 200);
    std::thread::sleep(Duration::from_millis(1_100));
    assert_eq!(
        client
            .get(format!("{}/v1/token/ledger", server.url))
            .send()
            .unwrap()
            .status(),
        200
    );
    // CORS for the configured origin only.
    let preflight = |origin: &str| {
        client
            .request(
                reqwest::Method::OPTIONS,
                format!("{}/v1/credentials/issuers", server.url),
            )
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .bearer_auth(origin) // its own rate allowance
            .send()
            .unwrap()
    };
    let allowed = preflight("https://servizi.comune.example");
    assert_eq!(
        allowed
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap()),
        Some("https://servizi.comune.example")
    );
    let other = preflight("https://evil.example");
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

#[test]
fn with_no_file_no_cors_header_is_sent() {
    let dir = TempDir::new("config-none");
    let server = Server::start(&dir.0, &[]);
    let response = reqwest::blocking::Client::new()
        .get(format!("{}/v1/credentials/issuers", server.url))
        .header("origin", "https://servizi.comune.example")
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response
        .headers()
        .get("access-control-allow-origin")
        .is_none());
}

/// `--requests-in-flight-max` bounds the whole service, not each route: with a limit of 2 and
/// two submissions waiting for their block, a read of another route waits for the block.
#[test]
fn the_requests_in_flight_limit_is_shared_by_every_route() {
    let dir = TempDir::new("config-in-flight");
    let (server, logs) = Server::start_logging(
        &dir.0,
        // No rate limit, whatever another test of this process set in the environment.
        &[
            "--requests-in-flight-max",
            "2",
            "--block-interval-ms",
            "5000",
            "--rate-limit-per-second",
            "0",
        ],
        Some("warn,notary::notary=trace"),
    );
    let token = server.token("operator");
    // The time of the block the entry went into, in milliseconds since the epoch.
    let submit = |url: &str, token: &str, digest: String| -> u64 {
        let response = reqwest::blocking::Client::new()
            .post(format!("{url}/v1/notary/entries"))
            .bearer_auth(token)
            .json(&serde_json::json!({ "entry": digest }))
            .send()
            .unwrap();
        assert_eq!(response.status(), 201);
        let bundle: serde_json::Value = response.json().unwrap();
        bundle["block"]["time_ms"].as_u64().unwrap()
    };
    // An idle notary seals at once; the next block then waits a whole interval.
    submit(
        &server.url,
        &token,
        notary::Digest::sha256(b"first").to_hex(),
    );
    let submitters: Vec<_> = (0..2u8)
        .map(|i| {
            let (url, token) = (server.url.clone(), token.clone());
            std::thread::spawn(move || submit(&url, &token, notary::Digest::sha256(&[i]).to_hex()))
        })
        .collect();
    // Both submissions are in flight, inside the notary waiting for their block, before the
    // read is sent: the notary says so.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let event = logs
            .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
            .expect("the notary reports the submissions waiting");
        if event["message"] == "waiting for a block" && event["submissions"] == 2 {
            break;
        }
    }
    let status = reqwest::blocking::get(format!("{}/healthz", server.url))
        .unwrap()
        .status();
    let read_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert_eq!(status, 200);
    let block_times: Vec<u64> = submitters
        .into_iter()
        .map(|thread| thread.join().unwrap())
        .collect();
    assert_eq!(block_times[0], block_times[1], "one block holds both");
    // The block's time is taken as sealing starts; a permit comes free only after it. (Which
    // client thread hears its answer first is up to the scheduler, so the test compares
    // times, not the order of the answers.)
    assert!(
        read_at >= block_times[0],
        "the read was answered {} ms before the block that freed a permit",
        block_times[0] - read_at
    );
}
