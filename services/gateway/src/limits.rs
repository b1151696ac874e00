//! Per-principal rate limits (a token's subject, an API key's id): a sustained rate and a
//! burst, in the generic cell rate algorithm of `governor`.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio_util::sync::CancellationToken;

use crate::error::GatewayError;

/// How often idle principals' state is forgotten.
const FORGET_INTERVAL: Duration = Duration::from_secs(60);

/// The rate limiter of every principal.
#[derive(Clone)]
pub struct RateLimits {
    limiter: Arc<DefaultKeyedRateLimiter<String>>,
    clock: DefaultClock,
}

impl RateLimits {
    /// Limits of `per_second` calls sustained and `burst` at once, per principal; idle state
    /// is pruned until `shutdown`.
    pub fn new(per_second: u32, burst: u32, shutdown: &CancellationToken) -> anyhow::Result<Self> {
        let per_second = NonZeroU32::new(per_second)
            .ok_or_else(|| anyhow::anyhow!("gateway.rate_limit_per_second: must be at least 1"))?;
        let burst = NonZeroU32::new(burst)
            .ok_or_else(|| anyhow::anyhow!("gateway.rate_limit_burst: must be at least 1"))?;
        let limiter = Arc::new(RateLimiter::keyed(
            Quota::per_second(per_second).allow_burst(burst),
        ));
        let pruned = limiter.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(FORGET_INTERVAL);
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    _ = ticks.tick() => {
                        pruned.retain_recent();
                        pruned.shrink_to_fit();
                    }
                }
            }
        });
        Ok(Self {
            limiter,
            clock: DefaultClock::default(),
        })
    }

    /// Counts a call of `subject`: `RESOURCE_EXHAUSTED` with the time to wait when it is over
    /// its limit.
    pub fn check(&self, subject: &str) -> Result<(), GatewayError> {
        self.limiter
            .check_key(&subject.to_owned())
            .map_err(|not_until| GatewayError::RateLimited {
                retry_after: not_until.wait_time_from(self.clock.now()),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_principal_over_its_burst_is_told_when_to_retry() {
        let limits = RateLimits::new(1, 2, &CancellationToken::new()).unwrap();
        assert!(limits.check("agents/1").is_ok());
        assert!(limits.check("agents/1").is_ok());
        let Err(GatewayError::RateLimited { retry_after }) = limits.check("agents/1") else {
            panic!("the third call is over the burst");
        };
        assert!(retry_after > Duration::ZERO && retry_after <= Duration::from_secs(1));
        assert!(limits.check("agents/2").is_ok(), "limits are per principal");
    }
}
