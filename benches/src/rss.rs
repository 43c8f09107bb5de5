//! The resident set size of a process, as Linux reports it in `/proc/<pid>/status`.

use std::io;
use std::path::PathBuf;

use crate::Error;

/// The resident set size (`VmRSS`) of process `pid`, in bytes.
///
/// Linux only: elsewhere there is no `/proc/<pid>/status` and this is an error.
pub fn resident_bytes(pid: u32) -> Result<u64, Error> {
    let path = PathBuf::from(format!("/proc/{pid}/status"));
    std::fs::read_to_string(&path)
        .and_then(|status| {
            vm_rss(&status).ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidData, "no `VmRSS: <n> kB` line")
            })
        })
        .map_err(|source| Error::Rss { path, source })
}

/// The `VmRSS:` line of a status file, in bytes (the kernel writes it in kibibytes).
fn vm_rss(status: &str) -> Option<u64> {
    let line = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?;
    let mut words = line.split_whitespace();
    let kib: u64 = words.next()?.parse().ok()?;
    (words.next() == Some("kB") && words.next().is_none()).then(|| kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vm_rss_line_is_read_in_bytes() {
        let status = "Name:\tdircache\nVmPeak:\t  900 kB\nVmRSS:\t   12345 kB\nRssAnon:\t 1 kB\n";
        assert_eq!(vm_rss(status), Some(12345 * 1024));
        assert_eq!(vm_rss("Name:\tx\nVmRSS:\t 12 MB\n"), None);
        assert_eq!(vm_rss("Name:\tkthreadd\n"), None);
    }

    #[test]
    fn this_process_has_a_resident_set_that_grows_when_it_touches_memory() {
        let before = resident_bytes(std::process::id()).unwrap();
        assert!(before > 0);
        // 64 MiB written page by page is resident, whatever the allocator kept before.
        let touched = vec![1_u8; 64 << 20];
        let after = resident_bytes(std::process::id()).unwrap();
        assert!(after >= before + (48 << 20), "{before} -> {after}");
        std::hint::black_box(touched);
    }

    #[test]
    fn a_missing_process_is_an_error_naming_its_status_file() {
        // Above the kernel's largest pid (2^22), so no process has it.
        let err = resident_bytes(u32::MAX).unwrap_err();
        assert!(err.to_string().contains("/proc/4294967295/status"), "{err}");
    }
}
