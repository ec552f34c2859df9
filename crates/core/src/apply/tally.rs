//! Steps done out of steps to do across a run, as both shells show an apply's progress.
//! Every step of a plan counts, blocked ones too (each ends as a skipped step). A device
//! started again (hardened after its activation in the same run, the rest of its plan after
//! a firmware upgrade, or planned again at the address it was moved to) adds its new
//! plan's steps to the total.

use std::collections::HashSet;
use std::sync::Mutex;

use super::{Event, StepResult};
use crate::plan::DevicePlan;

/// Where a run stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Steps {
    pub done: usize,
    pub total: usize,
}

/// Counts a run's events (shared by the sink's calls, from any task).
#[derive(Debug, Default)]
pub struct StepTally {
    /// Where the run stands, and the planned devices not started yet.
    steps: Mutex<(Steps, HashSet<String>)>,
}

impl StepTally {
    /// A run of these plans.
    pub fn new(plans: &[DevicePlan]) -> StepTally {
        let total = plans.iter().map(|p| p.steps.len()).sum();
        let waiting = plans.iter().map(|p| p.device.clone()).collect();
        StepTally { steps: Mutex::new((Steps { done: 0, total }, waiting)) }
    }

    /// Where the run stands.
    pub fn now(&self) -> Steps {
        self.steps.lock().map(|g| g.0).unwrap_or_default()
    }

    /// Count `event`; where the run stands after it.
    pub fn count(&self, event: &Event) -> Steps {
        let Ok(mut guard) = self.steps.lock() else { return Steps::default() };
        let (steps, waiting) = &mut *guard;
        match event {
            // A planned device's first start is in the total already.
            Event::DeviceStarted { device, steps: more } if !waiting.remove(device) => steps.total += more,
            Event::StepDone { .. } => steps.done += 1,
            _ => {}
        }
        *steps
    }
}

impl StepResult {
    /// The step left the device as the plan wanted (verified, or nothing to do).
    pub fn ok(&self) -> bool {
        matches!(self, StepResult::Verified | StepResult::Skipped { .. })
    }

    /// How it ended, in a word or two.
    pub fn word(&self) -> &'static str {
        match self {
            StepResult::Verified => "ok",
            StepResult::RolledBack { .. } => "rolled back",
            StepResult::Failed { .. } => "failed",
            StepResult::Skipped { .. } => "skipped",
        }
    }

    /// Why, where it did not simply work.
    pub fn reason(&self) -> Option<&str> {
        match self {
            StepResult::Verified => None,
            StepResult::RolledBack { reason } | StepResult::Failed { reason } | StepResult::Skipped { reason } => {
                Some(reason)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::setting::Setting;

    fn started(device: &str, steps: usize) -> Event {
        Event::DeviceStarted { device: device.into(), steps }
    }

    fn done(device: &str, result: StepResult) -> Event {
        let setting = Setting::ServiceTelnetEnabled;
        Event::StepDone { device: device.into(), index: 0, steps: 1, setting, action: "off".into(), result }
    }

    #[test]
    fn a_device_started_again_adds_its_new_plan_and_each_step_counts_once() {
        use crate::plan::{Phase, Step};
        let step = |blocked: Option<&str>| Step {
            phase: Phase::Services,
            control: None,
            setting: Setting::ServiceTelnetEnabled,
            from: None,
            to: crate::posture::Value::Bool(false),
            action: "off".into(),
            blocked: blocked.map(String::from),
        };
        let plan = |device: &str, steps: Vec<Step>| DevicePlan { device: device.into(), steps };
        // "b" has a blocked step: it ends as a skipped step, and counts.
        let tally = StepTally::new(&[plan("a", vec![step(None)]), plan("b", vec![step(None), step(Some("no HTTPS"))])]);
        assert_eq!(tally.count(&started("a", 1)), Steps { done: 0, total: 3 });
        assert_eq!(tally.count(&started("b", 2)), Steps { done: 0, total: 3 });
        assert_eq!(tally.count(&done("a", StepResult::Verified)), Steps { done: 1, total: 3 });
        // "a" was activated: it is planned again with its hardening steps.
        assert_eq!(tally.count(&started("a", 5)), Steps { done: 1, total: 8 });
        let failed = StepResult::Failed { reason: "no answer".into() };
        assert_eq!(tally.count(&done("b", failed.clone())), Steps { done: 2, total: 8 });
        assert_eq!(tally.count(&done("b", StepResult::Skipped { reason: "no HTTPS".into() })).done, 3);
        // "b" was moved: planned again at its new address.
        assert_eq!(tally.count(&started("127.1.0.9:80", 4)), Steps { done: 3, total: 12 });
        assert!(!failed.ok() && failed.word() == "failed" && failed.reason() == Some("no answer"));
        assert!(StepResult::Skipped { reason: "blocked".into() }.ok());
        assert_eq!(StepResult::Verified.reason(), None);
        assert_eq!(tally.now(), Steps { done: 3, total: 12 });
    }
}
