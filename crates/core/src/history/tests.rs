//! The change log's tests: the chain, the seal, tampering, appends and queries.

use super::*;

fn key() -> HistoryKey {
    HistoryKey::new([7; 32])
}

fn temp(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("pc-history-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn change(device: &str, n: i64) -> Change {
    Change {
        operator: "tester".into(),
        device: device.into(),
        site: Some("hq".into()),
        control: Some("HIK-12".into()),
        setting: Setting::ServiceTelnetEnabled,
        before: Some(Value::Bool(true)),
        after: Some(Value::Int(n)),
        outcome: Outcome::Verified,
        vault_entry: None,
    }
}

#[test]
fn the_chain_verifies_and_survives_reopening() {
    let dir = temp("ok");
    {
        let h = History::open(&dir, key()).unwrap();
        for i in 0..5 {
            h.append(change("127.1.0.1:80", i), &format!("2026-11-28T10:00:0{i}Z")).unwrap();
        }
    }
    let h = History::open(&dir, key()).unwrap();
    let v = h.verify().unwrap();
    assert_eq!((v.records, v.first_bad.clone()), (5, None));
    assert_eq!(v.head, h.all().unwrap().last().unwrap().hash);
    let f = Filter { since: Some("2026-11-28T10:00:03Z".into()), ..Default::default() };
    assert_eq!(h.query(&f).unwrap().len(), 2);
    assert_eq!(h.query(&Filter { device: Some("other".into()), ..Default::default() }).unwrap().len(), 0);
}

/// Devices append at once; flushes are shared. Every record is there after reopening,
/// numbered without a gap, and the chain verifies.
#[test]
fn concurrent_appends_chain_and_all_reach_the_disk() {
    let dir = temp("concurrent");
    {
        let h = std::sync::Arc::new(History::open(&dir, key()).unwrap());
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let h = h.clone();
                std::thread::spawn(move || {
                    for i in 0..25 {
                        h.append(change(&format!("127.1.0.{t}:80"), i), "2026-11-28T10:00:00Z").unwrap();
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
    }
    let h = History::open(&dir, key()).unwrap();
    let all = h.all().unwrap();
    assert_eq!(all.iter().map(|r| r.seq).collect::<Vec<_>>(), (1..=200).collect::<Vec<_>>());
    assert_eq!(h.verify().unwrap().first_bad, None);
}

#[test]
fn tampering_is_found_at_the_first_bad_record() {
    let dir = temp("tamper");
    let h = History::open(&dir, key()).unwrap();
    for i in 0..5 {
        h.append(change("127.1.0.1:80", i), "2026-11-28T10:00:00Z").unwrap();
    }
    // Alter record 3's "after" value behind the API's back.
    let mut r3: Record = serde_json::from_slice(&h.tree.get(3u64.to_be_bytes()).unwrap().unwrap()).unwrap();
    r3.change.after = Some(Value::Int(999));
    h.tree.insert(3u64.to_be_bytes(), serde_json::to_vec(&r3).unwrap()).unwrap();
    let v = h.verify().unwrap();
    assert_eq!(v.first_bad.as_ref().map(|b| b.0), Some(3), "{v:?}");
    assert!(v.first_bad.unwrap().1.contains("altered"));
    // Re-hashing the altered record does not help: its seal no longer fits.
    r3.hash = r3.compute_hash();
    h.tree.insert(3u64.to_be_bytes(), serde_json::to_vec(&r3).unwrap()).unwrap();
    assert_eq!(h.verify().unwrap().first_bad.map(|b| b.0), Some(3));
    // Removing a record breaks the sequence.
    h.tree.remove(2u64.to_be_bytes()).unwrap();
    assert_eq!(h.verify().unwrap().first_bad.map(|b| b.0), Some(3));
}

/// Someone with the files but not the key edits a record and re-hashes the chain to
/// the end: every hash fits, and verify still fails at the edited record.
#[test]
fn an_edit_rehashed_to_the_end_without_the_key_fails() {
    let dir = temp("rehash");
    let h = History::open(&dir, key()).unwrap();
    for i in 0..5 {
        h.append(change("127.1.0.1:80", i), "2026-11-28T10:00:00Z").unwrap();
    }
    let mut records = h.all().unwrap();
    records[2].change.outcome = Outcome::Failed { reason: "never happened".into() };
    let mut prev = records[1].hash.clone();
    for r in records.iter_mut().skip(2) {
        r.prev_hash = prev.clone();
        r.hash = r.compute_hash();
        prev = r.hash.clone();
        h.tree.insert(r.seq.to_be_bytes(), serde_json::to_vec(&r).unwrap()).unwrap();
    }
    let v = h.verify().unwrap();
    assert_eq!(v.first_bad.as_ref().map(|b| b.0), Some(3), "{v:?}");
    assert!(v.first_bad.unwrap().1.contains("history key"));
    // With another key, the untouched history does not verify either.
    drop(h);
    let other = History::open(&dir, HistoryKey::new([8; 32])).unwrap();
    assert_eq!(other.verify().unwrap().first_bad.map(|b| b.0), Some(1));
}

/// Cutting records from the end leaves a chain that fits; the seal does not.
#[test]
fn a_cut_tail_fails_against_the_seal() {
    let dir = temp("cut");
    let h = History::open(&dir, key()).unwrap();
    for i in 0..5 {
        h.append(change("127.1.0.1:80", i), "2026-11-28T10:00:00Z").unwrap();
    }
    assert_eq!(h.verify().unwrap().records, 5);
    h.tree.remove(5u64.to_be_bytes()).unwrap();
    h.tree.remove(4u64.to_be_bytes()).unwrap();
    let v = h.verify().unwrap();
    assert_eq!(v.records, 3);
    let (at, why) = v.first_bad.unwrap();
    assert_eq!(at, 4);
    assert!(why.contains("sealed at 5 records but holds 3"), "{why}");
    // Removing the seal as well is no way out.
    h.meta.remove(SEAL).unwrap();
    assert!(h.verify().unwrap().first_bad.unwrap().1.contains("seal is missing"));
}
