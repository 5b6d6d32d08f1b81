//! The server's limits against hostile clients on a real anvil job: a full intake refuses the next
//! upload with 429 and a Retry-After before reading it; a trainer over its upload rate gets 429,
//! and nobody can spend another trainer's rate by naming it; a client that sends its headers or
//! its body a byte at a time is cut off; deeply nested JSON is refused with 400.

mod support;

use alloy::primitives::U256;
use fedproof_storage::Storage;
use fedproof_web_api::http::Limits;
use fedproof_web_api::serve::{self, Server};
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;
use support::chain::{field_to_u256, Stack, SubmittedRound};
use support::upload::{body, post};
use support::{server, Engine, TestDb};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The longest any cut-off below may take (a bound for a hung test, not a speed goal).
const CUT_OFF_BOUND: Duration = Duration::from_secs(20);

/// A server with an intake and `limits` over a round whose slots all committed (and its blob
/// directory, removed when dropped).
async fn intake_with(
    stack: &Stack,
    input: &fedproof_prover::round::RoundInput,
    db: &TestDb,
    limits: Limits,
) -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("dir");
    let store = dir.path().display().to_string();
    Storage::open(&store).expect("store").put_spec(&stack.spec(input)).await.expect("spec");
    let config = server::config(stack, &db.url, HashMap::new(), Some((stack.sealing.clone(), store)));
    let server = serve::start(fedproof_web_api::serve::ServeConfig { limits, ..config }).await.expect("server starts");
    server::wait_indexed(stack, &server).await;
    (server, dir)
}

