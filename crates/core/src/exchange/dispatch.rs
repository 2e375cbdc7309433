//! Where admitted requests go: the [`Dispatch`] the binding implements, and how the core names a
//! request again when it abandons it.

use super::Exchange;

/// Receives every admitted request. Implemented by the binding (the bridge to JavaScript) and by
/// the Rust-only responder used as the benchmark ceiling.
pub trait Dispatch: Send + Sync + 'static {
    /// Take one exchange. Must not block: queue it and return. The ticket is how the core names
    /// this request again in [`Dispatch::cancel`] (0 when the dispatcher needs no such word).
    fn dispatch(&self, exchange: Exchange) -> Ticket;

    /// The request `ticket` was abandoned: its answer is not wanted any more (a late one is
    /// dropped) and its pool slot is already free. Must not block.
    fn cancel(&self, ticket: Ticket, why: Abandoned) {
        let _ = (ticket, why);
    }

    /// The client of request `ticket` half-closed its connection: it sends nothing more, but
    /// may still be reading. The answer is still wanted and will be written; the application
    /// may stop early (its signal aborts). Must not block.
    fn half_closed(&self, ticket: Ticket) {
        let _ = ticket;
    }
}

/// What a dispatcher calls a request it took (see [`Dispatch::dispatch`]).
pub type Ticket = u64;

/// Why a request was abandoned before its answer was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Abandoned {
    /// The client closed or reset its connection.
    ClientGone,
    /// `request_timeout` passed.
    Deadline,
}
