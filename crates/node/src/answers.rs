//! Reads the whole answers a JavaScript thread packs into one buffer per flush (the mirror of
//! `head`, which packs requests for it). Little-endian:
//!
//! ```text
//! record = u32 len | u32 index | u32 generation | u8 flags | [head] | body
//! head   = u32 n | n x str: the status, then each header's name and value (UTF-8)
//! body   = str, or with FLAG_ATTACHED: u32 index into the Buffers passed beside the flush
//! str    = u32 length | bytes
//! ```
//!
//! With FLAG_SAME_HEAD there is no head: the answer has the status and headers of the lane's
//! previous answer, whose checked and encoded head is reused. JavaScript marks it so when the
//! status and every header string are equal to the previous answer's, which is the common case
//! (a handler answers with the same headers each time): no strings are encoded nor checked.

use std::sync::Arc;

use bytes::Bytes;
use gatehouse_core::{Error, ResponseHead};
use napi::bindgen_prelude::Buffer;

use crate::bridge::RequestId;
use crate::errors;

/// Flag: the head is the previous answer's.
pub const FLAG_SAME_HEAD: u8 = 1;
/// Flag: the body is a Buffer passed beside the flush (large bodies cross without a copy).
pub const FLAG_ATTACHED: u8 = 2;
/// Flag: frame the head as node:http frames its answers (the Node-style adapter's; see
/// `ResponseHead::frame_as_node`). Part of the head: a same-head answer repeats it.
pub const FLAG_FRAME_AS_NODE: u8 = 4;

/// Why an answer cannot be sent: its error code and a sentence for the application's log.
#[derive(Clone, Debug)]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
}

impl From<Error> for Refusal {
    fn from(e: Error) -> Self {
        Refusal {
            code: errors::code(e.kind()),
            message: e.to_string(),
        }
    }
}

fn malformed() -> Refusal {
    Refusal {
        code: errors::INTERNAL,
        message: "gatehouse state error: an answer record could not be read".to_string(),
    }
}

/// The head of the lane's previous answer, as checked.
#[derive(Debug, Default)]
pub enum LastHead {
    /// No answer yet.
    #[default]
    None,
    /// A head the server can send.
    Valid(Arc<ResponseHead>),
    /// A head that cannot be sent; the answers that repeat it are refused the same way.
    Invalid(Refusal),
}

/// One answer read from a flush.
#[derive(Debug)]
pub struct Answer {
    /// Its place in the flush (what a refusal names).
    pub ordinal: u32,
    /// The request it answers (`None` when not even that could be read).
    pub id: Option<RequestId>,
    /// The head and body, or why they cannot be sent.
    pub reply: Result<(Arc<ResponseHead>, Bytes), Refusal>,
}

/// A cursor over one record; every read is checked against the record's end.
struct Reader<'a> {
    data: &'a Bytes,
    at: usize,
    end: usize,
}

impl Reader<'_> {
    fn u8(&mut self) -> Option<u8> {
        if self.at >= self.end {
            return None;
        }
        let b = *self.data.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    fn u32(&mut self) -> Option<u32> {
        if self.at + 4 > self.end {
            return None;
        }
        let b = self.data.get(self.at..self.at + 4)?;
        self.at += 4;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn bytes(&mut self) -> Option<Bytes> {
        let len = self.u32()? as usize;
        if self.at + len > self.end {
            return None;
        }
        let b = self.data.slice(self.at..self.at + len);
        self.at += len;
        Some(b)
    }
}

/// Read the head of a record (after its flags) and check it. `None`: it cannot be read.
fn read_head(r: &mut Reader<'_>) -> Option<Result<ResponseHead, Refusal>> {
    let n = r.u32()? as usize;
    let mut strings = Vec::with_capacity(n.min(256));
    for _ in 0..n {
        strings.push(r.bytes()?);
    }
    fn text(b: &Bytes) -> Option<&str> {
        std::str::from_utf8(b).ok()
    }
    let (status, fields) = strings.split_first()?;
    let status = text(status)?;
    let mut pairs = Vec::with_capacity(fields.len() / 2);
    for pair in fields.chunks_exact(2) {
        pairs.push((text(&pair[0])?, text(&pair[1])?));
    }
    Some(ResponseHead::from_app(status, pairs).map_err(Refusal::from))
}

/// Read every answer of a flush. `last` is the lane's previous head, updated as heads are
/// read. A record that cannot be read is refused alone (its length says where the next one
/// starts); a length that runs past the end stops the reading.
/// `keep_alive_secs` is what a head framed as node's announces.
pub fn read(
    data: &Bytes,
    attached: &mut [Option<Buffer>],
    last: &mut LastHead,
    keep_alive_secs: u64,
) -> Vec<Answer> {
    let mut out = Vec::new();
    let mut at = 0;
    let mut ordinal = 0u32;
    while at + 4 <= data.len() {
        let len = u32::from_le_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]) as usize;
        let end = at + 4 + len;
        if end > data.len() {
            break;
        }
        let mut r = Reader {
            data,
            at: at + 4,
            end,
        };
        let id = read_id(&mut r);
        let reply = match id {
            Some(_) => read_reply(&mut r, attached, last, keep_alive_secs).unwrap_or_else(|| {
                *last = LastHead::Invalid(malformed());
                Err(malformed())
            }),
            None => Err(malformed()),
        };
        out.push(Answer { ordinal, id, reply });
        ordinal += 1;
        at = end;
    }
    out
}

