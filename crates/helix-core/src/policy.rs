//! What the engine may do: mode, attempt bound, cost ceiling, budget.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::taxonomy::Mode;

/// Limits for one [`crate::Helix`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    /// Observe, auto or full. Default: auto.
    pub mode: Mode,
    /// Repairs committed per run at most (each followed by one retried call).
    pub max_repairs: u32,
    /// A gene below this q is not used for immunity.
    pub min_gene_q: f64,
    /// No single repair may cost more, micro-USD.
    pub per_repair_ceiling: u64,
    /// An executor that takes longer is abandoned.
    #[serde(with = "millis")]
    pub commit_timeout: Duration,
    /// A gene store or budget that answers no faster is treated as down:
    /// the payment goes on without immunity (a budget that does not answer
    /// refuses).
    #[serde(with = "millis", default = "default_store_timeout")]
    pub store_timeout: Duration,
}

fn default_store_timeout() -> Duration {
    Duration::from_secs(2)
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            mode: Mode::Auto,
            max_repairs: 3,
            min_gene_q: 0.5,
            per_repair_ceiling: 5_000_000,
            commit_timeout: Duration::from_secs(30),
            store_timeout: default_store_timeout(),
        }
    }
}

/// The budget refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BudgetError {
    /// The reservation would pass the monthly cap.
    #[error(
        "monthly repair budget exceeded: {spent} spent + {reserved} reserved + {asked} asked > cap {cap} (micro-USD)"
    )]
    CapExceeded {
        /// Settled this month.
        spent: u64,
        /// Reserved and not yet settled.
        reserved: u64,
        /// This request.
        asked: u64,
        /// The cap.
        cap: u64,
    },
    /// The budget store failed; no money is spent without it.
    #[error("budget store unavailable: {0}")]
    Unavailable(String),
}

/// A held amount, to be settled with the actual cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    /// Store-assigned id.
    pub id: u64,
    /// Micro-USD held.
    pub amount: u64,
    /// Month it counts against, `YYYY-MM`.
    pub month: String,
}

/// A monthly repair budget. Reserve before acting, settle after; a
/// reservation is atomic against every other reservation sharing the store.
#[async_trait]
pub trait Budget: Send + Sync {
    /// Holds `amount` or refuses.
    async fn reserve(&self, amount: u64) -> Result<Reservation, BudgetError>;
    /// Holds `amount` for a repair that may move funds (`moves_funds`) or
    /// not; a store that outlives its process uses it to settle a hold its
    /// process never settled: in full when money may have moved, else at
    /// nothing.
    async fn reserve_for(
        &self,
        amount: u64,
        moves_funds: bool,
    ) -> Result<Reservation, BudgetError> {
        let _ = moves_funds;
        self.reserve(amount).await
    }
    /// Replaces the held amount with the actual cost.
    async fn settle(&self, reservation: Reservation, actual: u64) -> Result<(), BudgetError>;
    /// This month's cap, settled spend and open reservations.
    async fn status(&self) -> Result<BudgetStatus, BudgetError>;
}

/// Where a budget stands this month (micro-USD).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BudgetStatus {
    /// `YYYY-MM`, UTC.
    pub month: String,
    /// The monthly cap.
    pub cap: u64,
    /// Settled repair costs.
    pub spent: u64,
    /// Held by repairs in flight.
    pub reserved: u64,
}

/// A budget in process memory (single process only).
#[derive(Debug)]
pub struct MemoryBudget {
    cap: u64,
    state: Mutex<MonthState>,
}

#[derive(Debug, Default)]
struct MonthState {
    month: String,
    spent: u64,
    reserved: u64,
    next_id: u64,
}

impl MemoryBudget {
    /// A budget of `cap` micro-USD per calendar month (UTC).
    pub fn new(cap: u64) -> Self {
        MemoryBudget {
            cap,
            state: Mutex::new(MonthState::default()),
        }
    }

