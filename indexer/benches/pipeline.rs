//! Pipeline stages in isolation, without RPC: appending fixture events to the sled log in
//! batches, scanning it, and folding it into the projections. Prints figures;
//! run with `cargo bench -p indexer --bench pipeline` (EVENTS=n to size it).

use std::time::Instant;

use fixtures::{ChainConfig, ChainGenerator};
use indexer::log::EventLog;
use indexer::projector::{self, Projector};

fn main() {
    let events: u64 = std::env::var("EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(200_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let started = Instant::now();
    let mut envelopes = Vec::with_capacity(events as usize);
    let (mut slot, mut tx_index) = (u64::MAX, 0u32);
    for tx in ChainGenerator::new(ChainConfig::realistic(7)).with_max_events(events) {
        (slot, tx_index) = if tx.slot == slot { (slot, tx_index + 1) } else { (tx.slot, 0) };
        envelopes.extend(tx.envelopes(Some(tx_index)));
    }
    let raw_bytes: usize = envelopes.iter().map(|e| e.event.encode().len() + 64 + 8 + 4 + 9).sum();
    println!("generated {} events ({} MiB raw) in {:.2?}", envelopes.len(), raw_bytes >> 20, started.elapsed());

    let log = EventLog::open(&dir.path().join("log"), 64 << 20).expect("log opens");
    let started = Instant::now();
    for batch in envelopes.chunks(1_000) {
        log.append(batch, None, u64::MAX).expect("append");
    }
    let append = started.elapsed();
    println!("append (batches of 1000, flushed): {:.0} events/s", envelopes.len() as f64 / append.as_secs_f64());

    let started = Instant::now();
    let scanned = log.read_from(1).try_fold(0usize, |n, record| record.map(|_| n + 1)).expect("records read");
    println!("scan: {:.0} records/s", scanned as f64 / started.elapsed().as_secs_f64());

    let started = Instant::now();
    let folded =
        projector::replay(&log, &dir.path().join("projections"), &shared::ProgramSet::defaults()).expect("replay");
    println!("replay into projections: {:.0} events/s", folded as f64 / started.elapsed().as_secs_f64());
    let _ = Projector::open(&dir.path().join("projections"), &shared::ProgramSet::defaults()).expect("reopen");
    let du = |p: &std::path::Path| {
        std::process::Command::new("du")
            .arg("-sm")
            .arg(p)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).split_whitespace().next().unwrap_or("?").to_owned())
            .unwrap_or_default()
    };
    println!("disk: log {} MiB, projections {} MiB", du(&dir.path().join("log")), du(&dir.path().join("projections")));
}