/// Opens a connection and sends the headers of an upload whose body never comes.
async fn stalled_upload(server: &Server) -> TcpStream {
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    let head = "POST /api/jobs/1/rounds/0/updates HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                Content-Length: 100000\r\n\r\n{";
    stream.write_all(head.as_bytes()).await.expect("write");
    stream
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_intake_answers_429_with_retry_after_and_recovers() {
    let stack = Stack::start().await;
    let SubmittedRound { input, sealed, .. } = stack.submitted_round().await;
    let commitments: Vec<U256> = input.update_commitments().iter().map(field_to_u256).collect();
    let db = TestDb::new(Engine::Sqlite).await;
    let (server, _blobs) =
        intake_with(&stack, &input, &db, Limits { concurrent_uploads: 1, ..Limits::default() }).await;
    let url = format!("http://{}/api/jobs/1/rounds/0/updates", server.addr);
    let (t0, t1) = (&stack.signers[2], &stack.signers[3]);
    let slot0 = sealed[0].clone().expect("sealed");
    // Signed by the wrong key: refused with 403 once admitted, so probing stores nothing.
    let probe = body(t1, t0.address(), 0, commitments[0], &slot0);

    // One client holds the only permit by never finishing its body.
    let stalled = stalled_upload(&server).await;
    let mut busy = None;
    for _ in 0..200 {
        let answer = post(&url, &probe).await;
        if answer.status == 429 {
            busy = Some(answer);
            break;
        }
        assert_eq!(answer.status, 403, "before the stalled upload holds the permit: {answer:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let busy = busy.expect("the second upload is refused while the first holds the intake");
    assert_eq!(busy.code, "intake_busy");
    assert_eq!(busy.retry_after.as_deref(), Some("1"));

    // The stalled client goes away: its permit comes back and a valid upload is stored.
    drop(stalled);
    let valid = body(t0, t0.address(), 0, commitments[0], &slot0);
    let mut status = 0;
    for _ in 0..200 {
        status = post(&url, &valid).await.status;
        if status != 429 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(status, 201, "the intake takes uploads again once the stalled one is gone");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trainer_over_its_upload_rate_gets_429_and_cannot_be_rate_limited_by_others() {
    let stack = Stack::start().await;
    let SubmittedRound { input, sealed, .. } = stack.submitted_round().await;
    let commitments: Vec<U256> = input.update_commitments().iter().map(field_to_u256).collect();
    let db = TestDb::new(Engine::Sqlite).await;
    let limits = Limits { uploads_per_address_burst: 2, uploads_per_address_per_minute: 1, ..Limits::default() };
    let (server, _blobs) = intake_with(&stack, &input, &db, limits).await;
    let url = |round: u32| format!("http://{}/api/jobs/1/rounds/{round}/updates", server.addr);
    let (t0, t1, outsider) = (&stack.signers[2], &stack.signers[3], &stack.signers[9]);
    let slot = |s: usize| sealed[s].clone().expect("sealed");

    // t0's burst of two (refused for the wrong round, but counted), then 429 until a token
    // comes back (one a minute).
    let wrong_round = body(t0, t0.address(), 1, commitments[0], &slot(0));
    for _ in 0..2 {
        assert_eq!(post(&url(1), &wrong_round).await.status, 400);
    }
    let limited = post(&url(1), &wrong_round).await;
    assert_eq!((limited.status, limited.code.as_str()), (429, "upload_rate_limited"));
    let wait: u64 = limited.retry_after.expect("Retry-After").parse().expect("seconds");
    assert!((1..=60).contains(&wait), "Retry-After {wait} s");
    // Even t0's valid upload waits for its rate.
    assert_eq!(post(&url(0), &body(t0, t0.address(), 0, commitments[0], &slot(0))).await.status, 429);

    // Griefing: an outsider naming t1 with its own signature is refused (403) without charging
    // t1, whose own upload is still taken.
    let forged = body(outsider, t1.address(), 0, commitments[1], &slot(1));
    for _ in 0..5 {
        assert_eq!(post(&url(0), &forged).await.status, 403);
    }
    assert_eq!(post(&url(0), &body(t1, t1.address(), 0, commitments[1], &slot(1))).await.status, 201);
    server.shutdown().await;
}

/// Writes `bytes` one at a time, `gap` apart, until the server closes the connection; returns
/// what the server sent before closing.
async fn trickle(server: &Server, head: &str, bytes: &[u8], gap: Duration) -> String {
    let stream = TcpStream::connect(server.addr).await.expect("connect");
    let (mut read, mut write) = stream.into_split();
    write.write_all(head.as_bytes()).await.expect("write");
    let bytes = bytes.to_vec();
    let writer = tokio::spawn(async move {
        for b in bytes {
            if write.write_all(&[b]).await.is_err() {
                return;
            }
            tokio::time::sleep(gap).await;
        }
    });
    let mut answer = Vec::new();
    let read_all = read.read_to_end(&mut answer);
    let _ = tokio::time::timeout(CUT_OFF_BOUND, read_all).await.expect("the server cuts the slow client off");
    writer.abort();
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_clients_are_cut_off_and_deep_json_is_refused() {
    let stack = Stack::start().await;
    let SubmittedRound { input, .. } = stack.submitted_round().await;
    let db = TestDb::new(Engine::Sqlite).await;
    let second = Duration::from_secs(1);
    let limits = Limits { header_timeout: second, request_timeout: second, ..Limits::default() };
    let (server, _blobs) = intake_with(&stack, &input, &db, limits).await;
    let gap = Duration::from_millis(200);

    // Slow-loris: headers that never end (a byte every 200 ms, 10 minutes' worth).
    let endless_header = "X-Slow: ".to_owned() + &"a".repeat(3000);
    trickle(&server, "GET /api/config HTTP/1.1\r\nHost: x\r\n", endless_header.as_bytes(), gap).await;

    // A body trickled a byte at a time: 408 when the request timeout ends.
    let head = "POST /api/jobs/1/rounds/0/updates HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                Content-Length: 3000\r\n\r\n";
    let answer = trickle(&server, head, &[b' '; 3000], gap).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "a slow body is answered 408, got {answer:?}");

    // JSON nested 100,000 deep is refused by the parser's recursion limit, not followed.
    let deep = format!("{{\"trainer\": \"0x00\", \"x\": {}{}}}", "[".repeat(100_000), "]".repeat(100_000));
    let res = reqwest::Client::new()
        .post(format!("http://{}/api/jobs/1/rounds/0/updates", server.addr))
        .header("content-type", "application/json")
        .body(deep)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status().as_u16(), 400);
    let answer: Value = res.json().await.expect("json");
    assert_eq!(answer["error"]["code"], "invalid_body", "{answer}");
    // The server still answers.
    let config = reqwest::get(format!("http://{}/api/config", server.addr)).await.expect("get");
    assert_eq!(config.status().as_u16(), 200);
    server.shutdown().await;
}
