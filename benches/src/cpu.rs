//! The CPU time of the calling thread (`CLOCK_THREAD_CPUTIME_ID`): what a piece of work costs,
//! apart from the threads it waits on.
//!
//! Not `/proc/thread-self/schedstat`: Linux brings a running thread's count up to date there
//! only at scheduler ticks (4 ms here), so a few milliseconds of work read as 4, 8 or 12.

use std::time::Duration;

use rustix::time::{ClockId, clock_gettime};

/// How long the calling thread has run on a CPU, to the nanosecond.
pub fn thread_cpu() -> Duration {
    let now = clock_gettime(ClockId::ThreadCPUTime);
    // The clock starts at zero when the thread does: it is never negative.
    Duration::new(
        u64::try_from(now.tv_sec).unwrap_or(0),
        u32::try_from(now.tv_nsec).unwrap_or(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_takes_thread_time_and_a_millisecond_reads_as_one() {
        let before = thread_cpu();
        let sum: u64 = (0..20_000_000u64).map(std::hint::black_box).sum();
        assert!(sum > 0);
        let worked = thread_cpu() - before;
        assert!(worked > Duration::ZERO);
        // Sleeping is not running: far less than the 50 ms slept is counted.
        let before = thread_cpu();
        std::thread::sleep(Duration::from_millis(50));
        assert!(thread_cpu() - before < Duration::from_millis(5));
    }
}
