/**
 * How an answer's head is framed. The Node-style adapter marks the headers array it gives
 * `startResponse` with {@link kFrameAsNode}: the core then frames that answer as node:http frames
 * its own (no default `Server` header; `Connection: keep-alive` and `Keep-Alive: timeout=N`, or
 * `Connection: close`, ahead of the framing header). A WSGI application's answers keep the
 * server's framing; hop-by-hop headers stay the server's to send either way.
 */
export const kFrameAsNode: unique symbol = Symbol('gatehouse.frameAsNode')

/** A headers array that may carry the mark. */
export type MarkedHeaders = Array<[string, string]> & { [kFrameAsNode]?: true }
