//! The request body as the application reads it, whatever protocol carries it: a handle on that
//! protocol's reader ([`BodySource`]), or no body at all.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;

use crate::error::Error;

/// One read of a body in progress.
pub(crate) type Reading<'a> = Pin<Box<dyn Future<Output = Result<Bytes, Error>> + Send + 'a>>;

/// What a protocol's body reader does for the application (HTTP/1: `http1::body`).
pub(crate) trait BodySource: Send + Sync + fmt::Debug {
    /// The whole body in one piece when it is already here and at most `max` bytes.
    fn take_whole(&self, max: usize) -> Option<Bytes>;
    /// The next piece, at most `max` bytes (0: what has arrived); empty at the end.
    fn read(&self, max: usize) -> Reading<'_>;
}

/// The request body, read on demand. Cloning shares the same body.
#[derive(Clone, Debug, Default)]
pub struct RequestBody {
    source: Option<Arc<dyn BodySource>>,
}

impl RequestBody {
    /// The body a protocol's reader gives.
    pub(crate) fn from_source(source: Arc<dyn BodySource>) -> Self {
        RequestBody {
            source: Some(source),
        }
    }

    /// A body that is empty.
    pub fn empty() -> Self {
        RequestBody { source: None }
    }

    /// Whether there is no body at all.
    pub fn is_empty(&self) -> bool {
        self.source.is_none()
    }

    /// The whole body, taken out in one piece, when it is a body of known length of at most
    /// `max` bytes that has already arrived (the client sent it with the head) and no
    /// `100 Continue` is awaited. Later reads see the end of the body. `None` otherwise: the body
    /// is then read with [`RequestBody::read`].
    pub fn take_whole(&self, max: usize) -> Option<Bytes> {
        self.source.as_ref()?.take_whole(max)
    }

    /// Read the next piece of the body, at most `max` bytes (0: what has arrived, up to 1 MiB).
    /// An empty result is the end of the body. The first read of a request sent with
    /// `Expect: 100-continue` is what sends `100 Continue`.
    ///
    /// # Errors
    /// [`Kind::BodyTooLarge`](crate::Kind::BodyTooLarge) past `max_request_body_size`,
    /// [`Kind::BodyTimeout`](crate::Kind::BodyTimeout) when the client stalls longer than
    /// `timeout`, [`Kind::BodyInvalid`](crate::Kind::BodyInvalid) for bad framing or a body cut
    /// short, [`Kind::Closed`](crate::Kind::Closed) when the connection went away.
    pub async fn read(&self, max: usize) -> Result<Bytes, Error> {
        match &self.source {
            None => Ok(Bytes::new()),
            Some(source) => source.read(max).await,
        }
    }
}
