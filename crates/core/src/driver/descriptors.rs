//! How many devices a run may have in flight: each holds several connections at once
//! (the ONVIF reads go eight at a time), and a process may open only so many files.
//! Linux desktops start programs with a soft limit of 1,024 descriptors; the hard limit
//! is usually far higher and may be taken without privileges.

/// Descriptors one device in flight may hold: its connections, plus its discovery probe,
/// plus the probes of the devices waiting for a turn beside it (one socket each,
/// [`crate::audit::WAITING_PER_SLOT`]).
const PER_DEVICE: u64 = 10 + crate::audit::WAITING_PER_SLOT as u64;
/// Kept for everything else (the data files, the history, the vault, stdio).
const RESERVED: u64 = 64;
/// The most a macOS process may ask for, whatever its hard limit says.
#[cfg(unix)]
const OPEN_MAX: u64 = 10_240;

/// `wanted` devices at once, or as many as the descriptors allow (the soft limit raised
/// to the hard one first); never fewer than one.
#[cfg(unix)]
pub fn fit(wanted: usize) -> usize {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    // `None` is "unlimited". macOS refuses a soft limit above OPEN_MAX even when the
    // hard one is unlimited: that is the second try.
    let tries = [limit.maximum, Some(limit.maximum.map_or(OPEN_MAX, |m| m.min(OPEN_MAX)))];
    for target in tries {
        let enough = match (limit.current, target) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(current), Some(target)) => current >= target,
        };
        if enough {
            break;
        }
        let raised = rustix::process::Rlimit { current: target, maximum: limit.maximum };
        if setrlimit(Resource::Nofile, raised).is_ok() {
            limit = getrlimit(Resource::Nofile);
            break;
        }
    }
    match limit.current {
        // No limit at all.
        None => wanted.max(1),
        Some(n) => {
            let room = n.saturating_sub(RESERVED) / PER_DEVICE;
            wanted.min(usize::try_from(room).unwrap_or(usize::MAX)).max(1)
        }
    }
}

/// Elsewhere (Windows) sockets are handles with no per-process limit that a run meets.
#[cfg(not(unix))]
pub fn fit(wanted: usize) -> usize {
    wanted.max(1)
}

#[cfg(all(test, unix))]
mod tests {
    #[test]
    fn what_fits_is_bounded_by_the_descriptors_and_never_zero() {
        assert_eq!(super::fit(0), 1);
        assert_eq!(super::fit(4), 4);
        let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
        let huge = super::fit(usize::MAX);
        if let Some(n) = limit {
            assert!((huge as u64) * super::PER_DEVICE + super::RESERVED <= n.max(super::RESERVED + super::PER_DEVICE));
        }
    }
}
