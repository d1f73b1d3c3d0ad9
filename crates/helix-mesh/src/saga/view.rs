//! The sagas as an operator reads them: those in flight first, each step
//! with what became of its payment and its refund.

use std::collections::HashMap;

use serde::Serialize;

use super::log::db;
use super::{Plan, SagaLog};

/// What the log knows of one action, for reading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionView {
    /// `untouched`, `sent` (signed and logged; may or may not have landed)
    /// or `done` (its receipt was seen).
    pub status: String,
    /// Its transfer, once signed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
}

impl ActionView {
    fn untouched() -> Self {
        ActionView {
            status: "untouched".into(),
            hash: None,
        }
    }
}

/// A step: its payment and its compensation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepView {
    /// What it is for.
    pub name: String,
    /// The payer.
    pub from: String,
    /// The payee.
    pub to: String,
    /// The TIP-20.
    pub token: String,
    /// Base units, as a string (u128 does not fit a JSON number).
    pub amount: String,
    /// The payment.
    pub pay: ActionView,
    /// The refund.
    pub refund: ActionView,
}

/// A saga.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SagaView {
    /// Its id.
    pub id: String,
    /// `forward`, `compensating`, `completed` or `compensated`.
    pub state: String,
    /// Whether it is still moving (forward or compensating).
    pub in_flight: bool,
    /// The step whose check failed, if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_step: Option<i32>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Its plan could not be read (a corrupt row): shown, not dropped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
    /// In order.
    pub steps: Vec<StepView>,
}

impl SagaLog {
    /// Up to `limit` sagas: those in flight first, then the most recently
    /// moved.
    pub async fn recent(&self, limit: u32) -> Result<Vec<SagaView>, String> {
        let rows = self
            .client
            .query(
                "SELECT id, plan, state, reason, failed_step, created_at, updated_at FROM saga_runs \
                 ORDER BY (state IN ('forward', 'compensating')) DESC, updated_at DESC LIMIT $1",
                &[&i64::from(limit)],
            )
            .await
            .map_err(db)?;
        let ids: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        let mut actions: HashMap<(String, i32, String), ActionView> = HashMap::new();
        for r in self
            .client
            .query(
                "SELECT saga_id, idx, kind, status, hash FROM saga_actions WHERE saga_id = ANY($1)",
                &[&ids],
            )
            .await
            .map_err(db)?
        {
            actions.insert(
                (r.get(0), r.get(1), r.get(2)),
                ActionView {
                    status: r.get(3),
                    hash: r.get(4),
                },
            );
        }
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let id: String = r.get(0);
            let plan: String = r.get(1);
            let state: String = r.get(2);
            let (steps, error) = match serde_json::from_str::<Plan>(&plan) {
                Ok(p) => (
                    p.steps
                        .iter()
                        .enumerate()
                        .map(|(i, s)| {
                            let i = i32::try_from(i).unwrap_or(i32::MAX);
                            let action = |kind: &str| {
                                actions
                                    .get(&(id.clone(), i, kind.to_owned()))
                                    .cloned()
                                    .unwrap_or_else(ActionView::untouched)
                            };
                            StepView {
                                name: s.name.clone(),
                                from: s.pay.from.to_string(),
                                to: s.pay.to.to_string(),
                                token: s.pay.token.to_string(),
                                amount: s.pay.amount.to_string(),
                                pay: action("pay"),
                                refund: action("refund"),
                            }
                        })
                        .collect(),
                    None,
                ),
                Err(e) => (Vec::new(), Some(format!("plan unreadable: {e}"))),
            };
            out.push(SagaView {
                in_flight: state == "forward" || state == "compensating",
                state,
                failed_step: r.get(4),
                reason: r.get(3),
                error,
                created_at: r.get(5),
                updated_at: r.get(6),
                id,
                steps,
            });
        }
        Ok(out)
    }
}
