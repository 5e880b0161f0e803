//! The emitter on a real test validator: mode 0 logs its payload as `Program data:`, mode 1 logs
//! it and fails the transaction, mode 2 logs nothing. Needs the ELF from
//! `fixtures/programs/build.sh` (or `EMITTER_SO`); without it the test says so and passes.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};
use solana_commitment_config::CommitmentConfig;
use solana_pubkey::Pubkey;
use solana_rpc_client_api::request::RpcRequest;
use solana_signature::Signature;
use solana_signer::Signer;
use validator_harness::events::{EventLine, PlannedTx};
use validator_harness::send::instructions;

fn emitter() -> Option<PathBuf> {
    let path = std::env::var_os("EMITTER_SO")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/programs/target/emitter.so"));
    path.is_file().then_some(path)
}

fn event(n: u64, program_id: &Pubkey, payload: &[u8]) -> EventLine {
    EventLine {
        n,
        tx: n,
        program: "dfpn".into(),
        program_id: program_id.to_string(),
        name: "Test".into(),
        payload: base64::engine::general_purpose::STANDARD.encode(payload),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emitter_logs_payloads_and_fails_on_demand() {
    let Some(emitter) = emitter() else {
        eprintln!("skipped: no emitter ELF (run fixtures/programs/build.sh)");
        return;
    };
    let dfpn = Pubkey::from_str(validator_harness::DEFAULT_DFPN_PROGRAM_ID).unwrap();
    let psy = Pubkey::from_str(validator_harness::DEFAULT_PSY_PROGRAM_ID).unwrap();
    let genesis = validator_harness::serve::genesis(&emitter, &[dfpn, psy], 0, None);
    let (validator, payer) = genesis.start_async().await;
    let rpc = validator.get_async_rpc_client();

    let ok =
        PlannedTx { index: 0, events: vec![event(0, &dfpn, b"first-event"), event(1, &dfpn, b"second")], fail: false };
    let failing =
        PlannedTx { index: 1, events: vec![event(2, &psy, b"doomed-one"), event(3, &psy, b"doomed-two")], fail: true };
    let mut signatures = Vec::new();
    for planned in [&ok, &failing] {
        let blockhash = rpc.get_latest_blockhash().await.unwrap();
        let tx = solana_transaction::Transaction::new_signed_with_payer(
            &instructions(planned).unwrap(),
            Some(&payer.pubkey()),
            &[&payer],
            blockhash,
        );
        let config =
            solana_rpc_client_api::config::RpcSendTransactionConfig { skip_preflight: true, ..Default::default() };
        signatures.push(rpc.send_transaction_with_config(&tx, config).await.unwrap());
    }

    let logs_of = |signature: Signature| {
        let rpc = &rpc;
        async move {
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let tx: Value = rpc
                    .send(
                        RpcRequest::GetTransaction,
                        json!([signature.to_string(), {"encoding": "json", "commitment": "confirmed", "maxSupportedTransactionVersion": 0}]),
                    )
                    .await
                    .unwrap_or(Value::Null);
                if !tx.is_null() {
                    return tx;
                }
                assert!(Instant::now() < deadline, "transaction {signature} never confirmed");
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
    };
    let data_lines = |tx: &Value| -> Vec<String> {
        tx["meta"]["logMessages"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|line| line.as_str()?.strip_prefix("Program data: ").map(str::to_owned))
            .collect()
    };
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);

    let tx = logs_of(signatures[0]).await;
    assert!(tx["meta"]["err"].is_null(), "{tx}");
    assert_eq!(data_lines(&tx), vec![b64(b"first-event"), b64(b"second")], "{tx}");
    let logs = tx["meta"]["logMessages"].to_string();
    assert_eq!(logs.matches(&format!("Program {dfpn} invoke [1]")).count(), 3, "two events and the nonce: {logs}");

    let tx = logs_of(signatures[1]).await;
    assert!(!tx["meta"]["err"].is_null(), "the fail-mode transaction failed: {tx}");
    assert_eq!(data_lines(&tx), vec![b64(b"doomed-one"), b64(b"doomed-two")], "{tx}");
    assert!(tx["meta"]["logMessages"].to_string().contains("custom program error: 0x1"), "{tx}");

    let statuses = rpc.get_signature_statuses(&signatures).await.unwrap().value;
    assert!(statuses.iter().all(|s| s.as_ref().is_some_and(|s| s.satisfies_commitment(CommitmentConfig::confirmed()))));
    drop(rpc);
    tokio::task::spawn_blocking(move || drop(validator)).await.unwrap();
}
