//! A lane: one JavaScript thread's handle on a server. The calls that end a request (an answer
//! in `flush`, `end`, `abort`) consume its id; the calls that borrow it (`read`, `write`,
//! `drain`, `startResponse`) check that it is still open and fail with `GH_ERR_CLOSED` if not.
//! The main thread gets a lane from `NativeServer.attach`; a worker thread (`appThreads`) gets
//! one from `attachLane(serverKey, onRequests)`.
//!
//! Every entry point catches panics (`catch_unwind`): a bug here is an error in JavaScript,
//! never an abort of the process.

use std::sync::{Arc, Mutex, Weak};

use bytes::Bytes;
use napi::bindgen_prelude::{Buffer, BufferSlice, Either, Function, PromiseRaw};
use napi::{Env, Result};
use napi_derive::napi;

use gatehouse_core::ResponseHead;

use crate::answers::{self, LastHead};
use crate::bridge::{Bridge, Lane, RequestId, Slot, WakeFn};
use crate::errors;
use crate::head;

/// One JavaScript thread's handle on a server's requests.
#[napi]
pub struct NativeLane {
    lane: Arc<Lane>,
    /// The head of the previous whole answer (answers that repeat it reuse it).
    last_head: Mutex<LastHead>,
    /// What heads framed as node:http's announce (`Keep-Alive: timeout=N`).
    keep_alive_secs: u64,
}

/// Make the threadsafe function that wakes this thread with each batch of its lane.
pub fn attach(
    env: &Env,
    bridge: &Arc<Bridge>,
    on_requests: Function<'_, Buffer, ()>,
) -> Result<NativeLane> {
    let lane_slot: Arc<std::sync::OnceLock<Weak<Lane>>> = Arc::new(std::sync::OnceLock::new());
    let for_callback = lane_slot.clone();
    let wake: WakeFn = on_requests
        .build_threadsafe_function::<()>()
        .callee_handled::<false>()
        .build_callback(move |ctx| {
            let lane = for_callback.get().and_then(Weak::upgrade);
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let Some(lane) = lane else {
                    return batch_buffer(&ctx.env, &head::Batch::default());
                };
                let batch = Lane::take_called(&mut lane.lock());
                let buffer = batch_buffer(&ctx.env, &batch);
                lane.give_back(batch);
                buffer
            }))
            .map_err(napi::bindgen_prelude::panic_to_error)
            .and_then(|r| r)
        })?;
    let lane = bridge.add_lane(wake);
    let _ = lane_slot.set(Arc::downgrade(&lane));
    // When this thread's environment goes away (a worker that exits, even by process.exit()
    // inside the application), its lane takes no more requests and the ones it held are
    // answered by the core (500, or a cut for a response already started).
    let for_cleanup = Arc::downgrade(&lane);
    env.add_env_cleanup_hook(for_cleanup, |lane| {
        if let Some(lane) = lane.upgrade() {
            drop(lane.retire());
        }
    })?;
    Ok(NativeLane {
        lane,
        last_head: Mutex::new(LastHead::None),
        keep_alive_secs: bridge.keep_alive_secs,
    })
}

/// Attach the calling JavaScript thread (a worker thread) to the server named by `serverKey`.
#[napi(catch_unwind)]
pub fn attach_lane(
    env: Env,
    server_key: u32,
    on_requests: Function<'_, Buffer, ()>,
) -> Result<NativeLane> {
    let bridge = Bridge::find(server_key)
        .ok_or_else(|| errors::option(format!("no running server has key {server_key}")))?;
    attach(&env, &bridge, on_requests)
}

/// The batch as one Buffer, copied into memory V8 allocates (see `to_js_buffer`).
fn batch_buffer(env: &Env, batch: &head::Batch) -> Result<Buffer> {
    let (len, text, bodies) = batch.parts();
    to_js_buffer(env, &[&len, text, bodies])
}

/// Bytes for JavaScript, copied into a Buffer V8 allocates: V8 counts that memory when it decides
/// to collect, not the memory behind an external Buffer, so bytes handed over as external
/// Buffers piled up until a late collection (a batch carries request bodies up to 64 KiB each:
/// 64 KiB POSTs on 256 connections grew RSS to 235 MiB with external batches).
pub fn to_js_buffer(env: &Env, parts: &[&[u8]]) -> Result<Buffer> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let mut data: *mut std::ffi::c_void = std::ptr::null_mut();
    let mut value = std::ptr::null_mut();
    // SAFETY: napi_create_buffer makes a Buffer of `len` bytes owned by V8 and stores its
    // data pointer in `data`; the Buffer stays alive (it is a value of this call's scope)
    // while the bytes are copied in below.
    napi::check_status!(unsafe {
        napi::sys::napi_create_buffer(env.raw(), len, &mut data, &mut value)
    })?;
    if len > 0 {
        // SAFETY: `data` points at `len` writable bytes (napi_create_buffer succeeded), and no
        // other reference to them exists yet.
        let out = unsafe { std::slice::from_raw_parts_mut(data.cast::<u8>(), len) };
        let mut at = 0;
        for p in parts {
            out[at..at + p.len()].copy_from_slice(p);
            at += p.len();
        }
    }
    // SAFETY: `value` is the Buffer napi_create_buffer just made in this environment.
    unsafe { napi::bindgen_prelude::FromNapiValue::from_napi_value(env.raw(), value) }
}

