//! Caps on open `ClassifyStream` streams, server-wide and per connection.
//!
//! A stream is not work: it holds a classification slot (`rpc_layer`'s
//! admission) only while one of its messages is classified, so idle streams
//! and streams whose reader is slow cost no classification capacity. What an
//! open stream does cost (a task, a small buffer, an HTTP/2 stream) is bounded
//! here instead: past either cap, a new stream is refused at once with
//! RESOURCE_EXHAUSTED. The per-connection cap keeps one client's connection
//! from taking the whole server-wide allowance, and leaves room on that
//! connection for unary calls (HTTP/2 caps all RPCs on it together).
use super::error::ServiceError;
use super::metrics::Metrics;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

/// Open streams, counted server-wide and by connection (its peer address).
#[derive(Debug)]
pub(crate) struct Streams {
    max: usize,
    max_per_connection: usize,
    /// Total open, and open per peer; only touched when a stream opens or
    /// ends, so a lock is cheap enough.
    open: Mutex<(usize, HashMap<SocketAddr, usize>)>,
    metrics: Arc<Metrics>,
}

impl Streams {
    pub(crate) fn new(max: usize, max_per_connection: usize, metrics: Arc<Metrics>) -> Streams {
        Streams {
            max,
            max_per_connection,
            open: Mutex::new((0, HashMap::new())),
            metrics,
        }
    }

    /// A place for one more stream from `peer` (`None` when the transport
    /// does not say: then only the server-wide cap applies), or the refusal.
    pub(crate) fn open(
        self: &Arc<Self>,
        peer: Option<SocketAddr>,
    ) -> Result<StreamSlot, ServiceError> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let (total, by_peer) = &mut *open;
        let refusal = if *total >= self.max {
            Some(ServiceError::TooManyStreams { limit: self.max })
        } else {
            peer.and_then(|p| {
                let n = by_peer.get(&p).copied().unwrap_or(0);
                (n >= self.max_per_connection).then_some(ServiceError::TooManyConnectionStreams {
                    limit: self.max_per_connection,
                })
            })
        };
        if let Some(e) = refusal {
            self.metrics.stream_refused();
            return Err(e);
        }
        *total += 1;
        if let Some(p) = peer {
            *by_peer.entry(p).or_insert(0) += 1;
        }
        self.metrics.stream_opened();
        Ok(StreamSlot {
            streams: self.clone(),
            peer,
        })
    }
}

/// One open stream; gives its place back when dropped.
#[derive(Debug)]
pub(crate) struct StreamSlot {
    streams: Arc<Streams>,
    peer: Option<SocketAddr>,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self
            .streams
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let (total, by_peer) = &mut *open;
        *total = total.saturating_sub(1);
        if let Some(p) = self.peer {
            if let Some(n) = by_peer.get_mut(&p) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    by_peer.remove(&p);
                }
            }
        }
        self.streams.metrics.stream_closed();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(port: u16) -> Option<SocketAddr> {
        Some(SocketAddr::from(([127, 0, 0, 1], port)))
    }

    #[test]
    fn caps_apply_server_wide_and_per_connection_and_free_on_drop() {
        let streams = Arc::new(Streams::new(3, 2, Arc::new(Metrics::new(&[]))));
        let a1 = streams.open(peer(1)).expect("first on a");
        let _a2 = streams.open(peer(1)).expect("second on a");
        assert_eq!(
            streams.open(peer(1)).map(|_| ()),
            Err(ServiceError::TooManyConnectionStreams { limit: 2 })
        );
        let _b1 = streams.open(peer(2)).expect("first on b");
        assert_eq!(
            streams.open(peer(3)).map(|_| ()),
            Err(ServiceError::TooManyStreams { limit: 3 })
        );
        drop(a1);
        let _a3 = streams.open(peer(1)).expect("a's place is free again");
    }
}
