//! The emitter on a real test validator, deployed at the six program ids: mode 0 logs its
//! payload as `Program data:`, mode 1 logs it and fails the transaction, mode 2 logs nothing,
//! mode 4 logs its text as `Program log:`, other modes fail, and an instruction with accounts
//! succeeds without logging. Planned transactions (events of several programs, an instruction
//! entry) land with every `Instruction: <Name>` line under the right program, as a legacy and as
//! a version-0 transaction whose instruction accounts come from an address lookup table (the
//! first of each writable, the others read-only). Needs the ELF from
//! `fixtures/programs/build.sh` (or `EMITTER_SO`): without it the test fails.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};
use solana_commitment_config::CommitmentConfig;
use solana_instruction::{AccountMeta, Instruction};
use solana_keypair::Keypair;
use solana_pubkey::Pubkey;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client_api::config::RpcSendTransactionConfig;
use solana_rpc_client_api::request::RpcRequest;
use solana_signature::Signature;
use solana_signer::Signer;
use validator_harness::events::{EntryKind, EntryLine, PlannedTx};
use validator_harness::lookup;

fn emitter() -> PathBuf {
    let path = std::env::var_os("EMITTER_SO")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/programs/target/emitter.so"));
    assert!(path.is_file(), "no emitter ELF at {} (run fixtures/programs/build.sh)", path.display());
    path
}

