-- A 64 KiB POST body on every request; the app reads it (wsgi.input) and echoes it back.
wrk.method = "POST"
wrk.body = string.rep("p", 64 * 1024)
wrk.headers["Content-Type"] = "application/octet-stream"
