//! The CPU time of the calling thread, as Linux's scheduler counts it in
//! `/proc/thread-self/schedstat`: what a piece of work costs, apart from the threads it waits on.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use crate::Error;

/// How long the calling thread has run on a CPU, in nanoseconds of the scheduler's clock.
///
/// Linux only: elsewhere there is no `/proc/thread-self/schedstat` and this is an error.
pub fn thread_cpu() -> Result<Duration, Error> {
    let path = PathBuf::from("/proc/thread-self/schedstat");
    std::fs::read_to_string(&path)
        .and_then(|stat| {
            on_cpu(&stat).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    "no `<on-cpu ns> <wait ns> <slices>` line",
                )
            })
        })
        .map_err(|source| Error::Cpu { path, source })
}

/// The first field of a schedstat line, nanoseconds on a CPU.
fn on_cpu(stat: &str) -> Option<Duration> {
    let nanos = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_field_is_the_time_on_a_cpu() {
        assert_eq!(
            on_cpu("166205206 75405448 43\n"),
            Some(Duration::from_nanos(166_205_206))
        );
        assert_eq!(on_cpu(""), None);
    }

    #[test]
    fn work_takes_thread_time() {
        let before = thread_cpu().unwrap();
        let sum: u64 = (0..20_000_000u64).map(std::hint::black_box).sum();
        assert!(sum > 0);
        assert!(thread_cpu().unwrap() > before);
    }
}
