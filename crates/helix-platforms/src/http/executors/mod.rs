//! Executors that need no platform client: waiting (honouring Retry-After),
//! backoff with jitter, a longer deadline, switching to the next entry of a
//! configured list (endpoint, provider, off-ramp, payment method), splitting
//! under a limit, dropping a failing batch call, waiting out a passing
//! cause, and paying less where the caller allows it.

mod request;
mod switch;
mod wait;

pub use request::{DropFailingCall, ExtendDeadline, ReduceRequest, SplitUnderLimit};
pub use switch::{SwitchField, SwitchTo};
pub use wait::{Backoff, BackoffRetry, WaitAndRetry};

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use helix_core::{
        CommitCtx, ErrorSignal, Executor, Failure, Mode, Patch, PaymentView, StrategyId,
    };

    use super::*;

    fn ctx<'a>(f: &'a Failure, s: &'a ErrorSignal, v: &'a PaymentView) -> CommitCtx<'a> {
        CommitCtx {
            failure: f,
            signal: s,
            request: v,
            params: &serde_json::Value::Null,
            mode: Mode::Auto,
            repairs_so_far: 0,
            max_cost: 0,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn backoff_waits_exactly_what_retry_after_says() {
        let f = Failure::unknown(None);
        let s = ErrorSignal {
            retry_after: Some(Duration::from_secs(7)),
            ..Default::default()
        };
        let v = PaymentView::default();
        let t = tokio::time::Instant::now();
        Backoff::default().commit(&ctx(&f, &s, &v)).await.unwrap();
        assert_eq!(t.elapsed(), Duration::from_secs(7));
        let s = ErrorSignal {
            retry_after: Some(Duration::from_secs(3600)),
            ..Default::default()
        };
        assert!(Backoff::default().commit(&ctx(&f, &s, &v)).await.is_err());
    }

    #[tokio::test]
    async fn switch_moves_to_the_next_option_and_never_to_the_same() {
        let f = Failure::unknown(None);
        let s = ErrorSignal::default();
        let sw = SwitchTo::endpoints(StrategyId::SwitchEndpoint, ["http://a", "http://b"]);
        let v = PaymentView {
            endpoint: Some("http://b".into()),
            ..Default::default()
        };
        let c = sw.commit(&ctx(&f, &s, &v)).await.unwrap();
        assert_eq!(
            c.patches,
            vec![Patch::Endpoint {
                url: "http://a".into()
            }]
        );
        let only = SwitchTo::endpoints(StrategyId::SwitchEndpoint, ["http://b"]);
        assert!(only.commit(&ctx(&f, &s, &v)).await.is_err());
    }
}
