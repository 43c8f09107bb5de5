//! The one thread that makes the eager compressed forms of copies just stored, a copy at a
//! time, with encoders it keeps.
//!
//! One long-lived thread rather than a blocking task per copy: never more than a core spends on
//! compressing, and its encoders are made once (see [`Encoders`] for what that saves in
//! resident memory). A request that asks for a form before the thread has made it waits for the
//! same form (or makes it, if the thread has not started on it), so no form is made twice.

use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Weak};

use crate::encoders::Encoders;
use crate::{CachedDirectory, ContentCoding};

/// Hands copies to the form-making thread; the thread ends when this is dropped.
#[derive(Debug)]
pub(crate) struct FormWorker {
    /// `None` when there is nothing to make eagerly, or the thread could not be started: the
    /// forms are then made when first asked for.
    copies: Option<Sender<Weak<CachedDirectory>>>,
}

impl FormWorker {
    /// Starts the thread that makes the forms in `codings` of every copy given to
    /// [`Self::prepare`]; none when `codings` is empty.
    pub(crate) fn start(codings: &[ContentCoding]) -> Self {
        if codings.is_empty() {
            return Self { copies: None };
        }
        let codings = codings.to_vec();
        let (copies, queue) = mpsc::channel();
        let started = std::thread::Builder::new()
            .name("dircache-forms".to_owned())
            .spawn(move || make_forms(&codings, &queue));
        match started {
            Ok(_) => Self {
                copies: Some(copies),
            },
            Err(e) => {
                tracing::warn!(
                    error = %e,
                    "no thread for the eager compressed forms: each will be made when first asked for"
                );
                Self { copies: None }
            }
        }
    }

    /// Queues `directory` for its forms and returns at once: the miss that filled it is
    /// answered without waiting for them.
    pub(crate) fn prepare(&self, directory: &Arc<CachedDirectory>) {
        let Some(copies) = &self.copies else {
            return;
        };
        // Only a thread that panicked has hung up, and its copies' forms are then made when
        // first asked for; a panic is reported by the panic hook already.
        let _ = copies.send(Arc::downgrade(directory));
    }
}

fn make_forms(codings: &[ContentCoding], queue: &mpsc::Receiver<Weak<CachedDirectory>>) {
    let mut encoders = Encoders::new();
    for copy in queue {
        // A copy dropped before its turn (replaced, evicted) will be served by no one.
        if let Some(copy) = copy.upgrade() {
            copy.prepare_encodings_with(&mut encoders, codings);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::DEFAULT_EAGER_ENCODINGS;
    use crate::conformance::{now_millis, sample_directory};

    /// Waits until the worker has made `directory`'s eager forms, failing after a generous
    /// deadline (the machine may be loaded).
    fn wait_for_forms(directory: &CachedDirectory) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !DEFAULT_EAGER_ENCODINGS
            .iter()
            .all(|coding| directory.is_encoded(*coding))
        {
            assert!(Instant::now() < deadline, "the forms were never made");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn forms_are_made_without_any_request_asking_for_them() {
        let worker = FormWorker::start(&DEFAULT_EAGER_ENCODINGS);
        let directory = sample_directory("eager", 50, now_millis());
        worker.prepare(&directory);
        wait_for_forms(&directory);
        assert!(
            !directory.is_encoded(ContentCoding::Brotli),
            "only the eager codings are made"
        );
        for coding in DEFAULT_EAGER_ENCODINGS {
            assert_eq!(
                directory.encoded(coding),
                coding.encode(directory.body()).as_ref(),
                "{coding}"
            );
        }
    }

    #[test]
    fn a_form_asked_for_meanwhile_is_the_one_kept() {
        let worker = FormWorker::start(&DEFAULT_EAGER_ENCODINGS);
        let copies: Vec<_> = (0..20)
            .map(|i| sample_directory(&format!("race-{i}"), 40, now_millis()))
            .collect();
        for copy in &copies {
            worker.prepare(copy);
        }
        // Asked for while the worker is on the first copies: some are made here, some there.
        let asked: Vec<_> = copies
            .iter()
            .map(|copy| copy.encoded(ContentCoding::Gzip).unwrap().clone())
            .collect();
        for (copy, asked) in copies.iter().zip(asked) {
            wait_for_forms(copy);
            let kept = copy.encoded(ContentCoding::Gzip).unwrap();
            assert_eq!(kept.as_ptr(), asked.as_ptr(), "one form per copy");
            assert_eq!(Some(kept), ContentCoding::Gzip.encode(copy.body()).as_ref());
        }
    }

    #[test]
    fn the_worker_goes_on_after_a_copy_dropped_before_its_turn() {
        let worker = FormWorker::start(&DEFAULT_EAGER_ENCODINGS);
        worker.prepare(&sample_directory("dropped", 40, now_millis()));
        let kept = sample_directory("kept", 40, now_millis());
        worker.prepare(&kept);
        wait_for_forms(&kept);
    }

    #[test]
    fn no_codings_start_no_thread() {
        let worker = FormWorker::start(&[]);
        assert!(worker.copies.is_none());
        let directory = sample_directory("lazy", 40, now_millis());
        worker.prepare(&directory);
        assert!(!directory.is_encoded(ContentCoding::Zstd));
    }
}
