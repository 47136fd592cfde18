//! Fault injection: the at-least-once behaviour Cloud Tasks is allowed but
//! rarely seen to show, made frequent and reproducible for tests.

use std::sync::Mutex;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};

/// Faults the dispatcher injects. All default to off.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// Chance, 0 to 1, that an attempt is delivered twice with identical
    /// headers. Only the original's answer counts. Default 0.
    pub duplicate_probability: f64,
    /// How long after the original a duplicate is sent (real time).
    /// Default 0: both go out together.
    pub duplicate_delay: Duration,
    /// Chance, 0 to 1, that the target's answer is thrown away after the
    /// handler sent it, so the attempt counts as failed and is retried
    /// although the handler finished. Default 0.
    pub drop_response_probability: f64,
}

impl Faults {
    /// Checks the probabilities lie in 0..=1.
    ///
    /// # Errors
    ///
    /// A message naming the first setting out of range.
    pub(crate) fn validate(&self) -> Result<(), String> {
        let checks = [
            ("duplicate probability", self.duplicate_probability),
            ("drop-response probability", self.drop_response_probability),
        ];
        for (what, p) in checks {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("{what} must be between 0 and 1, got {p}"));
            }
        }
        Ok(())
    }
}

/// Rolls the dice for each attempt from one seeded generator, so a seed
/// replays the same sequence of faults for the same sequence of attempts.
#[derive(Debug)]
pub(crate) struct FaultDice {
    faults: Faults,
    rng: Mutex<StdRng>,
}

impl FaultDice {
    pub(crate) fn new(faults: Faults, seed: u64) -> Self {
        FaultDice {
            faults,
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
        }
    }

    /// Whether to duplicate this attempt, and after what delay.
    pub(crate) fn duplicate(&self) -> Option<Duration> {
        self.roll(self.faults.duplicate_probability)
            .then_some(self.faults.duplicate_delay)
    }

    /// Whether to throw this answer away.
    pub(crate) fn drop_response(&self) -> bool {
        self.roll(self.faults.drop_response_probability)
    }

    fn roll(&self, probability: f64) -> bool {
        if probability <= 0.0 {
            return false;
        }
        let mut rng = self
            .rng
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        rng.random_bool(probability)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_replays_the_same_faults() {
        let faults = Faults {
            duplicate_probability: 0.5,
            drop_response_probability: 0.5,
            ..Faults::default()
        };
        let rolls = |seed| {
            let dice = FaultDice::new(faults.clone(), seed);
            (0..64)
                .map(|_| (dice.duplicate().is_some(), dice.drop_response()))
                .collect::<Vec<_>>()
        };
        assert_eq!(rolls(7), rolls(7));
        assert_ne!(rolls(7), rolls(8));
    }

    #[test]
    fn probabilities_outside_zero_to_one_are_rejected() {
        let faults = Faults {
            duplicate_probability: 1.5,
            ..Faults::default()
        };
        assert!(faults.validate().is_err());
    }
}