fn program(name: &str) -> Pubkey {
    let (_, id) = validator_harness::DEFAULT_PROGRAMS.iter().find(|(program, _)| *program == name).unwrap();
    Pubkey::from_str(id).unwrap()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn event(n: u64, program_name: &str, instruction: &str, payload: &[u8]) -> EntryLine {
    EntryLine {
        n,
        tx: 0,
        program: program_name.into(),
        program_id: program(program_name).to_string(),
        name: format!("Event{n}"),
        kind: EntryKind::Event,
        payload: b64(payload),
        accounts: vec![],
        instruction: instruction.into(),
        truth: Value::Null,
    }
}

fn increment_usage(n: u64) -> EntryLine {
    EntryLine {
        kind: EntryKind::Instruction,
        name: "IncrementUsage".into(),
        instruction: "IncrementUsage".into(),
        // The discriminator's first byte (0xd7) would be a failing mode without accounts.
        payload: b64(&[0xd7, 0xc4, 0x04, 0xcd, 0x24, 0x15, 0xe3, 0xef]),
        accounts: vec![Pubkey::new_unique().to_string(), Pubkey::new_unique().to_string()],
        ..event(n, "model_registry", "IncrementUsage", b"")
    }
}

async fn send(rpc: &RpcClient, payer: &Keypair, instructions: &[Instruction]) -> Signature {
    let blockhash = rpc.get_latest_blockhash().await.unwrap();
    let tx = solana_transaction::Transaction::new_signed_with_payer(
        instructions,
        Some(&payer.pubkey()),
        &[payer],
        blockhash,
    );
    let config = RpcSendTransactionConfig { skip_preflight: true, ..Default::default() };
    rpc.send_transaction_with_config(&tx, config).await.unwrap()
}

async fn fetch(rpc: &RpcClient, signature: Signature) -> Value {
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

/// The log lines printed by a program itself (`Program data:`, `Program log:`), each with the
/// program on top of the invoke stack at that point.
fn program_lines(tx: &Value) -> Vec<(String, String)> {
    let mut stack: Vec<String> = Vec::new();
    let mut lines = Vec::new();
    for line in tx["meta"]["logMessages"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()) {
        let words: Vec<&str> = line.split(' ').collect();
        match words.as_slice() {
            ["Program", id, "invoke", _] => stack.push(id.to_string()),
            ["Program", id, "success"] => assert_eq!(stack.pop().as_deref(), Some(*id), "{line}"),
            ["Program", id, "failed:", ..] => assert_eq!(stack.pop().as_deref(), Some(*id), "{line}"),
            _ if line.starts_with("Program data: ") || line.starts_with("Program log: ") => {
                lines.push((stack.last().cloned().unwrap_or_default(), line.to_owned()));
            }
            _ => {}
        }
    }
    lines
}

fn expect_lines(tx: &Value, expected: &[(&str, String)]) {
    let got = program_lines(tx);
    let want: Vec<(String, String)> = expected.iter().map(|(p, l)| (program(p).to_string(), l.clone())).collect();
    assert_eq!(got, want, "{tx}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emitter_logs_payloads_names_and_fails_on_demand() {
    let emitter = emitter();
    let ids: Vec<Pubkey> = validator_harness::DEFAULT_PROGRAMS.iter().map(|(name, _)| program(name)).collect();
    let genesis = validator_harness::serve::genesis(&emitter, &ids, 0, None);
    let (validator, payer) = genesis.start_async().await;
    let rpc = validator.get_async_rpc_client();
    let data = |payload: &[u8]| format!("Program data: {}", b64(payload));
    let log = |text: &str| format!("Program log: {text}");

    // A planned transaction across three programs, with an instruction entry.
    let ok = PlannedTx {
        index: 0,
        entries: vec![
            event(0, "rewards", "FinalizeRequest", b"rewards-processed"),
            event(1, "analysis_marketplace", "FinalizeRequest", b"request-finalized"),
            increment_usage(2),
            event(3, "analysis_marketplace", "CreateRequest", b"created"),
        ],
        fail: false,
    };
    let (instructions, placed) = ok.build().unwrap();
    let signature = send(&rpc, &payer, &instructions).await;
    let tx = fetch(&rpc, signature).await;
    assert!(tx["meta"]["err"].is_null(), "{tx}");
    expect_lines(
        &tx,
        &[
            ("rewards", log("Instruction: FinalizeRequest")),
            ("rewards", data(b"rewards-processed")),
            ("analysis_marketplace", log("Instruction: FinalizeRequest")),
            ("analysis_marketplace", data(b"request-finalized")),
            ("model_registry", log("Instruction: IncrementUsage")),
            ("analysis_marketplace", log("Instruction: CreateRequest")),
            ("analysis_marketplace", data(b"created")),
        ],
    );
    let message = &tx["transaction"]["message"];
    let keys = message["accountKeys"].as_array().unwrap();
    let usage = placed.iter().find(|p| p.entry.kind == EntryKind::Instruction).unwrap();
    let position = (usage.event_index - validator_harness::events::INSTRUCTION_INDEX_BASE) as usize;
    let on_chain = &message["instructions"][position];
    assert_eq!(keys[on_chain["programIdIndex"].as_u64().unwrap() as usize], program("model_registry").to_string());
    assert_eq!(on_chain["data"], bs58(&[0xd7, 0xc4, 0x04, 0xcd, 0x24, 0x15, 0xe3, 0xef]), "{on_chain}");
    let accounts: Vec<&Value> =
        on_chain["accounts"].as_array().unwrap().iter().map(|i| &keys[i.as_u64().unwrap() as usize]).collect();
    assert_eq!(accounts, ok.entries[2].accounts.iter().collect::<Vec<_>>());
    assert_eq!(message["instructions"].as_array().unwrap().len(), instructions.len());

    // Failing transactions: the last event fails after logging, or a final failure follows an
    // instruction entry; the logs still hold what ran before.
    let failing = PlannedTx {
        index: 1,
        entries: vec![event(4, "psy", "Deploy", b"doomed-one"), event(5, "psy", "Deploy", b"doomed-two")],
        fail: true,
    };
    let tx = fetch(&rpc, send(&rpc, &payer, &failing.build().unwrap().0).await).await;
    assert!(!tx["meta"]["err"].is_null(), "the fail-mode transaction failed: {tx}");
    assert!(tx["meta"]["logMessages"].to_string().contains("custom program error: 0x1"), "{tx}");
    expect_lines(
        &tx,
        &[("psy", log("Instruction: Deploy")), ("psy", data(b"doomed-one")), ("psy", data(b"doomed-two"))],
    );
    let failing =
        PlannedTx { index: 2, entries: vec![event(6, "model_registry", "X", b"e"), increment_usage(7)], fail: true };
    let tx = fetch(&rpc, send(&rpc, &payer, &failing.build().unwrap().0).await).await;
    assert!(tx["meta"]["logMessages"].to_string().contains("custom program error: 0x2"), "{tx}");
    expect_lines(
        &tx,
        &[
            ("model_registry", log("Instruction: X")),
            ("model_registry", data(b"e")),
            ("model_registry", log("Instruction: IncrementUsage")),
        ],
    );

    // The raw modes, one transaction each.
    let marketplace = program("analysis_marketplace");
    let raw = |data: &[u8], accounts: Vec<AccountMeta>| vec![Instruction::new_with_bytes(marketplace, data, accounts)];
    let account = || vec![AccountMeta::new_readonly(Pubkey::new_unique(), false)];
    let cases: Vec<(Vec<Instruction>, Option<&str>, Vec<(&str, String)>)> = vec![
        (raw(&[], vec![]), None, vec![]),
        (raw(b"\x02nonce", vec![]), None, vec![]),
        (raw(b"\x04hello, log", vec![]), None, vec![("analysis_marketplace", log("hello, log"))]),
        (raw(b"\x04", vec![]), None, vec![("analysis_marketplace", log(""))]),
        (raw(b"\x03", vec![]), Some("custom program error: 0x2"), vec![]),
        (raw(b"\x05text", vec![]), Some("custom program error: 0x2"), vec![]),
        (raw(b"\x01with accounts", account()), None, vec![]),
        (raw(b"", account()), None, vec![]),
    ];
    for (instructions, error, lines) in cases {
        let tx = fetch(&rpc, send(&rpc, &payer, &instructions).await).await;
        match error {
            None => assert!(tx["meta"]["err"].is_null(), "{tx}"),
            Some(error) => assert!(tx["meta"]["logMessages"].to_string().contains(error), "{tx}"),
        }
        expect_lines(&tx, &lines);
    }

    // The same shape as a version-0 transaction against a lookup table made for it.
    let v0 = PlannedTx {
        index: 2,
        entries: vec![increment_usage(8), ok.entries[0].clone(), increment_usage(9)],
        fail: false,
    };
    let addresses = lookup::table_addresses(std::slice::from_ref(&v0), 3).unwrap();
    let tables = lookup::create_tables(&rpc, &payer, &addresses, Duration::from_secs(60)).await.unwrap();
    assert_eq!(tables.iter().flat_map(|t| &t.addresses).collect::<Vec<_>>(), addresses.iter().collect::<Vec<_>>());
    let (instructions, placed) = v0.build().unwrap();
    let blockhash = rpc.get_latest_blockhash().await.unwrap();
    let (transaction, form) = lookup::sign(&v0, instructions.clone(), &payer, &tables, 3, blockhash).unwrap();
    assert_eq!(form, lookup::Form::V0 { writable: 2, readonly: 2 });
    let config = RpcSendTransactionConfig { skip_preflight: true, ..Default::default() };
    let tx = fetch(&rpc, rpc.send_transaction_with_config(&transaction, config).await.unwrap()).await;
    assert!(tx["meta"]["err"].is_null(), "{tx}");
    assert_eq!(tx["version"], 0, "{tx}");
    expect_lines(
        &tx,
        &[
            ("model_registry", log("Instruction: IncrementUsage")),
            ("rewards", log("Instruction: FinalizeRequest")),
            ("rewards", data(b"rewards-processed")),
            ("model_registry", log("Instruction: IncrementUsage")),
        ],
    );
    let loaded = &tx["meta"]["loadedAddresses"];
    let keys: Vec<&Value> = tx["transaction"]["message"]["accountKeys"]
        .as_array()
        .unwrap()
        .iter()
        .chain(loaded["writable"].as_array().unwrap())
        .chain(loaded["readonly"].as_array().unwrap())
        .collect();
    assert_eq!((loaded["writable"].as_array().unwrap().len(), loaded["readonly"].as_array().unwrap().len()), (2, 2));
    for usage in placed.iter().filter(|p| p.entry.kind == EntryKind::Instruction) {
        let position = (usage.event_index - validator_harness::events::INSTRUCTION_INDEX_BASE) as usize;
        let on_chain = &tx["transaction"]["message"]["instructions"][position];
        assert_eq!(keys[on_chain["programIdIndex"].as_u64().unwrap() as usize], &program("model_registry").to_string());
        let accounts: Vec<&str> = on_chain["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| keys[i.as_u64().unwrap() as usize].as_str().unwrap())
            .collect();
        assert_eq!(accounts, usage.entry.accounts.iter().map(String::as_str).collect::<Vec<_>>(), "{tx}");
        let static_keys = tx["transaction"]["message"]["accountKeys"].as_array().unwrap().len() as u64;
        assert!(on_chain["accounts"].as_array().unwrap().iter().all(|i| i.as_u64().unwrap() >= static_keys));
    }

    let statuses = rpc.get_signature_statuses(&[signature]).await.unwrap().value;
    assert!(statuses.iter().all(|s| s.as_ref().is_some_and(|s| s.satisfies_commitment(CommitmentConfig::confirmed()))));
    drop(rpc);
    tokio::task::spawn_blocking(move || drop(validator)).await.unwrap();
}

/// Base58 (the JSON encoding of instruction data), for the few bytes compared here.
fn bs58(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    let mut digits: Vec<u8> = Vec::new();
    for &byte in bytes {
        let mut carry = byte as u32;
        for digit in digits.iter_mut() {
            carry += (*digit as u32) << 8;
            *digit = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.push((carry % 58) as u8);
            carry /= 58;
        }
    }
    let zeros = bytes.iter().take_while(|&&b| b == 0).count();
    std::iter::repeat_n('1', zeros).chain(digits.iter().rev().map(|&d| ALPHABET[d as usize] as char)).collect()
}
