//! The event log's tests: gap-free idempotent appends, formats and migrations, finality,
//! retractions, off-chain writes, failed flushes, a held directory.

use super::keys::*;
use super::*;
use shared::dfpn::{ModelRegistryEvent, ModelScoreUpdated};
use shared::event::PayloadKind;
use shared::ChainEvent;

/// A DFPN event of transaction `[signature_byte; 64]` (score 100 + `event_index`).
pub(crate) fn envelope(signature_byte: u8, event_index: u32, slot: u64) -> EventEnvelope {
    EventEnvelope {
        seq: 0,
        slot,
        signature: bs58::encode([signature_byte; 64]).into_string(),
        tx_index: Some(u32::from(signature_byte)),
        event_index,
        block_time: Some(1_720_000_000),
        source: EventSource::Chain,
        event: ChainEvent::ModelRegistry(ModelRegistryEvent::ModelScoreUpdated(ModelScoreUpdated {
            developer: solana_pubkey::Pubkey::new_from_array([signature_byte; 32]),
            model_id: [signature_byte; 32],
            old_score: 0,
            new_score: 100 + event_index,
        })),
    }
}

fn read_all(log: &EventLog) -> Vec<(u64, LogRecord)> {
    log.read_from(1).collect::<Result<Vec<_>>>().unwrap()
}

#[test]
fn appends_are_gap_free_idempotent_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = EventLog::open(dir.path(), 1 << 20).unwrap();
        let first = log.append(&[envelope(1, 0, 10), envelope(1, 1, 10), envelope(1, 0, 10)], None, 0).unwrap();
        assert_eq!(first.appended, vec![1, 2]);
        assert_eq!(first.duplicates, 1, "a duplicate inside one batch");
        let second = log.append(&[envelope(1, 1, 10), envelope(2, 0, 11)], None, 0).unwrap();
        assert_eq!(second.appended, vec![3]);
        assert_eq!(second.duplicates, 1);
    }
    let log = EventLog::open(dir.path(), 1 << 20).unwrap();
    assert_eq!(log.last_seq(), 3);
    let records = read_all(&log);
    assert_eq!(records.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(), vec![1, 2, 3]);
    let LogRecord::Event(stored) = &records[2].1 else { panic!("event record") };
    assert_eq!(stored.to_envelope(3).unwrap(), EventEnvelope { seq: 3, ..envelope(2, 0, 11) });
    assert!(log.contains(&[2; 64], 0).unwrap());
    assert_eq!(log.append(&[envelope(3, 0, 12)], None, 0).unwrap().appended, vec![4]);
}

#[test]
fn a_log_of_the_earlier_format_is_refused_and_nothing_is_read() {
    let dir = tempfile::tempdir().unwrap();
    {
        // What the invented single-program model left: records, no format marker.
        let db = sled::Config::new().path(dir.path()).open().unwrap();
        let tree = db.open_tree("log").unwrap();
        tree.insert(record_key(1), vec![0u8, 1, 2, 3]).unwrap();
        db.flush().unwrap();
    }
    match EventLog::open(dir.path(), 1 << 20) {
        Err(err @ Error::IncompatibleLog(_)) => {
            assert!(err.to_string().contains("backfill into a new directory"), "{err}")
        }
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("an old log must be refused"),
    }
    let fresh = tempfile::tempdir().unwrap();
    drop(EventLog::open(fresh.path(), 1 << 20).unwrap());
    let log = EventLog::open(fresh.path(), 1 << 20).unwrap();
    assert_eq!(log.append(&[envelope(1, 0, 5)], None, 0).unwrap().appended, vec![1]);
}

#[test]
fn decoded_instructions_are_records_of_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let log = EventLog::open(dir.path(), 1 << 20).unwrap();
    let instruction = EventEnvelope {
        event_index: shared::dfpn::INSTRUCTION_INDEX_BASE,
        event: ChainEvent::Instruction(shared::dfpn::DfpnInstruction::IncrementUsage {
            authority: solana_pubkey::Pubkey::new_from_array([1; 32]),
            model: solana_pubkey::Pubkey::new_from_array([2; 32]),
        }),
        ..envelope(7, 0, 30)
    };
    let outcome = log.append(&[envelope(7, 0, 30), instruction.clone(), instruction.clone()], None, 0).unwrap();
    assert_eq!((outcome.appended, outcome.duplicates), (vec![1, 2], 1));
    let LogRecord::Event(stored) = log.record(2).unwrap().unwrap() else { panic!("event record") };
    assert_eq!(stored.kind, PayloadKind::Instruction);
    assert_eq!(stored.to_envelope(2).unwrap(), EventEnvelope { seq: 2, ..instruction.clone() });
    let only_instruction = EventEnvelope { signature: bs58::encode([9u8; 64]).into_string(), ..instruction };
    log.append(&[only_instruction], None, 0).unwrap();
    assert!(!log.contains(&[9; 64], 0).unwrap() && log.contains_transaction(&[9; 64]).unwrap());
    assert!(!log.contains_transaction(&[8; 64]).unwrap());
}

