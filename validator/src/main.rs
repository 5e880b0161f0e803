//! `validator-harness`: a real Agave test validator with our sBPF event emitter deployed at the
//! six program ids, the five DFPN programs' and Psy's (`serve`), and a sender that puts a fixture
//! history on it as transactions (`send`). See `validator/README.md`.

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let cli = validator_harness::cli::Cli::parse();
    validator_harness::cli::run(cli)
}
