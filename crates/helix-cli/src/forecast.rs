//! Recurring failure windows read from a Gene Map's event log: printed by
//! `helix predict`, and loaded as the engine's forecast by `helix serve
//! --forecast-weeks` (refreshed hourly) and `helix pay --forecast-weeks`.
//!
//! The event log holds failures, not the calls that succeeded, so every
//! hour is taken to carry the same traffic (a stated assumption: a busy
//! hour's failures look like a window).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use helix_core::{EventKind, Platform};
use helix_predict::{Counts, Detector, Key, LiveForecast, Window, WindowForecast};

use crate::events;

/// Calls assumed per hour when only failures are known: large enough that
/// the binomial test is the Poisson test on counts.
const ASSUMED_CALLS: u64 = 1_000_000;
/// Events read at most (newest first).
const MAX_EVENTS: usize = 2_000_000;
/// How often a running server reads the log again.
pub(crate) const REFRESH: Duration = Duration::from_secs(3_600);

/// Hourly failure counts per (service, failure) over the last weeks.
pub(crate) struct Seen {
    /// The first hour counted (unix hours).
    pub start: i64,
    pub failures: BTreeMap<Key, Vec<u64>>,
    /// The platform each service's failures were perceived on (the last seen).
    pub platforms: BTreeMap<String, Platform>,
}

impl Seen {
    /// The recurring windows in these counts.
    pub fn windows(&self) -> Vec<Window> {
        let d = Detector::default();
        self.failures
            .iter()
            .flat_map(|(k, f)| {
                let c = Counts {
                    start_hour: self.start,
                    calls: vec![ASSUMED_CALLS; f.len()],
                    failures: f.clone(),
                };
                d.windows(k, &c)
            })
            .collect()
    }

    /// The windows as a forecast, each failure expected from the platform
    /// its service's failures came from.
    pub fn forecast(&self) -> WindowForecast {
        let platform_of = |k: &Key| {
            self.platforms
                .get(&k.service)
                .copied()
                .unwrap_or(Platform::Other)
        };
        WindowForecast::with_platforms(&self.windows(), &platform_of)
    }
}

/// Counts the `perceived` events of the last `weeks` weeks of `db`'s log,
/// by the service the request went to (the platform, for events logged
/// before services were).
pub(crate) fn read(db: &str, weeks: u32) -> Result<(Seen, tokio::runtime::Runtime), String> {
    if weeks == 0 {
        return Err("--weeks must be at least 1".into());
    }
    let (log, rt) = events::open(db)?;
    let now_hour = helix_core::gene::now_ms() / 3_600_000;
    let hours = i64::from(weeks) * helix_predict::HOURS_PER_WEEK as i64;
    let start = now_hour - hours + 1;
    let mut seen = Seen {
        start,
        failures: BTreeMap::new(),
        platforms: BTreeMap::new(),
    };
    let (mut before, mut read) = (None, 0usize);
    'pages: loop {
        let page = log.page(&rt, before, 1_000)?;
        for e in &page.events {
            let hour = e.at / 3_600_000;
            if hour < start {
                break 'pages;
            }
            if let EventKind::Perceived { failure, service } = &e.kind {
                let service = service
                    .clone()
                    .unwrap_or_else(|| failure.platform.as_str().to_owned());
                seen.platforms
                    .entry(service.clone())
                    .or_insert(failure.platform);
                let key = Key {
                    service,
                    code: failure.key().to_string(),
                };
                let slot = seen
                    .failures
                    .entry(key)
                    .or_insert_with(|| vec![0; hours as usize]);
                if let Some(n) = slot.get_mut((hour - start) as usize) {
                    *n += 1;
                }
            }
        }
        read += page.events.len();
        match page.next {
            Some(n) if read < MAX_EVENTS => before = Some(n),
            _ => break,
        }
    }
    Ok((seen, rt))
}

/// The windows of the last `weeks` weeks of `db`'s log, as a forecast that
/// a thread of its own reads again every `every`. Errors of a later read
/// are logged and the last windows kept.
pub(crate) fn live(db: &str, weeks: u32, every: Duration) -> Result<Arc<LiveForecast>, String> {
    let (seen, _) = read(db, weeks).map_err(|e| format!("--forecast-weeks: {e}"))?;
    let first = seen.forecast();
    tracing::info!(windows = first.len(), "forecast loaded from the event log");
    eprintln!(
        "helix: forecast on: {} recurring window(s) in the last {weeks} week(s), read again every {} s",
        first.len(),
        every.as_secs()
    );
    let live = Arc::new(LiveForecast::new(first));
    let (weak, db) = (Arc::downgrade(&live), db.to_owned());
    std::thread::Builder::new()
        .name("helix-forecast".into())
        .spawn(move || {
            loop {
                std::thread::sleep(every);
                // The server is gone when nothing holds the forecast.
                let Some(live) = weak.upgrade() else { return };
                match read(&db, weeks) {
                    Ok((seen, _)) => {
                        let next = seen.forecast();
                        tracing::info!(windows = next.len(), "forecast read again");
                        live.replace(next);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "forecast not refreshed; the last windows stay")
                    }
                }
            }
        })
        .map_err(|e| format!("forecast thread: {e}"))?;
    Ok(live)
}
