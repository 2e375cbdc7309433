//! The bridge: exchanges from tokio threads wait in a queue per JavaScript thread (a lane), and
//! a thread is woken once per batch, draining every waiting request in one call. Each request
//! goes to the lane with the fewest requests in flight. Each request is an integer id on the
//! JavaScript side; its state lives here.
//!
//! When the wake-up is sent: a request queued on an empty lane makes the lane owed a wake-up,
//! paid by a small task that first yields to the scheduler (`tokio::task::yield_now` waits until
//! the IO driver has been polled and the tasks it woke have run), or at once when `WAKE_NOW_AT`
//! requests wait. Every connection that was ready in the same turn of the IO thread is then in
//! the batch: the JavaScript thread wakes once for all of them, not for the first one and then
//! again for the rest, and a busy IO thread still pays within one turn. A thread switch is the
//! dearest part of a small request on two cores (bench/README.md, "Where the time goes").

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};

use gatehouse_core::{BodySender, Dispatch, Exchange, RequestBody, Responder, WHOLE_BODY_MAX};
use napi::bindgen_prelude::Buffer;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};

use crate::head;

/// The threadsafe function that wakes a JavaScript thread with a packed batch of request heads.
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
    /// The lane running it (its in-flight count drops when the request ends).
    lane: Arc<Lane>,
}

/// A lane with this many requests waiting is woken at once, without waiting for the IO thread
/// to run out of work.
const WAKE_NOW_AT: usize = 32;

/// The packed request heads waiting for a lane's JavaScript thread.
#[derive(Default)]
struct Queue {
    packed: Vec<u8>,
    count: usize,
}

/// One JavaScript thread's queue and wake-up.
pub struct Lane {
    queue: Mutex<Queue>,
    wake: RwLock<Option<WakeFn>>,
    /// A wake-up is owed: requests were queued and the thread has not been called for them.
    owed: AtomicBool,
    inflight: AtomicUsize,
}

impl std::fmt::Debug for Lane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lane")
            .field("inflight", &self.inflight.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Lane {
    /// Take every waiting request head (called on the lane's JavaScript thread).
    pub fn take_batch(&self) -> Vec<u8> {
        self.queue
            .lock()
            .map(|mut q| {
                q.count = 0;
                std::mem::take(&mut q.packed)
            })
            .unwrap_or_default()
    }

    /// Call the JavaScript thread if a wake-up is owed.
    fn pay_wake(&self) {
        if !self.owed.swap(false, Ordering::AcqRel) {
            return;
        }
        if let Ok(w) = self.wake.read() {
            if let Some(w) = w.as_ref() {
                w.call((), ThreadsafeFunctionCallMode::NonBlocking);
            }
        }
    }

    fn release(&self) {
        if let Ok(mut w) = self.wake.write() {
            *w = None;
        }
    }
}

/// The lanes, the open requests, and what every request shares.
pub struct Bridge {
    /// The key a worker thread names this bridge by (see `attach_lane`).
    pub key: u32,
    /// Peers whose X-Forwarded-For and X-Forwarded-Proto are believed.
    trusted: head::Trusted,
    lanes: RwLock<Vec<Arc<Lane>>>,
    slots: Mutex<HashMap<u32, Slot>>,
    next_id: AtomicU32,
}

impl std::fmt::Debug for Bridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bridge")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// Every live bridge by key, so a worker thread can attach a lane to its server.
fn registry() -> &'static Mutex<HashMap<u32, Weak<Bridge>>> {
    static REGISTRY: OnceLock<Mutex<HashMap<u32, Weak<Bridge>>>> = OnceLock::new();
    REGISTRY.get_or_init(|| Mutex::new(HashMap::new()))
}

static NEXT_KEY: AtomicU32 = AtomicU32::new(1);