fn read_id(r: &mut Reader<'_>) -> Option<RequestId> {
    Some(RequestId {
        index: r.u32()?,
        generation: r.u32()?,
    })
}

/// The head and body of a record; `None` when the record cannot be read.
fn read_reply(
    r: &mut Reader<'_>,
    attached: &mut [Option<Buffer>],
    last: &mut LastHead,
    keep_alive_secs: u64,
) -> Option<Result<(Arc<ResponseHead>, Bytes), Refusal>> {
    let flags = r.u8()?;
    let head = if flags & FLAG_SAME_HEAD != 0 {
        match last {
            LastHead::Valid(h) => Ok(h.clone()),
            LastHead::Invalid(refusal) => Err(refusal.clone()),
            LastHead::None => return None,
        }
    } else {
        let head = read_head(r)?.map(|mut h| {
            if flags & FLAG_FRAME_AS_NODE != 0 {
                h.frame_as_node(keep_alive_secs);
            }
            Arc::new(h)
        });
        *last = match &head {
            Ok(h) => LastHead::Valid(h.clone()),
            Err(refusal) => LastHead::Invalid(refusal.clone()),
        };
        head
    };
    let body = if flags & FLAG_ATTACHED != 0 {
        let i = r.u32()? as usize;
        Bytes::from_owner(attached.get_mut(i).and_then(Option::take)?)
    } else {
        r.bytes()?
    };
    Some(head.map(|h| (h, body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put_str(out: &mut Vec<u8>, s: &[u8]) {
        out.extend_from_slice(&(s.len() as u32).to_le_bytes());
        out.extend_from_slice(s);
    }

    fn record(index: u32, flags: u8, head: &[&str], body: &str) -> Vec<u8> {
        let mut r = Vec::new();
        r.extend_from_slice(&index.to_le_bytes());
        r.extend_from_slice(&7u32.to_le_bytes());
        r.push(flags);
        if flags & FLAG_SAME_HEAD == 0 {
            r.extend_from_slice(&(head.len() as u32).to_le_bytes());
            for s in head {
                put_str(&mut r, s.as_bytes());
            }
        }
        put_str(&mut r, body.as_bytes());
        let mut out = (r.len() as u32).to_le_bytes().to_vec();
        out.extend_from_slice(&r);
        out
    }

    #[test]
    fn reads_answers_and_reuses_the_previous_head() {
        let mut data = record(1, 0, &["200 OK", "Content-Type", "text/plain"], "hello");
        data.extend(record(2, FLAG_SAME_HEAD, &[], "again"));
        let mut last = LastHead::None;
        let answers = read(&Bytes::from(data), &mut [], &mut last, 5);
        assert_eq!(answers.len(), 2);
        assert_eq!(
            answers[1].id,
            Some(RequestId {
                index: 2,
                generation: 7
            })
        );
        let (a, b) = (&answers[0].reply, &answers[1].reply);
        let (Ok((a, _)), Ok((b, body))) = (a, b) else {
            panic!("both answers are valid");
        };
        assert_eq!(&body[..], b"again");
        assert!(Arc::ptr_eq(a, b));
    }

    #[test]
    fn a_refused_head_refuses_the_answers_that_repeat_it_and_no_others() {
        let mut data = record(1, 0, &["200 OK", "Connection", "close"], "x");
        data.extend(record(2, FLAG_SAME_HEAD, &[], "y"));
        data.extend(record(3, 0, &["204 No Content"], ""));
        let mut last = LastHead::None;
        let answers = read(&Bytes::from(data), &mut [], &mut last, 5);
        assert_eq!(answers.len(), 3);
        let code = |a: &Answer| a.reply.as_ref().err().map(|r| r.code);
        assert_eq!(code(&answers[0]), Some("GH_ERR_HOP_BY_HOP_HEADER"));
        assert_eq!(code(&answers[1]), Some("GH_ERR_HOP_BY_HOP_HEADER"));
        assert!(answers[2].reply.is_ok());
    }

    #[test]
    fn a_record_cut_short_or_lying_about_its_length_is_not_read() {
        let mut data = record(1, 0, &["200 OK"], "hello");
        let whole = data.len();
        data.extend(record(2, 0, &["200 OK"], "hello"));
        data.truncate(data.len() - 3);
        let mut last = LastHead::None;
        assert_eq!(
            read(&Bytes::from(data.clone()), &mut [], &mut last, 5).len(),
            1
        );
        // A head that says it has more strings than the record holds: that answer alone is
        // refused, the next one is read.
        let mut lying = data[..whole].to_vec();
        lying[13] = 200;
        lying.extend(record(3, 0, &["200 OK"], "fine"));
        let answers = read(&Bytes::from(lying), &mut [], &mut last, 5);
        assert_eq!(answers.len(), 2);
        assert_eq!(
            answers[0].reply.as_ref().err().map(|r| r.code),
            Some("GH_ERR_INTERNAL")
        );
        assert!(answers[1].reply.is_ok());
    }
}
