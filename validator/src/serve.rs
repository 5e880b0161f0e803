//! `serve`: an in-process Agave test validator on loopback, with the event emitter deployed
//! (upgradeable loader) at the six program ids (the five DFPN programs and Psy) and the RPC
//! history `getTransaction` needs switched on.

use std::io::Write;
use std::path::Path;
use std::str::FromStr;

use anyhow::{bail, Context};
use solana_pubkey::Pubkey;
use solana_rpc::rpc::JsonRpcConfig;
use solana_test_validator::{TestValidatorGenesis, UpgradeableProgramInfo};

use crate::cli::ServeArgs;

/// The RPC configuration of the harness: the test validator's defaults plus transaction history
/// and extended metadata (without them `getTransaction` errors, then returns no logs).
pub fn rpc_config() -> JsonRpcConfig {
    JsonRpcConfig {
        enable_rpc_transaction_history: true,
        enable_extended_tx_metadata_storage: true,
        ..JsonRpcConfig::default_for_test()
    }
}

/// The validator's configuration: the emitter deployed (upgradeable loader) at each of
/// `programs`, RPC on `rpc_port` (0: free ports), the ledger in `ledger` (None: a temporary one).
pub fn genesis(emitter: &Path, programs: &[Pubkey], rpc_port: u16, ledger: Option<&Path>) -> TestValidatorGenesis {
    let mut genesis = TestValidatorGenesis::default();
    genesis.rpc_config(rpc_config());
    // The validator's own search for RPC ports looks in the 25-port range a debug build gives
    // its node sockets, which those fill: pick free ports here instead.
    genesis.rpc_port(if rpc_port != 0 { rpc_port } else { free_port_pair() });
    if let Some(ledger) = ledger {
        genesis.ledger_path(ledger);
    }
    let infos: Vec<UpgradeableProgramInfo> = programs
        .iter()
        .map(|program_id| UpgradeableProgramInfo {
            program_id: *program_id,
            loader: solana_sdk_ids::bpf_loader_upgradeable::id(),
            upgrade_authority: Pubkey::default(),
            program_path: emitter.to_path_buf(),
        })
        .collect();
    genesis.add_upgradeable_programs_with_path(&infos);
    genesis
}

/// A free loopback TCP port whose successor is free too (JSON-RPC and PubSub).
pub fn free_port_pair() -> u16 {
    loop {
        let first = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("binding an ephemeral loopback port");
        let port = first.local_addr().expect("a bound socket has an address").port();
        if port < u16::MAX && std::net::TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
}

/// Starts the validator, prints the `ready` line and runs until SIGINT/SIGTERM.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    if !args.emitter.is_file() {
        bail!("emitter ELF {} not found: run fixtures/programs/build.sh", args.emitter.display());
    }
    let programs = [
        Pubkey::from_str(&args.marketplace_program).context("--marketplace-program")?,
        Pubkey::from_str(&args.worker_registry_program).context("--worker-registry-program")?,
        Pubkey::from_str(&args.model_registry_program).context("--model-registry-program")?,
        Pubkey::from_str(&args.content_registry_program).context("--content-registry-program")?,
        Pubkey::from_str(&args.rewards_program).context("--rewards-program")?,
        Pubkey::from_str(&args.psy_program).context("--psy-program")?,
    ];
    let distinct: std::collections::BTreeSet<_> = programs.iter().collect();
    if distinct.len() != programs.len() {
        bail!("the six program ids must differ");
    }
    let genesis = genesis(&args.emitter, &programs, args.rpc_port, args.ledger.as_deref());
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let started = std::time::Instant::now();
    let (validator, payer) = runtime.block_on(genesis.start_async());
    solana_keypair::write_keypair_file(&payer, &args.payer_out)
        .map_err(|err| anyhow::anyhow!("writing {}: {err}", args.payer_out.display()))?;
    let mut stdout = std::io::stdout();
    writeln!(
        stdout,
        "ready rpc={} ws={} payer={} start_secs={:.1}",
        validator.rpc_url(),
        validator.rpc_pubsub_url(),
        args.payer_out.display(),
        started.elapsed().as_secs_f64()
    )?;
    stdout.flush()?;
    runtime.block_on(shutdown_signal());
    eprintln!("validator-harness: stopping");
    drop(validator);
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
