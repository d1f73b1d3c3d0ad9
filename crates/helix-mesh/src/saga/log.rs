//! The coordinator's log in PostgreSQL: the plan and state of each saga,
//! and each action (a step's payment or its compensation) with the hash
//! and nonce of its transfer, written before the transfer is broadcast.

use tokio_postgres::{Client, NoTls};

use super::Plan;

/// Where a saga is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SagaState {
    /// Paying the steps.
    Forward,
    /// A step failed: refunding in reverse.
    Compensating,
    /// Every step paid and checked.
    Completed,
    /// Every paid step refunded.
    Compensated,
}

impl SagaState {
    fn as_str(self) -> &'static str {
        match self {
            SagaState::Forward => "forward",
            SagaState::Compensating => "compensating",
            SagaState::Completed => "completed",
            SagaState::Compensated => "compensated",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "forward" => SagaState::Forward,
            "compensating" => SagaState::Compensating,
            "completed" => SagaState::Completed,
            "compensated" => SagaState::Compensated,
            _ => return None,
        })
    }
}

/// A payment or a compensation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Step `n`'s payment.
    Pay(usize),
    /// Step `n`'s refund.
    Refund(usize),
}

impl Action {
    fn parts(self) -> (i32, &'static str) {
        match self {
            Action::Pay(n) => (n as i32, "pay"),
            Action::Refund(n) => (n as i32, "refund"),
        }
    }
}

/// What the log knows of an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionStatus {
    /// Never started.
    Untouched,
    /// Its transfer was signed and logged; it may or may not have landed.
    Sent {
        /// The transfer.
        hash: String,
        /// Its nonce.
        nonce: u64,
    },
    /// Landed (its transfer's receipt was seen).
    Done {
        /// The transfer.
        hash: String,
    },
}

/// The log.
pub struct SagaLog {
    pub(super) client: Client,
}

impl std::fmt::Debug for SagaLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SagaLog").finish_non_exhaustive()
    }
}

