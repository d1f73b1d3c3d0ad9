//! The windows found, as the engine's [`Forecast`]: a request whose
//! service has a window at this hour of the week expects that failure.

use std::str::FromStr;
use std::sync::RwLock;

use helix_core::{Category, FailureCode, Forecast, GeneKey, PaymentView, Platform};

use crate::detect::{Key, Window, hour_of_week};

/// Names the service a request goes to ([`PaymentView::service`], its
/// endpoint's origin, by default: the name the engine logs failures under).
pub type ServiceOf = fn(&PaymentView) -> Option<String>;

/// Windows an agent loaded ahead (`helix predict`), answered in memory.
#[derive(Debug, Clone)]
pub struct WindowForecast {
    entries: Vec<(String, usize, GeneKey, Platform)>,
    service_of: ServiceOf,
}

impl WindowForecast {
    /// From `windows`, matching a request by its service; a window whose
    /// failure is not a known `code/category` is skipped. The platform is
    /// read from the service's name (`Other` for a URL).
    pub fn new(windows: &[Window]) -> Self {
        Self::with_service(windows, PaymentView::service)
    }

    /// From `windows`, each failure expected from the platform
    /// `platform_of` names for its key (the platform its failures were
    /// perceived on).
    pub fn with_platforms(windows: &[Window], platform_of: &dyn Fn(&Key) -> Platform) -> Self {
        let mut f = Self::new(windows);
        for (e, w) in f
            .entries
            .iter_mut()
            .zip(windows.iter().filter(|w| known(w).is_some()))
        {
            e.3 = platform_of(&w.key);
        }
        f
    }

    /// From `windows`, matching a request by `service_of`.
    pub fn with_service(windows: &[Window], service_of: ServiceOf) -> Self {
        let entries = windows
            .iter()
            .filter_map(|w| {
                let key = known(w)?;
                let platform = Platform::from_str(&w.key.service).unwrap_or(Platform::Other);
                Some((w.key.service.clone(), w.hour_of_week, key, platform))
            })
            .collect();
        WindowForecast {
            entries,
            service_of,
        }
    }

    /// Windows held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

fn known(w: &Window) -> Option<GeneKey> {
    let (code, category) = w.key.code.split_once('/')?;
    Some(GeneKey {
        code: FailureCode::from_str(code).ok()?,
        category: Category::from_str(category).ok()?,
    })
}

/// A forecast whose windows are replaced while the agent runs (`helix
/// serve --forecast-weeks` refreshes them hourly from the event log).
#[derive(Debug)]
pub struct LiveForecast {
    now: RwLock<WindowForecast>,
}

impl LiveForecast {
    /// Starting with `first`.
    pub fn new(first: WindowForecast) -> Self {
        LiveForecast {
            now: RwLock::new(first),
        }
    }

    /// Answers from `next` from now on.
    pub fn replace(&self, next: WindowForecast) {
        // A poisoned lock only means a reader panicked; the windows are whole.
        *self.now.write().unwrap_or_else(|p| p.into_inner()) = next;
    }

    /// Windows held now.
    pub fn len(&self) -> usize {
        self.now.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether it holds none now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Forecast for LiveForecast {
    fn expected(&self, request: &PaymentView, now_ms: i64) -> Option<(GeneKey, Platform)> {
        self.now
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .expected(request, now_ms)
    }
}

impl Forecast for WindowForecast {
    fn expected(&self, request: &PaymentView, now_ms: i64) -> Option<(GeneKey, Platform)> {
        let service = (self.service_of)(request)?;
        let slot = hour_of_week(now_ms.div_euclid(3_600_000));
        self.entries
            .iter()
            .find(|(s, h, _, _)| *s == service && *h == slot)
            .map(|(_, _, k, p)| (*k, *p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Key;

    fn window(service: &str, code: &str, slot: usize) -> Window {
        Window {
            key: Key {
                service: service.into(),
                code: code.into(),
            },
            hour_of_week: slot,
            label: String::new(),
            rate: 0.5,
            baseline: 0.02,
            p_value: 1e-9,
            weeks_elevated: 4,
            weeks: 4,
        }
    }

    #[test]
    fn a_request_to_the_service_in_its_hour_expects_the_failure() {
        let f = WindowForecast::new(&[
            window("https://a.example", "server-error/service", 0),
            window("https://a.example", "not-a-code/at-all", 1),
        ]);
        assert_eq!(f.len(), 1, "an unknown failure is skipped");
        let to = |e: &str| PaymentView {
            endpoint: Some(e.into()),
            ..Default::default()
        };
        // Unix ms of Monday 1970-01-05 00:30 UTC: hour of week 0.
        let monday = 96 * 3_600_000 + 1_800_000;
        let (key, _) = f.expected(&to("https://A.example/v1/pay"), monday).unwrap();
        assert_eq!(key.to_string(), "server-error/service");
        assert!(f.expected(&to("https://b.example"), monday).is_none());
        assert!(
            f.expected(&to("https://a.example"), monday + 3_600_000)
                .is_none()
        );
        assert!(f.expected(&PaymentView::default(), monday).is_none());
    }

    #[test]
    fn a_live_forecast_answers_from_the_windows_it_was_last_given() {
        let live = LiveForecast::new(WindowForecast::new(&[]));
        let to = PaymentView {
            endpoint: Some("https://a.example/pay".into()),
            ..Default::default()
        };
        let monday = 96 * 3_600_000 + 1_800_000;
        assert!(live.expected(&to, monday).is_none());
        let w = [window("https://a.example", "rate-limited/throttle", 0)];
        live.replace(WindowForecast::with_platforms(&w, &|_| Platform::Http));
        assert_eq!(live.len(), 1);
        let (key, platform) = live.expected(&to, monday).unwrap();
        assert_eq!(key.to_string(), "rate-limited/throttle");
        assert_eq!(platform, Platform::Http);
    }
}
