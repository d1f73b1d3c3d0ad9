//! The event log in the Gene Map file: events read back in order, rows can
//! be neither changed nor removed, and an unreadable row is reported.

use helix_core::{Event, EventKind, EventSink, FailureCode, GeneKey};
use helix_genemap::SqliteEventLog;

fn event(repair_id: u64, seq: u32) -> Event {
    Event {
        repair_id,
        seq,
        at: 1_000 + i64::from(seq),
        kind: EventKind::GeneMiss {
            key: GeneKey {
                code: FailureCode::RateLimited,
                category: helix_core::Category::Throttle,
            },
        },
    }
}

#[test]
fn events_are_appended_in_order_and_never_changed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("genes.db");
    let log = SqliteEventLog::open(&path).unwrap();
    for seq in [0, 2, 1] {
        log.emit(&event(u64::MAX - 1, seq));
    }
    log.emit(&event(7, 0));
    let (events, bad) = log.events(u64::MAX - 1).unwrap();
    assert!(bad.is_empty());
    assert_eq!(
        events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
    assert_eq!(
        events[0],
        event(u64::MAX - 1, 0),
        "ids above i64::MAX survive"
    );
    assert_eq!(log.repairs(10).unwrap().len(), 2);

    let conn = rusqlite::Connection::open(&path).unwrap();
    for sql in ["UPDATE events SET seq = 9", "DELETE FROM events"] {
        let e = conn.execute(sql, []).unwrap_err().to_string();
        assert!(e.contains("append-only"), "{sql}: {e}");
    }
    conn.execute(
        "INSERT INTO events (repair_id, seq, at, stage, kind, payload) VALUES (7, 1, 0, 'x', 'x', '{not json')",
        [],
    )
    .unwrap();
    let (events, bad) = log.events(7).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(bad.len(), 1, "the unreadable row is reported");
}

#[test]
fn the_log_pages_back_newest_first_to_its_start() {
    let dir = tempfile::tempdir().unwrap();
    let log = SqliteEventLog::open(dir.path().join("genes.db")).unwrap();
    for seq in 0..5 {
        log.emit(&event(3, seq));
    }
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = log.page(before, 2).unwrap();
        assert!(page.bad.is_empty());
        assert!(page.events.len() <= 2);
        seen.extend(page.events.iter().map(|e| e.seq));
        match page.next {
            Some(n) => before = Some(n),
            None => break,
        }
    }
    assert_eq!(seen, [4, 3, 2, 1, 0], "newest first, each once");
    assert!(
        log.page(None, 10).unwrap().next.is_none(),
        "one page holds all"
    );
}
