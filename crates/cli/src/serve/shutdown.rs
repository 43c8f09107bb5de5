//! Graceful shutdown: the signals that stop `dircache serve`.

use std::io;

#[cfg(unix)]
use tokio::signal::unix::{Signal, SignalKind, signal};

/// SIGTERM and SIGINT (Ctrl-C), listened for from the moment this is built, so a signal sent
/// as soon as the server says it is listening is never missed.
#[derive(Debug)]
pub(crate) struct ShutdownSignal {
    #[cfg(unix)]
    terminate: Signal,
    #[cfg(unix)]
    interrupt: Signal,
}

impl ShutdownSignal {
    /// Starts listening for the signals.
    pub(crate) fn install() -> io::Result<Self> {
        Ok(Self {
            #[cfg(unix)]
            terminate: signal(SignalKind::terminate())?,
            #[cfg(unix)]
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    /// Resolves at the first signal.
    pub(crate) async fn received(self) {
        #[cfg(unix)]
        let name = {
            let Self {
                mut terminate,
                mut interrupt,
            } = self;
            tokio::select! {
                _ = terminate.recv() => "SIGTERM",
                _ = interrupt.recv() => "SIGINT",
            }
        };
        #[cfg(not(unix))]
        let name = match tokio::signal::ctrl_c().await {
            Ok(()) => "Ctrl-C",
            Err(_) => std::future::pending().await,
        };
        tracing::info!(
            signal = name,
            "shutting down: no new connections; finishing the requests in flight"
        );
    }
}