    /// Settled and reserved amounts this month.
    pub fn usage(&self) -> (u64, u64) {
        self.state
            .lock()
            .map(|s| (s.spent, s.reserved))
            .unwrap_or((0, 0))
    }
}

#[async_trait]
impl Budget for MemoryBudget {
    async fn status(&self) -> Result<BudgetStatus, BudgetError> {
        let s = self
            .state
            .lock()
            .map_err(|_| BudgetError::Unavailable("lock poisoned".into()))?;
        let month = current_month();
        let (spent, reserved) = if s.month == month {
            (s.spent, s.reserved)
        } else {
            (0, 0)
        };
        Ok(BudgetStatus {
            month,
            cap: self.cap,
            spent,
            reserved,
        })
    }

    async fn reserve(&self, amount: u64) -> Result<Reservation, BudgetError> {
        let mut s = self
            .state
            .lock()
            .map_err(|_| BudgetError::Unavailable("lock poisoned".into()))?;
        let month = current_month();
        s.roll(&month);
        let total = s.spent.saturating_add(s.reserved).saturating_add(amount);
        if total > self.cap {
            return Err(BudgetError::CapExceeded {
                spent: s.spent,
                reserved: s.reserved,
                asked: amount,
                cap: self.cap,
            });
        }
        s.reserved += amount;
        s.next_id += 1;
        Ok(Reservation {
            id: s.next_id,
            amount,
            month,
        })
    }

    async fn settle(&self, r: Reservation, actual: u64) -> Result<(), BudgetError> {
        let mut s = self
            .state
            .lock()
            .map_err(|_| BudgetError::Unavailable("lock poisoned".into()))?;
        s.roll(&current_month());
        if s.month == r.month {
            s.reserved = s.reserved.saturating_sub(r.amount);
        }
        // Held last month, settled this one: its hold went with the old
        // month, its spending counts in this one rather than nowhere.
        s.spent = s.spent.saturating_add(actual);
        Ok(())
    }
}

impl MonthState {
    fn roll(&mut self, month: &str) {
        if self.month != month {
            self.month = month.to_owned();
            self.spent = 0;
            self.reserved = 0;
        }
    }
}

/// `YYYY-MM` of the current UTC month.
pub fn current_month() -> String {
    let days = crate::gene::now_ms().div_euclid(86_400_000);
    let (y, m) = civil_from_days(days);
    format!("{y:04}-{m:02}")
}

/// Year and month of a day count since 1970-01-01 (Howard Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m)
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis().min(u64::MAX as u128) as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_months_are_utc_civil_months() {
        assert_eq!(civil_from_days(0), (1970, 1));
        assert_eq!(civil_from_days(31), (1970, 2));
        // 2024-02-29 is day 19782; 2024-03-01 is 19783.
        assert_eq!(civil_from_days(19_782), (2024, 2));
        assert_eq!(civil_from_days(19_783), (2024, 3));
    }

    #[tokio::test]
    async fn spending_settled_after_the_month_turned_is_not_dropped() {
        let b = MemoryBudget::new(1_000);
        let mut r = b.reserve(600).await.unwrap();
        // As if the hold was taken last month and the month turned since.
        r.month = "2000-01".into();
        b.state.lock().unwrap().month = "2000-01".into();
        b.settle(r, 250).await.unwrap();
        let now = b.status().await.unwrap();
        assert_eq!((now.spent, now.reserved), (250, 0));
        assert!(matches!(
            b.reserve(800).await,
            Err(BudgetError::CapExceeded { spent: 250, .. })
        ));
    }

    #[tokio::test]
    async fn reservations_never_pass_the_cap() {
        let b = MemoryBudget::new(1_000);
        let r1 = b.reserve(600).await.unwrap();
        assert!(matches!(
            b.reserve(500).await,
            Err(BudgetError::CapExceeded { .. })
        ));
        b.settle(r1, 100).await.unwrap();
        assert_eq!(b.usage(), (100, 0));
        assert!(b.reserve(900).await.is_ok());
    }
}