impl Bridge {
    pub fn new(trusted: Vec<String>) -> Arc<Self> {
        let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
        let bridge = Arc::new(Bridge {
            key,
            trusted: head::Trusted::new(trusted),
            lanes: RwLock::new(Vec::new()),
            slots: Mutex::new(HashMap::new()),
            next_id: AtomicU32::new(1),
        });
        if let Ok(mut r) = registry().lock() {
            r.retain(|_, w| w.strong_count() > 0);
            r.insert(key, Arc::downgrade(&bridge));
        }
        bridge
    }

    /// The bridge registered under `key`, while its server lives.
    pub fn find(key: u32) -> Option<Arc<Bridge>> {
        registry().lock().ok()?.get(&key)?.upgrade()
    }

    /// Add a lane whose JavaScript thread is woken through `wake`.
    pub fn add_lane(&self, wake: WakeFn) -> Arc<Lane> {
        let lane = Arc::new(Lane {
            queue: Mutex::new(Queue::default()),
            wake: RwLock::new(Some(wake)),
            owed: AtomicBool::new(false),
            inflight: AtomicUsize::new(0),
        });
        if let Ok(mut lanes) = self.lanes.write() {
            lanes.push(lane.clone());
        }
        lane
    }

    /// How many lanes are attached.
    pub fn lane_count(&self) -> usize {
        self.lanes.read().map(|l| l.len()).unwrap_or(0)
    }

    /// Release every lane's wake-up: nothing native keeps an event loop alive after stop.
    pub fn release_lanes(&self) {
        if let Ok(mut lanes) = self.lanes.write() {
            for lane in lanes.drain(..) {
                lane.release();
            }
        }
    }

    /// Run `f` on the open request `id`.
    pub fn with_slot<T>(&self, id: u32, f: impl FnOnce(&mut Slot) -> T) -> Option<T> {
        let mut slots = self.slots.lock().ok()?;
        slots.get_mut(&id).map(f)
    }

    /// Remove the open request `id`.
    pub fn remove(&self, id: u32) -> Option<Slot> {
        let slot = self.slots.lock().ok()?.remove(&id)?;
        slot.lane.inflight.fetch_sub(1, Ordering::Relaxed);
        Some(slot)
    }

    /// How many requests are open on the JavaScript side.
    pub fn open_requests(&self) -> usize {
        self.slots.lock().map(|s| s.len()).unwrap_or(0)
    }

    /// The lane with the fewest requests in flight.
    fn pick_lane(&self) -> Option<Arc<Lane>> {
        let lanes = self.lanes.read().ok()?;
        if lanes.len() == 1 {
            return lanes.first().cloned();
        }
        lanes
            .iter()
            .min_by_key(|l| l.inflight.load(Ordering::Relaxed))
            .cloned()
    }
}

impl Dispatch for Bridge {
    fn dispatch(&self, exchange: Exchange) {
        // No lane (stopping): dropping the exchange makes the core answer 500 and close.
        let Some(lane) = self.pick_lane() else { return };
        let Exchange {
            head,
            body,
            responder,
        } = exchange;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        // A small body that came with the head crosses with it: no read calls from JavaScript.
        let whole = body.take_whole(WHOLE_BODY_MAX);
        lane.inflight.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut slots) = self.slots.lock() {
            slots.insert(
                id,
                Slot {
                    responder: Some(responder),
                    stream: None,
                    pending: None,
                    body,
                    lane: lane.clone(),
                },
            );
        }
        let (was_empty, count) = match lane.queue.lock() {
            Ok(mut q) => {
                let was_empty = q.count == 0;
                head::pack(&mut q.packed, id, &head, &self.trusted, whole.as_deref());
                q.count += 1;
                (was_empty, q.count)
            }
            Err(_) => return,
        };
        let newly_owed = was_empty && !lane.owed.swap(true, Ordering::AcqRel);
        if count >= WAKE_NOW_AT {
            lane.pay_wake();
        } else if newly_owed {
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => {
                    rt.spawn(async move {
                        tokio::task::yield_now().await;
                        lane.pay_wake();
                    });
                }
                // Not on the runtime (no turn to wait for): pay now.
                Err(_) => lane.pay_wake(),
            }
        }
    }
}
