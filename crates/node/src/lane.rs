//! A lane: one JavaScript thread's handle on a server. The calls that end a request (`respond`,
//! `end`, `abort`) consume its id; the calls that borrow it (`read`, `write`, `drain`) check that
//! it is still open. The main thread gets a lane from `NativeServer.attach`; a worker thread
//! (`appThreads`) gets one from `attachLane(serverKey, onRequests)`.

use std::sync::{Arc, Mutex, Weak};

use bytes::Bytes;
use napi::bindgen_prelude::{Buffer, BufferSlice, Either, Function, PromiseRaw};
use napi::{Env, Result};
use napi_derive::napi;

use gatehouse_core::{Responder, ResponseHead};

use crate::bridge::{Bridge, Lane, WakeFn};
use crate::errors;

/// One JavaScript thread's handle on a server's requests.
#[napi]
pub struct NativeLane {
    bridge: Arc<Bridge>,
    lane: Arc<Lane>,
    /// Whole answers held while the thread runs a batch (`Some` between `holdAnswers` and
    /// `sendAnswers`): they go to their connections together, so the IO thread that writes
    /// them is woken once and finds them all, instead of once per answer.
    held: Mutex<Option<Vec<(Responder, ResponseHead, Bytes)>>>,
}

/// Held answers go out at once when this many wait, so the first ones are not kept long.
const HOLD_MAX: usize = 32;

/// Give whole answers to their connections. A client may have gone; the application has
/// nothing left to do either way.
fn send_all(answers: impl IntoIterator<Item = (Responder, ResponseHead, Bytes)>) {
    for (responder, head, body) in answers {
        let _ = responder.respond(head, body);
    }
}

/// Make the threadsafe function that wakes this thread with each batch of its lane.
pub fn attach(bridge: &Arc<Bridge>, on_requests: Function<'_, Buffer, ()>) -> Result<NativeLane> {
    let lane_slot: Arc<std::sync::OnceLock<Weak<Lane>>> = Arc::new(std::sync::OnceLock::new());
    let for_callback = lane_slot.clone();
    let wake: WakeFn = on_requests
        .build_threadsafe_function::<()>()
        .callee_handled::<false>()
        .build_callback(move |ctx| {
            let batch = for_callback
                .get()
                .and_then(Weak::upgrade)
                .map(|l| l.take_batch())
                .unwrap_or_default();
            to_js_buffer(&ctx.env, &batch)
        })?;
    let lane = bridge.add_lane(wake);
    let _ = lane_slot.set(Arc::downgrade(&lane));
    Ok(NativeLane {
        bridge: bridge.clone(),
        lane,
        held: Mutex::new(None),
    })
}

/// Attach the calling JavaScript thread (a worker thread) to the server named by `serverKey`.
#[napi]
pub fn attach_lane(server_key: u32, on_requests: Function<'_, Buffer, ()>) -> Result<NativeLane> {
    let bridge = Bridge::find(server_key)
        .ok_or_else(|| errors::option(format!("no running server has key {server_key}")))?;
    attach(&bridge, on_requests)
}