#[test]
fn cursors_move_atomically_with_their_events() {
    let dir = tempfile::tempdir().unwrap();
    let log = EventLog::open(dir.path(), 1 << 20).unwrap();
    assert_eq!(log.cursor(ProgramKind::Psy).unwrap(), None);
    let cursor = Cursor { signature: [9; 64], slot: 44 };
    log.append(&[envelope(9, 0, 44)], Some((ProgramKind::Psy, &cursor)), 100).unwrap();
    assert_eq!(log.cursor(ProgramKind::Psy).unwrap(), Some(cursor));
    assert_eq!(log.cursor(ProgramKind::ModelRegistry).unwrap(), None);
}

#[test]
fn events_above_the_finalized_slot_stay_pending_until_confirmed_or_retracted() {
    let dir = tempfile::tempdir().unwrap();
    let log = EventLog::open(dir.path(), 1 << 20).unwrap();
    log.append(&[envelope(1, 0, 5), envelope(2, 0, 50), envelope(3, 0, 60)], None, 10).unwrap();
    assert_eq!(log.pending(u64::MAX).unwrap().len(), 2);
    assert_eq!(log.pending(55).unwrap(), vec![([2; 64], 50)]);
    log.confirm_final(&[[2; 64]]).unwrap();
    let seq = log.retract([3; 64], 60).unwrap();
    assert_eq!(seq, 4);
    assert!(log.pending(u64::MAX).unwrap().is_empty());
    assert_eq!(read_all(&log)[3].1, LogRecord::Retraction { signature: [3; 64], slot: 60 });
}

#[test]
fn a_retracted_transaction_that_reappears_is_appended_again() {
    let dir = tempfile::tempdir().unwrap();
    let log = EventLog::open(dir.path(), 1 << 20).unwrap();
    log.append(&[envelope(3, 0, 60), envelope(3, 1, 60), envelope(4, 0, 61)], None, 10).unwrap();
    assert_eq!(log.retract([3; 64], 60).unwrap(), 4);
    assert_eq!(log.retracted_seqs(&[3; 64]).unwrap(), vec![1, 2]);
    assert!(log.is_retracted(&[3; 64], 2).unwrap() && !log.is_retracted(&[4; 64], 3).unwrap());
    assert!(!log.contains_transaction(&[3; 64]).unwrap(), "its records left the idempotency index");
    let again = log.append(&[envelope(3, 0, 60), envelope(3, 1, 60), envelope(4, 0, 61)], None, 10).unwrap();
    assert_eq!((again.appended, again.duplicates), (vec![5, 6], 1), "restored as new records");
    assert!(!log.is_retracted(&[3; 64], 5).unwrap());
    assert_eq!(log.pending(u64::MAX).unwrap().len(), 2, "pending again, with the other transaction");
}

#[test]
fn a_failed_flush_stops_every_later_write_and_no_seq_is_handed_out_twice() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = EventLog::open(dir.path(), 1 << 20).unwrap();
        log.append(&[envelope(1, 0, 5)], None, 0).unwrap();
        log.fail_next_flush.store(true, Ordering::SeqCst);
        let failed = log.append(&[envelope(2, 0, 6)], None, 0).unwrap_err();
        assert!(matches!(failed, Error::LogFailed(_)) && failed.is_fatal(), "{failed}");
        for later in [
            log.append(&[envelope(3, 0, 7)], None, 0).map(|_| ()),
            log.retract([1; 64], 5).map(|_| ()),
            log.append_telemetry(&Telemetry {
                observed_at: 1,
                slot: 1,
                block_height: 1,
                sample_slot: 1,
                num_transactions: 1,
                num_slots: 1,
                sample_period_secs: 60,
            })
            .map(|_| ()),
            log.set_aside([5; 64], 9),
        ] {
            assert!(matches!(later, Err(Error::LogFailed(_))), "{later:?}");
        }
    }
    let log = EventLog::open(dir.path(), 1 << 20).unwrap();
    let seqs: Vec<u64> = read_all(&log).iter().map(|(seq, _)| *seq).collect();
    assert_eq!(seqs, (1..=log.last_seq()).collect::<Vec<_>>(), "gap-free after the restart");
    let next = log.append(&[envelope(3, 0, 7)], None, 0).unwrap().appended;
    assert_eq!(next, vec![log.last_seq()]);
    assert!(next[0] > 1, "the seq of the failed write's batch is not handed out again");
}

