//! The windows found, as the engine's [`Forecast`]: a request whose
//! service has a window at this hour of the week expects that failure.

use std::str::FromStr;

use helix_core::{Category, FailureCode, Forecast, GeneKey, PaymentView, Platform};

use crate::detect::{Window, hour_of_week};

/// Names the service a request goes to (its endpoint, by default).
pub type ServiceOf = fn(&PaymentView) -> Option<String>;

/// Windows an agent loaded ahead (`helix predict`), answered in memory.
#[derive(Debug, Clone)]
pub struct WindowForecast {
    entries: Vec<(String, usize, GeneKey, Platform)>,
    service_of: ServiceOf,
}

fn endpoint(v: &PaymentView) -> Option<String> {
    v.endpoint.clone()
}

impl WindowForecast {
    /// From `windows`, matching a request by its endpoint; a window whose
    /// failure is not a known `code/category` is skipped.
    pub fn new(windows: &[Window]) -> Self {
        Self::with_service(windows, endpoint)
    }

    /// From `windows`, matching a request by `service_of`.
    pub fn with_service(windows: &[Window], service_of: ServiceOf) -> Self {
        let entries = windows
            .iter()
            .filter_map(|w| {
                let (code, category) = w.key.code.split_once('/')?;
                let key = GeneKey {
                    code: FailureCode::from_str(code).ok()?,
                    category: Category::from_str(category).ok()?,
                };
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
        let (key, _) = f.expected(&to("https://a.example"), monday).unwrap();
        assert_eq!(key.to_string(), "server-error/service");
        assert!(f.expected(&to("https://b.example"), monday).is_none());
        assert!(
            f.expected(&to("https://a.example"), monday + 3_600_000)
                .is_none()
        );
        assert!(f.expected(&PaymentView::default(), monday).is_none());
    }
}
