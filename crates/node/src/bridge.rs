//! The bridge: exchanges from tokio threads wait in a queue per JavaScript thread (a lane), and
//! a thread is woken once per batch, draining every waiting request in one call. Each request
//! goes to the live lane with the fewest requests in flight, and lives in that lane's slot
//! table until JavaScript ends it; on the JavaScript side it is a number naming its slot and
//! the slot's generation, so an id that outlived its request never reaches another one.
//!
//! When the wake-up is sent: a request queued on an empty lane makes the lane owed a wake-up,
//! paid by a small task that first yields to the scheduler (`tokio::task::yield_now` waits until
//! the IO driver has been polled and the tasks it woke have run), or at once when `WAKE_NOW_AT`
//! requests wait. Every connection that was ready in the same turn of the IO thread is then in
//! the batch: the JavaScript thread wakes once for all of them, not for the first one and then
//! again for the rest, and a busy IO thread still pays within one turn. A batch that the
//! JavaScript thread takes by itself (at the end of the previous one) settles what is owed, so
//! it is not woken again for requests it already has. A thread switch is the dearest part of a
//! small request on two cores (bench/README.md, "Where the time goes").

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock, Weak};

use gatehouse_core::{
    Abandoned, BodySender, Dispatch, Exchange, RequestBody, Responder, Ticket, WHOLE_BODY_MAX,
};
use napi::bindgen_prelude::Buffer;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};

use crate::head;

/// The threadsafe function that wakes a JavaScript thread with a packed batch.
pub type WakeFn = ThreadsafeFunction<(), (), Buffer, napi::Status, false>;

/// Bits of a request id that name the slot; the rest is the slot's generation.
const INDEX_BITS: u32 = 20;
/// The most requests one lane holds open at once (the slot index must fit its bits).
const MAX_SLOTS: usize = 1 << INDEX_BITS;

/// A request's identity on the JavaScript side: its slot and the slot's generation. As a
/// JavaScript number it is `generation * 2^20 + index`, below 2^52, so it is exact; a slot's
/// generation changes each time it is freed, so an id that outlived its request names nothing
/// (the generation wraps only after 2^32 requests through the same slot).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestId {
    pub index: u32,
    pub generation: u32,
}

/// Bits of a ticket that hold the request id (index and generation); the lane's number is above.
const TICKET_ID_BITS: u32 = INDEX_BITS + 32;
/// The bits of a lane's number that a ticket keeps.
const LANE_MASK: u32 = 0x7ff;

impl RequestId {
    /// The ticket of this request on lane `lane`: the top bit set (0 names no request), the
    /// lane's number in 11 bits (it wraps; the generation check makes that harmless), the id.
    fn ticket(self, lane: u32) -> Ticket {
        (1 << 63)
            | (u64::from(lane & LANE_MASK) << TICKET_ID_BITS)
            | (u64::from(self.generation) << INDEX_BITS)
            | u64::from(self.index)
    }

    /// The lane number and request id a ticket names.
    fn from_ticket(t: Ticket) -> (u32, Self) {
        let id = RequestId {
            index: (t & (MAX_SLOTS as u64 - 1)) as u32,
            generation: (t >> INDEX_BITS) as u32,
        };
        (((t >> TICKET_ID_BITS) as u32) & LANE_MASK, id)
    }

    /// The id JavaScript passed, if it is one this bridge could have made.
    pub fn from_js(v: f64) -> Option<Self> {
        if !((0.0..4_503_599_627_370_496.0).contains(&v) && v.fract() == 0.0) {
            return None;
        }
        let v = v as u64;
        Some(RequestId {
            index: (v & (MAX_SLOTS as u64 - 1)) as u32,
            generation: (v >> INDEX_BITS) as u32,
        })
    }
}

/// What the bridge keeps per open request.
#[derive(Debug)]
pub struct Slot {
    /// Present until the response starts.
    pub responder: Option<Responder>,
    /// Present once a streamed response started.
    pub stream: Option<BodySender>,
    /// The request body.
    pub body: RequestBody,
}

#[derive(Debug, Default)]
struct Entry {
    generation: u32,
    slot: Option<Slot>,
}

/// The open requests of one lane: a slab whose entries carry a generation.
#[derive(Debug, Default)]
pub struct Slots {
    entries: Vec<Entry>,
    free: Vec<u32>,
    open: usize,
}

