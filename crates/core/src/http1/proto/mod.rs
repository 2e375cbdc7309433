//! The HTTP/1.x wire: bytes in, request heads and body pieces out; response heads and framing
//! out. Nothing here knows about sockets, tasks or the application.

pub(crate) mod chunked;
pub(crate) mod encode;
pub(crate) mod head;
