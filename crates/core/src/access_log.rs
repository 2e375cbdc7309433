//! The access log: lines in the Common or Combined Log Format, plus the request time, written by
//! a thread of their own so the request path only hands over a line (and drops it, counted, when
//! the writer falls behind instead of blocking).

use std::fs::OpenOptions;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
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

/// Bytes of lines that may wait for the writer thread before new ones are dropped. Counted in
/// bytes, not lines: a line holds an escaped request target and headers (up to four times a
/// 64 KiB head), so a bound in lines would let a stalled sink hold gigabytes. 4 MiB is some
/// 20,000 ordinary lines, seconds of a busy server's log.
const BACKLOG_BYTES: usize = 4 << 20;

/// The request side of the access log.
#[derive(Debug)]
pub(crate) struct AccessLog {
    tx: Sender<String>,
    /// Bytes handed to the writer and not yet written (see [`BACKLOG_BYTES`]).
    queued: Arc<AtomicUsize>,
    pub format: AccessLogFormat,
}

/// What a queued line costs: its allocation, not only its length.
fn cost(line: &String) -> usize {
    line.capacity() + std::mem::size_of::<String>()
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
        Self::with_writer(out, config.format)
    }

    /// Start the writer thread on `out`.
    fn with_writer(out: Box<dyn Write + Send>, format: AccessLogFormat) -> Result<Self, Error> {
        let (tx, rx) = channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let q = queued.clone();
        std::thread::Builder::new()
            .name("gatehouse-access-log".into())
            .spawn(move || write_lines(rx, out, &q))
            .map_err(|e| Error::io(Kind::InvalidOption, "cannot start the access log writer", e))?;
        Ok(AccessLog { tx, queued, format })
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
        self.enqueue(line)
    }

    /// Queue a line unless the bytes waiting would go over [`BACKLOG_BYTES`]; false when dropped.
    fn enqueue(&self, line: String) -> bool {
        let n = cost(&line);
        // Reserve the bytes first, so that concurrent callers cannot all pass the check.
        let before = self.queued.fetch_add(n, Ordering::AcqRel);
        if before + n > BACKLOG_BYTES {
            self.queued.fetch_sub(n, Ordering::AcqRel);
            return false;
        }
        if self.tx.send(line).is_err() {
            // The writer is gone (it never exits while we hold the sender, but say so).
            self.queued.fetch_sub(n, Ordering::AcqRel);
            return false;
        }
        true
    }
}

fn write_lines(rx: Receiver<String>, out: Box<dyn Write + Send>, queued: &AtomicUsize) {
    let mut out = BufWriter::new(out);
    let write = |out: &mut BufWriter<_>, line: String| {
        let _ = out.write_all(line.as_bytes());
        // Its bytes are in the BufWriter (at most its capacity) or written: no longer queued.
        queued.fetch_sub(cost(&line), Ordering::AcqRel);
    };
    while let Ok(line) = rx.recv() {
        write(&mut out, line);
        // Batch what is already waiting, then flush once.
        while let Ok(more) = rx.try_recv() {
            write(&mut out, more);
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
    let d = crate::date::format(secs);
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

    /// A sink that takes nothing until released, then counts what it gets.
    struct Stalled {
        gate: Arc<(std::sync::Mutex<bool>, std::sync::Condvar)>,
        got: Arc<AtomicUsize>,
    }

    impl Write for Stalled {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let (open, cv) = &*self.gate;
            let mut g = open.lock().map_err(|_| io::Error::other("poisoned"))?;
            while !*g {
                g = cv.wait(g).map_err(|_| io::Error::other("poisoned"))?;
            }
            self.got.fetch_add(buf.len(), Ordering::SeqCst);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_stalled_sink_holds_at_most_the_byte_bound() {
        let gate = Arc::new((std::sync::Mutex::new(false), std::sync::Condvar::new()));
        let got = Arc::new(AtomicUsize::new(0));
        let sink = Stalled {
            gate: gate.clone(),
            got: got.clone(),
        };
        let log = AccessLog::with_writer(Box::new(sink), AccessLogFormat::Combined).unwrap();
        // A 64 KiB target of bytes that are escaped four times over: ~256 KiB a line.
        let target = vec![0xffu8; 64 * 1024];
        let entry = Entry {
            remote: "127.0.0.1",
            method: b"GET",
            target: &target,
            version: "HTTP/1.1",
            status: 200,
            bytes: 5,
            referer: b"",
            user_agent: b"",
            elapsed: Duration::from_micros(10),
        };
        let (mut kept, mut dropped, mut kept_bytes) = (0usize, 0usize, 0usize);
        for _ in 0..200 {
            if log.log(&entry) {
                kept += 1;
                kept_bytes += 4 * target.len();
            } else {
                dropped += 1;
            }
            assert!(log.queued.load(Ordering::SeqCst) <= BACKLOG_BYTES);
        }
        // 200 such lines are 50 MiB; the bound keeps at most 4 MiB, the line the writer holds
        // blocked in the sink included, and drops the rest.
        assert!(kept >= 4, "kept {kept}");
        assert!(kept_bytes <= BACKLOG_BYTES, "kept {kept_bytes} bytes");
        assert_eq!(kept + dropped, 200);
        assert!(dropped > 150, "dropped {dropped}");

        // Released, the writer writes every kept line and the queue is empty again.
        {
            let (open, cv) = &*gate;
            *open.lock().unwrap() = true;
            cv.notify_all();
        }
        let t0 = std::time::Instant::now();
        while log.queued.load(Ordering::SeqCst) != 0 && t0.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(log.queued.load(Ordering::SeqCst), 0);
        assert!(
            log.log(&entry),
            "lines are taken again once the sink drains"
        );
        let t0 = std::time::Instant::now();
        while got.load(Ordering::SeqCst) < (kept + 1) * 4 * target.len()
            && t0.elapsed() < Duration::from_secs(10)
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(got.load(Ordering::SeqCst) >= (kept + 1) * 4 * target.len());
    }
}