impl Slots {
    fn insert(&mut self, slot: Slot) -> Option<RequestId> {
        let index = match self.free.pop() {
            Some(i) => i,
            None if self.entries.len() < MAX_SLOTS => {
                self.entries.push(Entry::default());
                (self.entries.len() - 1) as u32
            }
            None => return None,
        };
        let entry = self.entries.get_mut(index as usize)?;
        entry.slot = Some(slot);
        self.open += 1;
        Some(RequestId {
            index,
            generation: entry.generation,
        })
    }

    /// The open request `id`.
    pub fn get_mut(&mut self, id: RequestId) -> Option<&mut Slot> {
        let entry = self.entries.get_mut(id.index as usize)?;
        if entry.generation != id.generation {
            return None;
        }
        entry.slot.as_mut()
    }

    /// End the open request `id`: its slot is free for another, under a new generation.
    pub fn remove(&mut self, id: RequestId) -> Option<Slot> {
        let entry = self.entries.get_mut(id.index as usize)?;
        if entry.generation != id.generation {
            return None;
        }
        let slot = entry.slot.take()?;
        entry.generation = entry.generation.wrapping_add(1);
        self.free.push(id.index);
        self.open -= 1;
        Some(slot)
    }

    /// End every open request (the lane's thread died).
    fn drain(&mut self) -> Vec<Slot> {
        let mut out = Vec::with_capacity(self.open);
        for (i, entry) in self.entries.iter_mut().enumerate() {
            if let Some(slot) = entry.slot.take() {
                entry.generation = entry.generation.wrapping_add(1);
                self.free.push(i as u32);
                out.push(slot);
            }
        }
        self.open = 0;
        out
    }
}

/// A lane with this many requests waiting is woken at once, without waiting for the IO thread
/// to run out of work.
const WAKE_NOW_AT: usize = 32;

/// What one lock guards: the waiting batch, whether a wake-up is owed for it, and the open
/// requests. One lock per request on the IO thread, one per batch on the JavaScript thread.
#[derive(Debug, Default)]
pub struct LaneState {
    /// The packed records waiting for the JavaScript thread (see `head`).
    pub batch: head::Batch,
    /// The buffers of the batch taken last, emptied, for the next one.
    spare: head::Batch,
    /// A wake-up is owed for the waiting batch: the thread has not been called for it.
    owed: bool,
    /// A call of the threadsafe function is queued and has not run yet: it will take whatever
    /// batch is waiting when it runs, so no second call is queued behind it (the function's
    /// queue holds one call at most).
    called: bool,
    /// The open requests.
    pub slots: Slots,
}

/// One JavaScript thread's queue, open requests and wake-up.
pub struct Lane {
    state: Mutex<LaneState>,
    wake: RwLock<Option<WakeFn>>,
    /// Open requests (read without the lock to pick the least busy lane).
    inflight: AtomicUsize,
    /// False once the thread is gone: no request is given to it any more.
    alive: AtomicBool,
    /// This lane's number in its bridge (in tickets).
    number: u32,
}

impl std::fmt::Debug for Lane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lane")
            .field("inflight", &self.inflight.load(Ordering::Relaxed))
            .field("alive", &self.alive.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Lane {
    /// The lane's state, locked. Nothing panics while it is held, so it is never poisoned;
    /// if it were, the state is still consistent (every change is one step) and is used as is.
    pub fn lock(&self) -> MutexGuard<'_, LaneState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Take the waiting batch (on the lane's JavaScript thread): what was owed for it is settled.
    /// Give it back with [`Lane::give_back`] once it is copied out.
    pub fn take_batch(state: &mut LaneState) -> head::Batch {
        state.owed = false;
        let spare = std::mem::take(&mut state.spare);
        std::mem::replace(&mut state.batch, spare)
    }

    /// A taken batch, copied out: its buffers serve a later batch.
    pub fn give_back(&self, mut batch: head::Batch) {
        batch.clear();
        self.lock().spare = batch;
    }

    /// An open request ended (answered, cut, or failed).
    pub fn ended(&self, n: usize) {
        self.inflight.fetch_sub(n, Ordering::Relaxed);
    }

    /// A wake-up is owed since the batch changed: pay it after this turn of the IO thread (or
    /// now, off the runtime).
    fn owe_wake(self: Arc<Self>) {
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    tokio::task::yield_now().await;
                    self.pay_wake();
                });
            }
            Err(_) => self.pay_wake(),
        }
    }

    /// Call the JavaScript thread if a wake-up is owed and no call is queued already.
    fn pay_wake(&self) {
        {
            let mut state = self.lock();
            if !std::mem::take(&mut state.owed) || state.called {
                return;
            }
            state.called = true;
        }
        if let Ok(w) = self.wake.read() {
            if let Some(w) = w.as_ref() {
                w.call((), ThreadsafeFunctionCallMode::NonBlocking);
            }
        }
    }

    /// The queued call runs (on the JavaScript thread): take the waiting batch for it.
    pub fn take_called(state: &mut LaneState) -> head::Batch {
        state.called = false;
        Self::take_batch(state)
    }

    /// The thread is gone or the server stops: no more wake-ups, no more requests. Returns the
    /// requests it held, for the caller to end (dropping a responder makes the core answer 500
    /// and close; dropping a stream cuts it).
    pub fn retire(&self) -> Vec<Slot> {
        self.alive.store(false, Ordering::Release);
        if let Ok(mut w) = self.wake.write() {
            *w = None;
        }
        let slots = {
            let mut state = self.lock();
            state.batch = head::Batch::default();
            state.owed = false;
            state.slots.drain()
        };
        self.ended(slots.len());
        slots
    }

    /// Whether requests still go to this lane.
    pub fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Acquire)
    }
}