/// Buffers at least this large are handed to the core without a copy: the core keeps a
/// reference to the JavaScript Buffer until the bytes are written (as `socket.write` does, the
/// application must not change a Buffer it has handed over). Smaller ones are copied, which is
/// cheaper than the reference.
const ZERO_COPY_MIN: usize = 64 * 1024;

fn chunk_bytes(env: &Env, chunk: Either<String, BufferSlice<'_>>) -> Result<Bytes> {
    Ok(match chunk {
        Either::A(s) => Bytes::from(s.into_bytes()),
        Either::B(b) if b.len() >= ZERO_COPY_MIN => Bytes::from_owner(b.into_buffer(env)?),
        Either::B(b) => Bytes::copy_from_slice(&b),
    })
}

fn response_head(status: &str, headers: &[String]) -> Result<ResponseHead> {
    let pairs = headers
        .chunks_exact(2)
        .map(|p| (p[0].as_str(), p[1].as_str()));
    ResponseHead::from_app(status, pairs).map_err(errors::to_napi)
}

fn id_of(id: f64) -> Result<RequestId> {
    RequestId::from_js(id).ok_or_else(|| errors::closed(id))
}

#[napi]
impl NativeLane {
    /// The CGI names of the headers whose key crosses as a number (key `i + 1` is `knownKeys()[i]`).
    #[napi(catch_unwind)]
    pub fn known_keys(&self) -> Vec<&'static str> {
        head::KNOWN_KEYS.iter().map(|(_, cgi)| *cgi).collect()
    }

    /// Send the whole answers packed in `answers[..len]` (see `answers`), then take the requests
    /// that arrived meanwhile: their batch, or `null` when there are none. An answer the core
    /// refuses (a head it cannot send) comes back in that batch as a refusal record naming the
    /// answer's place in this flush. `attached` holds the large bodies the records refer to.
    #[napi(catch_unwind)]
    pub fn flush(
        &self,
        env: &Env,
        answers: Option<BufferSlice<'_>>,
        len: u32,
        attached: Option<Vec<Buffer>>,
    ) -> Result<Option<Buffer>> {
        let read = match answers {
            Some(buf) => {
                let data = buf
                    .get(..len as usize)
                    .ok_or_else(|| errors::option("flush: len is past the buffer".into()))?;
                // One copy for the whole flush; each body is a slice of it.
                let data = Bytes::copy_from_slice(data);
                let mut attached: Vec<Option<Buffer>> =
                    attached.unwrap_or_default().into_iter().map(Some).collect();
                let mut last = self.last_head.lock().unwrap_or_else(|e| e.into_inner());
                answers::read(&data, &mut attached, &mut last, self.keep_alive_secs)
            }
            None => Vec::new(),
        };
        let mut replies = Vec::with_capacity(read.len());
        let mut refused = Vec::new();
        let batch = {
            let mut state = self.lane.lock();
            for answer in read {
                match (answer.id, answer.reply) {
                    (Some(id), Ok((head, body))) => {
                        // A request that is gone (its client left) needs no answer.
                        if let Some(slot) = state.slots.remove(id) {
                            replies.push((slot, head, body));
                        }
                    }
                    (_, Err(refusal)) => refused.push((answer.ordinal, refusal)),
                    (None, Ok(_)) => {}
                }
            }
            Lane::take_batch(&mut state)
        };
        self.lane.ended(replies.len());
        for (slot, head, body) in replies {
            // A request whose response already started cannot take a whole answer: its
            // stream is dropped, which cuts it (the client sees an incomplete response).
            if let Some(responder) = slot.responder {
                let _ = responder.respond_shared(head, body);
            }
        }
        let mut batch = batch;
        for (ordinal, refusal) in &refused {
            batch.push_refused(*ordinal, refusal.code, &refusal.message);
        }
        let buffer = if batch.is_empty() {
            Ok(None)
        } else {
            batch_buffer(env, &batch).map(Some)
        };
        self.lane.give_back(batch);
        buffer
    }

    /// Start a streamed response (status and headers; `frameAsNode`: framed as node:http frames
    /// its answers). Borrows the request.
    #[napi(catch_unwind)]
    pub fn start_response(
        &self,
        id: f64,
        status: String,
        headers: Vec<String>,
        frame_as_node: Option<bool>,
    ) -> Result<()> {
        let mut head = response_head(&status, &headers)?;
        if frame_as_node == Some(true) {
            head.frame_as_node(self.keep_alive_secs);
        }
        self.with_slot(id, |slot| {
            let responder = slot.responder.take()?;
            Some(responder.start(head).map(|s| slot.stream = Some(s)))
        })?
        .map_err(errors::to_napi)
    }

    /// Queue a chunk of a streamed response, after every chunk before it. Returns false once
    /// the stream's window is full: the caller should await `drain(id)` before writing more
    /// (the chunk itself is always taken).
    #[napi(catch_unwind)]
    pub fn write(
        &self,
        env: &Env,
        id: f64,
        chunk: Either<String, BufferSlice<'_>>,
    ) -> Result<bool> {
        let bytes = chunk_bytes(env, chunk)?;
        self.with_slot(id, |slot| slot.stream.as_ref().map(|s| s.write(bytes)))?
            .map_err(errors::to_napi)
    }

    /// Resolves when the streamed response's window has room (or rejects when the client is
    /// gone).
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn drain<'env>(&self, env: &'env Env, id: f64) -> Result<PromiseRaw<'env, ()>> {
        let sender = self.with_slot(id, |slot| slot.stream.clone())?;
        env.spawn_future(async move { sender.writable().await.map_err(errors::to_napi) })
    }

    /// Finish a streamed response, after every chunk written before. Consumes the request.
    #[napi(catch_unwind)]
    pub fn end(&self, id: f64) -> Result<()> {
        self.finish(id, false)
    }

    /// Cut a response and close the connection. Consumes the request.
    #[napi(catch_unwind)]
    pub fn abort(&self, id: f64) -> Result<()> {
        self.finish(id, true)
    }

    /// Give up a request whose client half-closed, without an answer (it is counted as
    /// abandoned, not as a 500); a started response is cut. Consumes the request.
    #[napi(catch_unwind)]
    pub fn abandon(&self, id: f64) -> Result<()> {
        let rid = id_of(id)?;
        let slot = self
            .lane
            .lock()
            .slots
            .remove(rid)
            .ok_or_else(|| errors::closed(id))?;
        self.lane.ended(1);
        match (slot.stream, slot.responder) {
            (Some(sender), _) => sender.abort(),
            (None, Some(responder)) => responder.abandon(),
            (None, None) => {}
        }
        Ok(())
    }

    /// Read at most `max` bytes of the request body (0: a convenient amount). Resolves with an
    /// empty Buffer at the end of the body.
    #[napi(catch_unwind, ts_return_type = "Promise<Buffer>")]
    pub fn read<'env>(
        &self,
        env: &'env Env,
        id: f64,
        max: u32,
    ) -> Result<PromiseRaw<'env, Buffer>> {
        let body = self.with_slot(id, |slot| Some(slot.body.clone()))?;
        env.spawn_future_with_callback(
            // The error is made on the JavaScript thread, where it can carry the OS error of a
            // connection that failed under the read (ECONNRESET) as `errno`/`osCode`.
            async move { Ok(body.read(max as usize).await) },
            // Copied (see to_js_buffer): as external Buffers, the pieces of a 1 GiB upload read
            // in 1 MiB pieces grew RSS by 94-145 MiB; copied, 44 MiB (bench scenario 10).
            |env, read| match read {
                Ok(bytes) => to_js_buffer(env, &[&bytes]),
                Err(e) => Err(errors::to_js(env, e)),
            },
        )
    }
}

impl NativeLane {
    /// Run `f` on the open request `id` (under the lane's lock); `GH_ERR_CLOSED` when there is no
    /// such request, or `f` finds nothing to work on (no stream yet, the response started).
    fn with_slot<T>(&self, id: f64, f: impl FnOnce(&mut Slot) -> Option<T>) -> Result<T> {
        let rid = id_of(id)?;
        let mut state = self.lane.lock();
        state
            .slots
            .get_mut(rid)
            .and_then(f)
            .ok_or_else(|| errors::closed(id))
    }

    fn finish(&self, id: f64, abort: bool) -> Result<()> {
        let rid = id_of(id)?;
        let slot = self
            .lane
            .lock()
            .slots
            .remove(rid)
            .ok_or_else(|| errors::closed(id))?;
        self.lane.ended(1);
        match slot.stream {
            Some(sender) if abort => sender.abort(),
            Some(sender) => sender.end(),
            // Nothing was started: dropping the responder makes the core answer 500 and close.
            None => {}
        }
        Ok(())
    }
}