#[test]
fn a_log_of_the_previous_format_is_migrated_retractions_included() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = EventLog::open(dir.path(), 1 << 20).unwrap();
        log.append(&[envelope(3, 0, 60), envelope(4, 0, 61)], None, 10).unwrap();
        // A format-2 retraction: the record, with the idempotency entries left in place.
        let mut batch = sled::Batch::default();
        batch.insert(&record_key(3)[..], LogRecord::Retraction { signature: [3; 64], slot: 60 }.encode().unwrap());
        batch.insert(&[FORMAT][..], &2u32.to_be_bytes()[..]);
        log.tree.apply_batch(batch).unwrap();
        log.db.flush().unwrap();
    }
    let log = EventLog::open(dir.path(), 1 << 20).unwrap();
    assert_eq!(log.tree.get([FORMAT]).unwrap().unwrap().as_ref(), LOG_FORMAT.to_be_bytes());
    assert_eq!(log.retracted_seqs(&[3; 64]).unwrap(), vec![1]);
    assert!(!log.contains_transaction(&[3; 64]).unwrap() && log.contains_transaction(&[4; 64]).unwrap());
    assert_eq!(log.append(&[envelope(3, 0, 60)], None, 10).unwrap().appended, vec![4]);
}

#[test]
fn a_format_3_log_keeps_its_invented_psy_records_and_reads_them_as_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let invented = |seq: u64, signature: u8| StoredEvent {
        slot: 70,
        signature: [signature; 64],
        tx_index: Some(0),
        event_index: 0,
        block_time: Some(1),
        source: EventSource::Chain,
        program: ProgramKind::Psy,
        kind: shared::event::PayloadKind::Event,
        payload: vec![seq as u8; 12],
    };
    {
        let log = EventLog::open(dir.path(), 1 << 20).unwrap();
        log.append(&[envelope(5, 0, 60)], None, 100).unwrap();
        let mut batch = sled::Batch::default();
        batch.insert(&record_key(2)[..], LogRecord::Event(invented(2, 6)).encode().unwrap());
        batch.insert(&[FORMAT][..], &3u32.to_be_bytes()[..]);
        log.tree.apply_batch(batch).unwrap();
        log.db.flush().unwrap();
    }
    let log = EventLog::open(dir.path(), 1 << 20).unwrap();
    assert_eq!(log.tree.get([FORMAT]).unwrap().unwrap().as_ref(), LOG_FORMAT.to_be_bytes());
    assert_eq!(log.legacy_psy_upto, 2);
    let Some(LogRecord::Event(kept)) = log.record(2).unwrap() else { panic!("the record is kept") };
    assert!(log.decode_event(&kept, 2).unwrap().is_none());
    let Some(LogRecord::Event(chain)) = log.record(1).unwrap() else { panic!("seq 1 is an event") };
    assert!(log.decode_event(&chain, 1).unwrap().is_some());
    // Past the boundary an undecodable Psy record is corruption, as before.
    assert!(matches!(log.decode_event(&invented(3, 7), 3), Err(Error::Corrupt(_))));
    drop(log);
    let reopened = EventLog::open(dir.path(), 1 << 20).unwrap();
    assert_eq!(reopened.legacy_psy_upto, 2, "the boundary is kept, not moved by a later open");
}

#[test]
fn off_chain_writes_are_stored_once_under_their_key() {
    use shared::control::{registration_key, UserRegistration};
    let dir = tempfile::tempdir().unwrap();
    let log = EventLog::open(dir.path(), 1 << 20).unwrap();
    log.append(&[envelope(1, 0, 5)], None, 0).unwrap();
    let registration = |label: &str| {
        ApiEvent::UserRegistered(UserRegistration {
            public_key: [7; 32],
            twitter_handle: "@x".into(),
            label: label.into(),
            registered_at: 1,
        })
    };
    let key = registration_key(&[7; 32]);
    let first = log.append_api(&key, &[registration("a"), registration("b")]).unwrap();
    assert_eq!(first, shared::control::WriteOutcome { created: true, seqs: vec![2, 3] });
    let again = log.append_api(&key, &[registration("c")]).unwrap();
    assert_eq!(again, shared::control::WriteOutcome { created: false, seqs: vec![2, 3] });
    assert_eq!(log.last_seq(), 3);
    assert_eq!(log.record(3).unwrap(), Some(LogRecord::Api(registration("b"))));
    assert_eq!(log.append(&[envelope(2, 0, 6)], None, 0).unwrap().appended, vec![4]);
}

#[test]
fn a_held_data_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let _held = EventLog::open(dir.path(), 1 << 20).unwrap();
    match EventLog::open(dir.path(), 1 << 20) {
        Err(Error::DataDirLocked(path)) => assert_eq!(path, dir.path()),
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("a second open must fail"),
    }
}