/// The lanes, and what every request shares.
pub struct Bridge {
    /// The key a worker thread names this bridge by (see `attach_lane`).
    pub key: u32,
    /// Peers whose X-Forwarded-For and X-Forwarded-Proto are believed.
    trusted: head::Trusted,
    /// The seconds a kept-alive connection may idle (the `timeout` option), which answers framed
    /// as node:http's announce (`Keep-Alive: timeout=N`).
    pub keep_alive_secs: u64,
    lanes: RwLock<Vec<Arc<Lane>>>,
    next_lane: AtomicU32,
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
    pub fn new(trusted: Vec<String>, keep_alive_secs: u64) -> Arc<Self> {
        let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
        let bridge = Arc::new(Bridge {
            key,
            trusted: head::Trusted::new(trusted),
            keep_alive_secs,
            lanes: RwLock::new(Vec::new()),
            next_lane: AtomicU32::new(0),
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
            state: Mutex::new(LaneState::default()),
            wake: RwLock::new(Some(wake)),
            inflight: AtomicUsize::new(0),
            alive: AtomicBool::new(true),
            number: self.next_lane.fetch_add(1, Ordering::Relaxed),
        });
        if let Ok(mut lanes) = self.lanes.write() {
            lanes.retain(|l| l.is_alive());
            lanes.push(lane.clone());
        }
        lane
    }

    /// How many live lanes are attached.
    pub fn lane_count(&self) -> usize {
        self.lanes
            .read()
            .map(|l| l.iter().filter(|l| l.is_alive()).count())
            .unwrap_or(0)
    }

    /// Retire every lane: nothing native keeps an event loop alive after stop.
    pub fn release_lanes(&self) {
        let lanes = self
            .lanes
            .write()
            .map(|mut l| std::mem::take(&mut *l))
            .unwrap_or_default();
        for lane in lanes {
            drop(lane.retire());
        }
    }

    /// How many requests are open on the JavaScript side.
    pub fn open_requests(&self) -> usize {
        self.lanes
            .read()
            .map(|l| l.iter().map(|l| l.inflight.load(Ordering::Relaxed)).sum())
            .unwrap_or(0)
    }

    /// The live lane a ticket names, and the request's id in it.
    fn lane_of(&self, ticket: Ticket) -> Option<(Arc<Lane>, RequestId)> {
        if ticket == 0 {
            return None;
        }
        let (number, id) = RequestId::from_ticket(ticket);
        let lanes = self.lanes.read().ok()?;
        let lane = lanes
            .iter()
            .find(|l| l.number & LANE_MASK == number && l.is_alive())?;
        Some((lane.clone(), id))
    }

    /// The live lane with the fewest requests in flight.
    fn pick_lane(&self) -> Option<Arc<Lane>> {
        let lanes = self.lanes.read().ok()?;
        if let [only] = lanes.as_slice() {
            return only.is_alive().then(|| only.clone());
        }
        lanes
            .iter()
            .filter(|l| l.is_alive())
            .min_by_key(|l| l.inflight.load(Ordering::Relaxed))
            .cloned()
    }
}

