//! Checking how a one-shot command ended.

use testkit::Outcome;

/// `outcome`, which must have ended with exit code `code`; fails the test showing what the
/// command printed otherwise.
#[track_caller]
pub fn exited(outcome: Outcome, code: i32) -> Outcome {
    assert_eq!(outcome.code(), Some(code), "{outcome}");
    outcome
}
