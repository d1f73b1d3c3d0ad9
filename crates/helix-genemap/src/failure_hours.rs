//! Failures per service-hour: the predictive engine's time series. In
//! PostgreSQL the table is range-partitioned by UTC month, a partition
//! created before the first write into its month; in SQLite it is one table.

use rusqlite::params;

use crate::postgres::{CONNECT_TIMEOUT, open_client};
use helix_core::StoreError;

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// One service-hour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourCount {
    /// Unix time / 3600.
    pub hour: i64,
    /// The service.
    pub service: String,
    /// `code/category`.
    pub code: String,
    /// Calls made, when they were counted.
    pub calls: Option<u64>,
    /// Failures.
    pub failures: u64,
}

/// Days since 1970-01-01 of the first of `month` (1-12) in `year`
/// (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The UTC month holding `hour`: its partition's name and its hours
/// `[from, to)`.
pub fn month_of(hour: i64) -> (String, i64, i64) {
    let (y, m) = helix_core::policy::civil_from_days(hour.div_euclid(24));
    let m = i64::from(m);
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    (
        format!("failure_hours_{y:04}{m:02}"),
        days_from_civil(y, m) * 24,
        days_from_civil(ny, nm) * 24,
    )
}

/// The series in PostgreSQL.
pub struct PostgresFailureHours {
    client: tokio_postgres::Client,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for PostgresFailureHours {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for PostgresFailureHours {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresFailureHours")
            .finish_non_exhaustive()
    }
}

impl PostgresFailureHours {
    /// Connects and migrates.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let (client, task) = open_client(url, CONNECT_TIMEOUT).await?;
        Ok(PostgresFailureHours { client, task })
    }

    /// Writes `rows` (a row replaces the one for its hour, service and
    /// code), creating each month's partition first.
    pub async fn put(&self, rows: &[HourCount]) -> Result<(), StoreError> {
        let mut months: Vec<(String, i64, i64)> = rows.iter().map(|r| month_of(r.hour)).collect();
        months.sort();
        months.dedup();
        for (name, from, to) in months {
            self.client
                .batch_execute(&format!(
                    "CREATE TABLE IF NOT EXISTS {name} PARTITION OF failure_hours \
                     FOR VALUES FROM ({from}) TO ({to})"
                ))
                .await
                .map_err(unavailable)?;
        }
        let stmt = self
            .client
            .prepare(
                "INSERT INTO failure_hours (hour, service, code, calls, failures) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (hour, service, code) \
                 DO UPDATE SET calls = EXCLUDED.calls, failures = EXCLUDED.failures",
            )
            .await
            .map_err(unavailable)?;
        for r in rows {
            let calls = r.calls.map(|c| c as i64);
            self.client
                .execute(
                    &stmt,
                    &[&r.hour, &r.service, &r.code, &calls, &(r.failures as i64)],
                )
                .await
                .map_err(unavailable)?;
        }
        Ok(())
    }

    /// The partitions that exist, oldest first.
    pub async fn partitions(&self) -> Result<Vec<String>, StoreError> {
        let rows = self
            .client
            .query(
                "SELECT c.relname::text FROM pg_inherits i \
                 JOIN pg_class c ON c.oid = i.inhrelid \
                 WHERE i.inhparent = 'failure_hours'::regclass ORDER BY 1",
                &[],
            )
            .await
            .map_err(unavailable)?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}

/// The series in the SQLite Gene Map file.
pub fn put_sqlite(path: &std::path::Path, rows: &[HourCount]) -> Result<(), StoreError> {
    let mut conn = rusqlite::Connection::open(path).map_err(unavailable)?;
    crate::sqlite::migrate(&mut conn, crate::migrations::LATEST)?;
    let tx = conn.transaction().map_err(unavailable)?;
    for r in rows {
        tx.execute(
            "INSERT INTO failure_hours (hour, service, code, calls, failures) \
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (hour, service, code) \
             DO UPDATE SET calls = excluded.calls, failures = excluded.failures",
            params![
                r.hour,
                r.service,
                r.code,
                r.calls.map(|c| c as i64),
                r.failures as i64
            ],
        )
        .map_err(unavailable)?;
    }
    tx.commit().map_err(unavailable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_have_their_own_bounds() {
        // 2026-12-01 00:00 UTC is unix hour 1_796_083_200 / 3600.
        let dec = 1_796_083_200 / 3600;
        let (name, from, to) = month_of(dec + 5);
        assert_eq!(name, "failure_hours_202612");
        assert_eq!(from, dec);
        assert_eq!(to - from, 31 * 24);
        assert_eq!(month_of(dec - 1).0, "failure_hours_202611");
        assert_eq!(month_of(0).0, "failure_hours_197001");
        // A leap February.
        let (_, f, t) = month_of(days_from_civil(2028, 2) * 24);
        assert_eq!(t - f, 29 * 24);
    }
}
