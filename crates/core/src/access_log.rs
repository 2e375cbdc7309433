//! The access log: lines in the Common or Combined Log Format, plus the request time, written by
//! a thread of their own so the request path only hands over a line (and drops it, counted, when
//! the writer falls behind instead of blocking).

use std::fs::OpenOptions;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{Error, Kind};

/// Where the access log goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccessLogTarget {
    /// Standard output.
    Stdout,
    /// A file, appended to (created when missing).
    File(PathBuf),
}

/// The line format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessLogFormat {
    /// `host - - [time] "request" status bytes micros`
    Common,
    /// Common plus `"referer" "user-agent"` before the request time.
    Combined,
}

/// Access log settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessLogConfig {
    /// Where lines go.
    pub target: AccessLogTarget,
    /// Which format.
    pub format: AccessLogFormat,
}

/// Lines that may wait for the writer thread before new ones are dropped.
const BACKLOG: usize = 8192;

/// The request side of the access log.
#[derive(Debug)]
pub(crate) struct AccessLog {
    tx: SyncSender<String>,
    pub format: AccessLogFormat,
}

/// What one access log line says.
pub(crate) struct Entry<'a> {
    pub remote: &'a str,
    pub method: &'a [u8],
    pub target: &'a [u8],
    pub version: &'a str,
    pub status: u16,
    pub bytes: u64,
    pub referer: &'a [u8],
    pub user_agent: &'a [u8],
    pub elapsed: Duration,
}

impl AccessLog {
    /// Open the target and start the writer thread.
    pub(crate) fn open(config: &AccessLogConfig) -> Result<Self, Error> {
        let out: Box<dyn Write + Send> = match &config.target {
            AccessLogTarget::Stdout => Box::new(io::stdout()),
            AccessLogTarget::File(p) => Box::new(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .map_err(|e| {
                        Error::io(
                            Kind::InvalidOption,
                            format!("cannot open the access log {}", p.display()),
                            e,
                        )
                    })?,
            ),
        };
        let (tx, rx) = sync_channel(BACKLOG);
        std::thread::Builder::new()
            .name("gatehouse-access-log".into())
            .spawn(move || write_lines(rx, out))
            .map_err(|e| Error::io(Kind::InvalidOption, "cannot start the access log writer", e))?;
        Ok(AccessLog {
            tx,
            format: config.format,
        })
    }

    /// Hand a line to the writer; false when it was dropped.
    pub(crate) fn log(&self, e: &Entry<'_>) -> bool {
        let mut line = String::with_capacity(160);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        line.push_str(if e.remote.is_empty() { "-" } else { e.remote });
        line.push_str(" - - [");
        clf_time(&mut line, now);
        line.push_str("] \"");
        escape(&mut line, e.method);
        line.push(' ');
        escape(&mut line, e.target);
        line.push(' ');
        line.push_str(e.version);
        line.push_str("\" ");
        line.push_str(&e.status.to_string());
        line.push(' ');
        if e.bytes == 0 {
            line.push('-');
        } else {
            line.push_str(&e.bytes.to_string());
        }
        if self.format == AccessLogFormat::Combined {
            line.push_str(" \"");
            if e.referer.is_empty() {
                line.push('-')
            } else {
                escape(&mut line, e.referer)
            }
            line.push_str("\" \"");
            if e.user_agent.is_empty() {
                line.push('-')
            } else {
                escape(&mut line, e.user_agent)
            }
            line.push('"');
        }
        line.push(' ');
        line.push_str(&e.elapsed.as_micros().to_string());
        line.push('\n');
        !matches!(self.tx.try_send(line), Err(TrySendError::Full(_)))
    }
}

fn write_lines(rx: Receiver<String>, out: Box<dyn Write + Send>) {
    let mut out = BufWriter::new(out);
    while let Ok(line) = rx.recv() {
        let _ = out.write_all(line.as_bytes());
        // Batch what is already waiting, then flush once.
        while let Ok(more) = rx.try_recv() {
            let _ = out.write_all(more.as_bytes());
        }
        let _ = out.flush();
    }
}

/// Printable ASCII as is, everything else (and `"` and `\`) escaped as `\xHH`.
fn escape(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        if (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\' {
            out.push(b as char);
        } else {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
}

/// `10/Oct/2000:13:55:36 +0000`
fn clf_time(out: &mut String, secs: u64) {
    let d = crate::proto::date::format(secs);
    // d is "Sun, 06 Nov 1994 08:49:37 GMT"
    let s = std::str::from_utf8(&d).unwrap_or("Thu, 01 Jan 1970 00:00:00 GMT");
    out.push_str(&s[5..7]);
    out.push('/');
    out.push_str(&s[8..11]);
    out.push('/');
    out.push_str(&s[12..16]);
    out.push(':');
    out.push_str(&s[17..25]);
    out.push_str(" +0000");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_clf_time_and_escapes() {
        let mut s = String::new();
        clf_time(&mut s, 784_111_777);
        assert_eq!(s, "06/Nov/1994:08:49:37 +0000");
        let mut e = String::new();
        escape(&mut e, b"a\"b\n");
        assert_eq!(e, "a\\x22b\\x0a");
    }
}