pub(super) fn db(e: tokio_postgres::Error) -> String {
    e.as_db_error()
        .map(|d| d.message().to_owned())
        .unwrap_or_else(|| e.to_string())
}

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS saga_runs (
        id TEXT PRIMARY KEY, plan TEXT NOT NULL, state TEXT NOT NULL, reason TEXT,
        created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
    CREATE TABLE IF NOT EXISTS saga_actions (
        saga_id TEXT NOT NULL, idx INTEGER NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL,
        hash TEXT, nonce BIGINT, updated_at BIGINT NOT NULL,
        PRIMARY KEY (saga_id, idx, kind));
    ALTER TABLE saga_runs ADD COLUMN IF NOT EXISTS failed_step INTEGER;";

impl SagaLog {
    /// Connects and creates the tables if missing.
    pub async fn connect(url: &str) -> Result<Self, String> {
        let (client, conn) = tokio_postgres::connect(url, NoTls).await.map_err(db)?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::warn!(target: "helix::saga", error = %e, "saga log connection closed");
            }
        });
        client
            .batch_execute(&format!(
                "SELECT pg_advisory_lock(7226892); {SCHEMA} SELECT pg_advisory_unlock(7226892);"
            ))
            .await
            .map_err(db)?;
        Ok(SagaLog { client })
    }

    /// The connection ended (the server went away): connect again.
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// Starts a saga (or finds it started): its plan as logged and state.
    pub async fn begin(&self, plan: &Plan) -> Result<(Plan, SagaState), String> {
        let text = serde_json::to_string(plan).map_err(|e| e.to_string())?;
        let now = helix_core::gene::now_ms();
        self.client
            .execute(
                "INSERT INTO saga_runs (id, plan, state, created_at, updated_at) VALUES ($1, $2, 'forward', $3, $3) \
                 ON CONFLICT (id) DO NOTHING",
                &[&plan.id, &text, &now],
            )
            .await
            .map_err(db)?;
        self.load(&plan.id)
            .await?
            .ok_or_else(|| "saga vanished".into())
    }

    /// A saga's plan and state.
    pub async fn load(&self, id: &str) -> Result<Option<(Plan, SagaState)>, String> {
        let Some(row) = self
            .client
            .query_opt("SELECT plan, state FROM saga_runs WHERE id = $1", &[&id])
            .await
            .map_err(db)?
        else {
            return Ok(None);
        };
        let plan: String = row.get(0);
        let state: String = row.get(1);
        Ok(Some((
            serde_json::from_str(&plan).map_err(|e| format!("saga {id}: plan unreadable: {e}"))?,
            SagaState::parse(&state).ok_or_else(|| format!("saga {id}: unknown state {state}"))?,
        )))
    }

    /// Moves a saga to `state`; `failed` is the step whose check failed
    /// and why, when that is what moved it.
    pub async fn set_state(
        &self,
        id: &str,
        state: SagaState,
        failed: Option<(usize, &str)>,
    ) -> Result<(), String> {
        let step = failed.map(|(i, _)| i as i32);
        let reason = failed.map(|(_, r)| r);
        self.client
            .execute(
                "UPDATE saga_runs SET state = $2, failed_step = COALESCE($3, failed_step), \
                 reason = COALESCE($4, reason), updated_at = $5 WHERE id = $1",
                &[
                    &id,
                    &state.as_str(),
                    &step,
                    &reason,
                    &helix_core::gene::now_ms(),
                ],
            )
            .await
            .map_err(db)?;
        Ok(())
    }

    /// The step whose check failed and why, if one did.
    pub async fn failure(&self, id: &str) -> Result<Option<(usize, String)>, String> {
        let row = self
            .client
            .query_opt(
                "SELECT failed_step, reason FROM saga_runs WHERE id = $1",
                &[&id],
            )
            .await
            .map_err(db)?;
        Ok(row.and_then(|r| {
            let step: Option<i32> = r.get(0);
            let reason: Option<String> = r.get(1);
            Some((usize::try_from(step?).ok()?, reason.unwrap_or_default()))
        }))
    }

    /// What the log knows of an action.
    pub async fn status(&self, id: &str, a: Action) -> Result<ActionStatus, String> {
        let (idx, kind) = a.parts();
        let row = self
            .client
            .query_opt(
                "SELECT status, hash, nonce FROM saga_actions WHERE saga_id = $1 AND idx = $2 AND kind = $3",
                &[&id, &idx, &kind],
            )
            .await
            .map_err(db)?;
        Ok(match row {
            None => ActionStatus::Untouched,
            Some(r) => {
                let status: String = r.get(0);
                let hash: Option<String> = r.get(1);
                let nonce: Option<i64> = r.get(2);
                match (status.as_str(), hash, nonce) {
                    ("done", Some(hash), _) => ActionStatus::Done { hash },
                    ("sent", Some(hash), Some(n)) => ActionStatus::Sent {
                        hash,
                        nonce: n as u64,
                    },
                    _ => ActionStatus::Untouched,
                }
            }
        })
    }

    /// Logs an action's transfer as signed (before it is broadcast).
    pub async fn sent(&self, id: &str, a: Action, hash: &str, nonce: u64) -> Result<(), String> {
        self.write(id, a, "sent", hash, Some(nonce)).await
    }

    /// Logs an action as landed.
    pub async fn done(&self, id: &str, a: Action, hash: &str) -> Result<(), String> {
        self.write(id, a, "done", hash, None).await
    }

    async fn write(
        &self,
        id: &str,
        a: Action,
        status: &str,
        hash: &str,
        nonce: Option<u64>,
    ) -> Result<(), String> {
        let (idx, kind) = a.parts();
        let nonce = nonce.map(|n| n as i64);
        self.client
            .execute(
                "INSERT INTO saga_actions (saga_id, idx, kind, status, hash, nonce, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (saga_id, idx, kind) DO UPDATE SET status = EXCLUDED.status, \
                 hash = EXCLUDED.hash, nonce = COALESCE(EXCLUDED.nonce, saga_actions.nonce), \
                 updated_at = EXCLUDED.updated_at",
                &[
                    &id,
                    &idx,
                    &kind,
                    &status,
                    &hash,
                    &nonce,
                    &helix_core::gene::now_ms(),
                ],
            )
            .await
            .map_err(db)?;
        Ok(())
    }

    /// Every action's hash, in log order (steps, then refunds).
    pub async fn hashes(&self, id: &str) -> Result<Vec<(String, String)>, String> {
        let rows = self
            .client
            .query(
                "SELECT kind || ' ' || idx::text, COALESCE(hash, '') FROM saga_actions \
                 WHERE saga_id = $1 AND status = 'done' ORDER BY updated_at",
                &[&id],
            )
            .await
            .map_err(db)?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}