impl Dispatch for Bridge {
    fn dispatch(&self, exchange: Exchange) -> Ticket {
        // No live lane (stopping, or every thread died): dropping the exchange makes the core
        // answer 500 and close.
        let Some(lane) = self.pick_lane() else {
            return 0;
        };
        let Exchange {
            head,
            body,
            responder,
        } = exchange;
        // A small body that came with the head crosses with it: no read calls from JavaScript.
        let whole = body.take_whole(WHOLE_BODY_MAX);
        let slot = Slot {
            responder: Some(responder),
            stream: None,
            body,
        };
        let (count, newly_owed, id) = {
            let mut state = lane.lock();
            // Checked under the lock: a lane retired meanwhile takes nothing more.
            if !lane.is_alive() {
                return 0;
            }
            let Some(id) = state.slots.insert(slot) else {
                return 0;
            };
            lane.inflight.fetch_add(1, Ordering::Relaxed);
            state
                .batch
                .push_request(id, &head, &self.trusted, whole.as_deref());
            let newly_owed = !state.owed;
            state.owed = true;
            (state.batch.count, newly_owed, id)
        };
        let ticket = id.ticket(lane.number);
        if count >= WAKE_NOW_AT {
            lane.pay_wake();
        } else if newly_owed {
            lane.owe_wake();
        }
        ticket
    }

    fn cancel(&self, ticket: Ticket, why: Abandoned) {
        let Some((lane, id)) = self.lane_of(ticket) else {
            return;
        };
        let (slot, newly_owed) = {
            let mut state = lane.lock();
            // Ended already (answered as the client left): nothing to tell.
            let Some(slot) = state.slots.remove(id) else {
                return;
            };
            state.batch.push_abandoned(id, why == Abandoned::Deadline);
            let newly_owed = !state.owed;
            state.owed = true;
            (slot, newly_owed)
        };
        lane.ended(1);
        // Dropped outside the lock: the responder and any stream go now.
        drop(slot);
        if newly_owed {
            lane.owe_wake();
        }
    }

    fn half_closed(&self, ticket: Ticket) {
        let Some((lane, id)) = self.lane_of(ticket) else {
            return;
        };
        let newly_owed = {
            let mut state = lane.lock();
            // Answered meanwhile: nothing to tell. The slot stays: the answer is still wanted.
            if state.slots.get_mut(id).is_none() {
                return;
            }
            state.batch.push_half_closed(id);
            let newly_owed = !state.owed;
            state.owed = true;
            newly_owed
        };
        if newly_owed {
            lane.owe_wake();
        }
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)] // a test that fails may panic
mod tests {
    use super::*;

    fn slot() -> Slot {
        Slot {
            responder: None,
            stream: None,
            body: RequestBody::empty(),
        }
    }

    #[test]
    fn an_id_that_outlived_its_request_names_nothing_when_its_slot_is_reused() {
        let mut slots = Slots::default();
        let a = slots.insert(slot()).expect("room");
        assert!(slots.remove(a).is_some());
        let b = slots.insert(slot()).expect("room");
        assert_eq!(a.index, b.index, "the slot is reused");
        assert_ne!(a.generation, b.generation);
        assert!(
            slots.get_mut(a).is_none(),
            "the old id does not reach the new request"
        );
        assert!(slots.remove(a).is_none());
        assert!(slots.get_mut(b).is_some());
    }

    #[test]
    fn a_ticket_names_its_lane_and_request_and_is_never_0() {
        let id = RequestId {
            index: 5,
            generation: u32::MAX,
        };
        let t = id.ticket(LANE_MASK + 3);
        assert_ne!(t, 0);
        assert_eq!(RequestId::from_ticket(t), (2, id));
        assert_ne!(
            RequestId {
                index: 0,
                generation: 0
            }
            .ticket(0),
            0
        );
    }

    #[test]
    fn ids_cross_to_javascript_exactly() {
        let id = RequestId {
            index: MAX_SLOTS as u32 - 1,
            generation: u32::MAX,
        };
        let js = f64::from(id.generation) * MAX_SLOTS as f64 + f64::from(id.index);
        assert_eq!(RequestId::from_js(js), Some(id));
        assert_eq!(RequestId::from_js(-1.0), None);
        assert_eq!(RequestId::from_js(1.5), None);
        assert_eq!(RequestId::from_js(f64::NAN), None);
    }
}
