/** The Prometheus text exposition of a server's counters. */
import type { NativeHistogram, NativeStats } from './native'

function line(out: string[], name: string, type: 'counter' | 'gauge', help: string, value: number): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${value}`)
}

/** Render counters, gauges, the status counts and the request-duration histogram. */
export function renderMetrics(s: NativeStats | undefined, h: NativeHistogram | undefined): string {
  const out: string[] = []
  const v = (x: number | undefined): number => x ?? 0
  line(out, 'gatehouse_up', 'gauge', 'Whether the server is running.', s ? 1 : 0)
  line(out, 'gatehouse_uptime_seconds', 'gauge', 'Seconds since the server started or its stats were cleared.', v(s?.runTime))
  line(out, 'gatehouse_accepts_total', 'counter', 'Connections accepted.', v(s?.accepts))
  line(out, 'gatehouse_requests_total', 'counter', 'Request heads read, rejected ones included.', v(s?.requests))
  line(out, 'gatehouse_rejected_total', 'counter', 'Requests answered by the core without reaching the application.', v(s?.rejected))
  line(out, 'gatehouse_requests_abandoned_total', 'counter', 'Requests whose client went away (or whose requestTimeout passed) before their answer; not in the response counts.', v(s?.abandoned))
  line(out, 'gatehouse_overloaded_total', 'counter', 'Requests answered 503 because the pool queue was full.', v(s?.overloaded))
  line(out, 'gatehouse_bytes_read_total', 'counter', 'Bytes read from clients.', v(s?.bytesRead))
  line(out, 'gatehouse_bytes_written_total', 'counter', 'Bytes written to clients.', v(s?.bytesWritten))
  line(out, 'gatehouse_socket_errors_total', 'counter', 'Accept and connection I/O errors.', v(s?.socketErrors))
  line(out, 'gatehouse_panics_total', 'counter', 'Connection tasks that panicked (each closed only its connection).', v(s?.panics))
  line(out, 'gatehouse_open_connections', 'gauge', 'Connections open now.', v(s?.openConnections))
  line(out, 'gatehouse_tls_handshakes_total', 'counter', 'TLS handshakes completed.', v(s?.tlsHandshakes))
  line(out, 'gatehouse_tls_handshake_errors_total', 'counter', 'TLS handshakes that failed (alerts, protocol errors, refused client certificates, clients gone).', v(s?.tlsHandshakeErrors))
  line(out, 'gatehouse_tls_handshake_timeouts_total', 'counter', 'TLS handshakes not finished within the timeout.', v(s?.tlsHandshakeTimeouts))
  line(out, 'gatehouse_tls_plain_http_total', 'counter', 'Plain HTTP requests sent to a TLS port (answered 400).', v(s?.tlsPlainHttp))
  line(out, 'gatehouse_pool_size', 'gauge', 'Worker pool slots.', v(s?.poolSize))
  line(out, 'gatehouse_pool_idle', 'gauge', 'Free worker pool slots.', v(s?.poolIdle))
  line(out, 'gatehouse_pool_queue', 'gauge', 'Requests waiting for a worker pool slot.', v(s?.poolQsize))
  out.push('# HELP gatehouse_responses_total Responses by status code.', '# TYPE gatehouse_responses_total counter')
  const st = h?.statuses ?? []
  for (let i = 0; i + 1 < st.length; i += 2) out.push(`gatehouse_responses_total{code="${st[i]}"} ${st[i + 1]}`)
  out.push(
    '# HELP gatehouse_request_duration_seconds From the request head read to the response written.',
    '# TYPE gatehouse_request_duration_seconds histogram',
  )
  const bounds = h?.bounds ?? []
  const cum = h?.cumulative ?? []
  bounds.forEach((b, i) => out.push(`gatehouse_request_duration_seconds_bucket{le="${b}"} ${cum[i] ?? 0}`))
  const total = cum[cum.length - 1] ?? 0
  out.push(`gatehouse_request_duration_seconds_bucket{le="+Inf"} ${total}`)
  out.push(`gatehouse_request_duration_seconds_sum ${h?.sumSeconds ?? 0}`)
  out.push(`gatehouse_request_duration_seconds_count ${total}`)
  return out.join('\n') + '\n'
}