/// Bytes for JavaScript, copied into a Buffer V8 allocates: V8 counts that memory when it decides
/// to collect, not the memory behind an external Buffer, so bytes handed over as external
/// Buffers piled up until a late collection (a batch carries request bodies up to 64 KiB each:
/// 64 KiB POSTs on 256 connections grew RSS to 235 MiB with external batches).
pub fn to_js_buffer(env: &Env, bytes: &[u8]) -> Result<Buffer> {
    BufferSlice::copy_from(env, bytes).and_then(|b| b.into_buffer(env))
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

#[napi]
impl NativeLane {
    /// The whole response in one call (the fast path). Consumes the request.
    #[napi]
    pub fn respond(
        &self,
        env: &Env,
        id: u32,
        status: String,
        headers: Vec<String>,
        body: Option<Either<String, BufferSlice<'_>>>,
    ) -> Result<()> {
        let head = response_head(&status, &headers)?;
        let slot = self.bridge.remove(id).ok_or_else(|| errors::closed(id))?;
        let responder = slot.responder.ok_or_else(|| errors::closed(id))?;
        let body = match body {
            Some(b) => chunk_bytes(env, b)?,
            None => Bytes::new(),
        };
        // Never poisoned (nothing panics while it is held); if it were, the answer is dropped
        // and the core answers 500.
        let Ok(mut held) = self.held.lock() else {
            return Ok(());
        };
        match held.as_mut() {
            Some(answers) => {
                answers.push((responder, head, body));
                if answers.len() >= HOLD_MAX {
                    // Still holding: only the answers so far go now.
                    let full = std::mem::take(answers);
                    drop(held);
                    send_all(full);
                }
            }
            None => send_all([(responder, head, body)]),
        }
        Ok(())
    }

    /// Hold whole answers (`respond`) until `sendAnswers`: called as a batch starts.
    #[napi]
    pub fn hold_answers(&self) {
        if let Ok(mut held) = self.held.lock() {
            held.get_or_insert_with(Vec::new);
        }
    }

    /// Send the held answers and stop holding: called as a batch ends.
    #[napi]
    pub fn send_answers(&self) {
        let answers = self.held.lock().ok().and_then(|mut held| held.take());
        send_all(answers.into_iter().flatten());
    }

    /// Start a streamed response (status and headers). Borrows the request.
    #[napi]
    pub fn start_response(&self, id: u32, status: String, headers: Vec<String>) -> Result<()> {
        let head = response_head(&status, &headers)?;
        self.bridge
            .with_slot(id, |slot| {
                let responder = slot.responder.take().ok_or_else(|| errors::closed(id))?;
                let sender = responder.start(head).map_err(errors::to_napi)?;
                slot.stream = Some(sender);
                Ok(())
            })
            .unwrap_or_else(|| Err(errors::closed(id)))
    }

    /// Queue a chunk of a streamed response. Returns false when the caller must await
    /// `drain(id)` before the next write (the chunk itself is always taken).
    #[napi]
    pub fn write(
        &self,
        env: &Env,
        id: u32,
        chunk: Either<String, BufferSlice<'_>>,
    ) -> Result<bool> {
        let bytes = chunk_bytes(env, chunk)?;
        // One look-up of the request, and the sender is cloned only when the chunk must wait.
        self.bridge
            .with_slot(id, |slot| {
                let sender = slot.stream.as_ref().ok_or_else(|| errors::closed(id))?;
                match sender.try_write(bytes).map_err(errors::to_napi)? {
                    None => Ok(sender.has_room()),
                    Some(back) => {
                        // No room: park the chunk in a task that waits for room; drain() waits
                        // for it. A closed stream shows up in the next drain() or write().
                        let sender = sender.clone();
                        slot.pending = Some(napi::bindgen_prelude::spawn(async move {
                            let _ = sender.write(back).await;
                        }));
                        Ok(false)
                    }
                }
            })
            .unwrap_or_else(|| Err(errors::closed(id)))
    }

    /// Resolves when the streamed response can take more (or rejects when the client is gone).
    #[napi(ts_return_type = "Promise<void>")]
    pub fn drain<'env>(&self, env: &'env Env, id: u32) -> Result<PromiseRaw<'env, ()>> {
        let (pending, sender) = self
            .bridge
            .with_slot(id, |slot| (slot.pending.take(), slot.stream.clone()))
            .ok_or_else(|| errors::closed(id))?;
        env.spawn_future(async move {
            if let Some(p) = pending {
                let _ = p.await;
            }
            if let Some(s) = sender {
                s.writable().await.map_err(errors::to_napi)?;
            }
            Ok(())
        })
    }

    /// Finish a streamed response. Consumes the request.
    #[napi]
    pub fn end(&self, id: u32) -> Result<()> {
        self.finish(id, false)
    }

    /// Cut a response and close the connection. Consumes the request.
    #[napi]
    pub fn abort(&self, id: u32) -> Result<()> {
        self.finish(id, true)
    }

    /// Read at most `max` bytes of the request body (0: a convenient amount). Resolves with an
    /// empty Buffer at the end of the body.
    #[napi(ts_return_type = "Promise<Buffer>")]
    pub fn read<'env>(
        &self,
        env: &'env Env,
        id: u32,
        max: u32,
    ) -> Result<PromiseRaw<'env, Buffer>> {
        let body = self
            .bridge
            .with_slot(id, |slot| slot.body.clone())
            .ok_or_else(|| errors::closed(id))?;
        env.spawn_future_with_callback(
            async move { body.read(max as usize).await.map_err(errors::to_napi) },
            // Copied (see to_js_buffer): as external Buffers, the pieces of a 1 GiB upload read
            // in 1 MiB pieces grew RSS by 94-145 MiB; copied, 44 MiB (bench scenario 10).
            |env, bytes| to_js_buffer(env, &bytes),
        )
    }

    /// Take the requests that arrived while JavaScript was busy with the last batch, without
    /// waiting for another wake-up; `null` when there are none.
    #[napi]
    pub fn take_batch(&self, env: &Env) -> Result<Option<Buffer>> {
        let batch = self.lane.take_batch();
        if batch.is_empty() {
            Ok(None)
        } else {
            to_js_buffer(env, &batch).map(Some)
        }
    }
}

impl NativeLane {
    fn finish(&self, id: u32, abort: bool) -> Result<()> {
        let slot = self.bridge.remove(id).ok_or_else(|| errors::closed(id))?;
        let Some(sender) = slot.stream else {
            // Nothing was started: dropping the responder makes the core answer 500 and close.
            return Ok(());
        };
        if slot.pending.is_none() && sender.try_finish(abort) {
            return Ok(());
        }
        let pending = slot.pending;
        napi::bindgen_prelude::spawn(async move {
            if let Some(p) = pending {
                let _ = p.await;
            }
            if abort {
                sender.abort().await;
            } else {
                sender.end().await;
            }
        });
        Ok(())
    }
}
