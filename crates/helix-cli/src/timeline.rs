//! One line per repair for `helix events`: when (local time), what failed,
//! which repair, how it ended, how long it took.

use helix_core::{Event, EventKind};
use serde::Serialize;

/// A repair as a person reads it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RepairLine {
    /// The run's id (`helix events --repair ID` shows its events).
    pub repair_id: u64,
    /// Unix ms of its first event.
    pub started_at: i64,
    /// `code/category`, when it was perceived.
    pub failure: Option<String>,
    /// The last repair committed.
    pub strategy: Option<String>,
    /// verified, retry failed, gave up, pre-empted (a forecast's repair ran
    /// before the call), or running (no end logged).
    pub result: &'static str,
    /// A gene chose the repair (immunity).
    pub immune: bool,
    /// First to last event, ms.
    pub ms: i64,
}

/// Reads one run's events (in order).
pub fn summarize(repair_id: u64, events: &[Event]) -> RepairLine {
    let mut line = RepairLine {
        repair_id,
        started_at: events.first().map_or(0, |e| e.at),
        failure: None,
        strategy: None,
        result: "running",
        immune: false,
        ms: match (events.first(), events.last()) {
            (Some(a), Some(b)) => b.at - a.at,
            _ => 0,
        },
    };
    for e in events {
        match &e.kind {
            EventKind::Perceived { failure, .. } if line.failure.is_none() => {
                line.failure = Some(failure.key().to_string())
            }
            EventKind::Predicted { key } if line.failure.is_none() => {
                line.failure = Some(key.to_string());
                line.result = "pre-empted";
            }
            EventKind::GeneHit { .. } => line.immune = true,
            EventKind::Committed { strategy, .. } => line.strategy = Some(strategy.to_string()),
            EventKind::Verified { .. } => line.result = "verified",
            EventKind::VerifyFailed { .. } => line.result = "retry failed",
            EventKind::GaveUp { .. } => line.result = "gave up",
            _ => {}
        }
    }
    line
}

/// `30s`, `15m`, `2h`, `7d`, `1w` as milliseconds.
pub fn parse_since(s: &str) -> Result<i64, String> {
    let bad = || format!("--since {s:?}: a number and a unit (s, m, h, d, w), e.g. 2h");
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, unit) = s.split_at(split);
    let n: i64 = n.parse().map_err(|_| bad())?;
    let unit_ms = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 604_800_000,
        _ => return Err(bad()),
    };
    n.checked_mul(unit_ms).ok_or_else(bad)
}

/// Whether `line` is about `failure` (`code`, or `code/category`).
pub fn is_about(line: &RepairLine, failure: &str) -> bool {
    line.failure
        .as_deref()
        .is_some_and(|f| f == failure || f.split('/').next() == Some(failure))
}

/// Unix ms as local time (the system's zone; UTC when it is unknown).
pub fn local(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(t) => t
            .to_zoned(jiff::tz::TimeZone::system())
            .strftime("%Y-%m-%d %H:%M:%S %Z")
            .to_string(),
        Err(_) => format!("{ms} ms"),
    }
}

/// The table `helix events` prints, newest first as given.
pub fn table(lines: &[RepairLine]) -> String {
    let mut out = format!(
        "{:<23}  {:<36}  {:<22}  {:<20}  {:>8}  {}\n",
        "started", "failure", "repair", "result", "took", "id"
    );
    for l in lines {
        let result = if l.immune && l.result == "verified" {
            "verified (immune)"
        } else {
            l.result
        };
        out.push_str(&format!(
            "{:<23}  {:<36}  {:<22}  {:<20}  {:>8}  {}\n",
            local(l.started_at),
            l.failure.as_deref().unwrap_or("-"),
            l.strategy.as_deref().unwrap_or("-"),
            result,
            duration(l.ms),
            l.repair_id
        ));
    }
    out
}

fn duration(ms: i64) -> String {
    if ms < 1_000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1_000.0)
    } else {
        format!("{:.1} min", ms as f64 / 60_000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pre_emptive_run_reads_as_such() {
        let key = helix_core::GeneKey {
            code: helix_core::FailureCode::VerificationFailed,
            category: helix_core::Category::Signature,
        };
        let ev = |seq: u32, at: i64, kind: EventKind| Event {
            repair_id: 5,
            seq,
            at,
            kind,
        };
        let line = summarize(
            5,
            &[
                ev(0, 1_000, EventKind::Predicted { key }),
                ev(
                    1,
                    1_030,
                    EventKind::Committed {
                        strategy: helix_core::StrategyId::RefreshNonce,
                        patches: vec![],
                        ms: 3,
                        cost: 0,
                        tx_hashes: vec![],
                    },
                ),
            ],
        );
        assert_eq!(
            line.failure.as_deref(),
            Some("verification-failed/signature")
        );
        assert_eq!(line.result, "pre-empted");
        assert_eq!(line.strategy.as_deref(), Some("refresh_nonce"));
        assert_eq!(line.ms, 30);
    }

    #[test]
    fn since_reads_units_and_refuses_the_rest() {
        assert_eq!(parse_since("2h"), Ok(7_200_000));
        assert_eq!(parse_since("15m"), Ok(900_000));
        assert_eq!(parse_since("1w"), Ok(604_800_000));
        for bad in ["", "h", "2", "2y", "-1h", "99999999999999999999d"] {
            assert!(parse_since(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_carry_units() {
        assert_eq!(duration(250), "250 ms");
        assert_eq!(duration(1_500), "1.5 s");
        assert_eq!(duration(90_000), "1.5 min");
    }

    #[test]
    fn a_failure_filter_matches_the_code_or_the_key() {
        let l = RepairLine {
            repair_id: 1,
            started_at: 0,
            failure: Some("rate-limited/throttle".into()),
            strategy: None,
            result: "verified",
            immune: false,
            ms: 0,
        };
        assert!(is_about(&l, "rate-limited"));
        assert!(is_about(&l, "rate-limited/throttle"));
        assert!(!is_about(&l, "rate"));
    }
}
