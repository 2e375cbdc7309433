//! The bridge: exchanges from tokio threads wait in one queue, and the JavaScript thread is woken
//! once per batch (only when the queue was empty), draining every waiting request in one call.
//! Each request is an integer id on the JavaScript side; its state lives here.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use gatehouse_core::{BodySender, Dispatch, Exchange, RequestBody, Responder};
use napi::bindgen_prelude::Buffer;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};

use crate::head;

/// The threadsafe function that wakes JavaScript with a packed batch of request heads.
pub type WakeFn = ThreadsafeFunction<(), (), Buffer, napi::Status, false>;

/// What the bridge keeps per open request.
#[derive(Debug)]
pub struct Slot {
    /// Present until the response starts.
    pub responder: Option<Responder>,
    /// Present once a streamed response started.
    pub stream: Option<BodySender>,
    /// A chunk waiting for room in the stream window (written by a task; `drain` awaits it).
    pub pending: Option<tokio::task::JoinHandle<()>>,
    /// The request body.
    pub body: RequestBody,
}

/// The queue, the open requests, and the way to wake JavaScript.
pub struct Bridge {
    /// Peers whose X-Forwarded-For and X-Forwarded-Proto are believed.
    trusted: head::Trusted,
    queue: Mutex<Vec<u8>>,
    slots: Mutex<HashMap<u32, Slot>>,
    next_id: AtomicU32,
    wake: RwLock<Option<WakeFn>>,
}

impl std::fmt::Debug for Bridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bridge").finish_non_exhaustive()
    }
}

impl Bridge {
    pub fn new(trusted: Vec<String>) -> Arc<Self> {
        Arc::new(Bridge {
            trusted: head::Trusted::new(trusted),
            queue: Mutex::new(Vec::new()),
            slots: Mutex::new(HashMap::new()),
            next_id: AtomicU32::new(1),
            wake: RwLock::new(None),
        })
    }

    /// Install (or with `None`, release) the wake-up function. Releasing it lets the process
    /// exit: nothing native keeps the event loop alive after stop.
    pub fn set_wake(&self, wake: Option<WakeFn>) {
        if let Ok(mut w) = self.wake.write() {
            *w = wake;
        }
    }

    /// Take every waiting request head (called on the JavaScript thread).
    pub fn take_batch(&self) -> Vec<u8> {
        self.queue
            .lock()
            .map(|mut q| std::mem::take(&mut *q))
            .unwrap_or_default()
    }

    /// Run `f` on the open request `id`.
    pub fn with_slot<T>(&self, id: u32, f: impl FnOnce(&mut Slot) -> T) -> Option<T> {
        let mut slots = self.slots.lock().ok()?;
        slots.get_mut(&id).map(f)
    }

    /// Remove the open request `id`.
    pub fn remove(&self, id: u32) -> Option<Slot> {
        self.slots.lock().ok()?.remove(&id)
    }

    /// How many requests are open on the JavaScript side.
    pub fn open_requests(&self) -> usize {
        self.slots.lock().map(|s| s.len()).unwrap_or(0)
    }
}

impl Dispatch for Bridge {
    fn dispatch(&self, exchange: Exchange) {
        let Exchange {
            head,
            body,
            responder,
        } = exchange;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut slots) = self.slots.lock() {
            slots.insert(
                id,
                Slot {
                    responder: Some(responder),
                    stream: None,
                    pending: None,
                    body,
                },
            );
        }
        let was_empty = match self.queue.lock() {
            Ok(mut q) => {
                let was_empty = q.is_empty();
                head::pack(&mut q, id, &head, &self.trusted);
                was_empty
            }
            Err(_) => return,
        };
        if was_empty {
            if let Ok(w) = self.wake.read() {
                if let Some(w) = w.as_ref() {
                    w.call((), ThreadsafeFunctionCallMode::NonBlocking);
                }
            }
        }
    }
}
