// Message framing: Content-Length (RFC 9110 §8.6, RFC 9112 §6.3) and Transfer-Encoding
// (RFC 9112 §6.1): one unambiguous body length or a 400 and a closed connection.
import { environOf } from '../harness.mjs'

const body = (text) => (t, o) => t.is(o.calls[0]?.body, text)

export default [
  { id: 'FR-01', title: 'Content-Length frames the body', rfc: 'RFC 9112 §6.3', request: 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello', expect: 200, conn: 'open', check: body('hello') },
  { id: 'FR-02', title: 'Content-Length: 0', rfc: 'RFC 9112 §6.3', request: 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n', expect: 200, conn: 'open', check: body('') },
  { id: 'FR-03', title: 'a Content-Length with leading zeros', rfc: 'RFC 9110 §8.6', request: 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 005\r\n\r\nhello', expect: 200, conn: 'open', check: body('hello') },
  { id: 'FR-04', title: 'a negative Content-Length', rfc: 'RFC 9110 §8.6, RFC 9112 §6.3', request: 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\nhello', expect: 400, conn: 'closed' },
  { id: 'FR-05', title: 'a Content-Length with a plus sign', rfc: 'RFC 9110 §8.6', request: 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\nhello', expect: 400, conn: 'closed' },
  { id: 'FR-06', title: 'a hexadecimal Content-Length', rfc: 'RFC 9110 §8.6', request: 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x5\r\n\r\nhello', expect: 400, conn: 'closed' },
  { id: 'FR-07', title: 'a space inside the Content-Length', rfc: 'RFC 9110 §8.6', request: 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5 5\r\n\r\nhello', expect: 400, conn: 'closed' },
  { id: 'FR-08', title: 'a decimal point in the Content-Length', rfc: 'RFC 9110 §8.6', request: 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5.0\r\n\r\nhello', expect: 400, conn: 'closed' },
  { id: 'FR-09', title: 'an empty Content-Length', rfc: 'RFC 9110 §8.6', request: 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\nhello', expect: 400, conn: 'closed' },
  { id: 'FR-10', title: 'a Content-Length list, even of equal values', rfc: 'RFC 9110 §8.6 (a recipient may reject)', request: 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\nhello', expect: 400, conn: 'closed' },
  { id: 'FR-11', title: 'two Content-Length fields, even with the same value', rfc: 'RFC 9110 §8.6 (a recipient may reject)', request: 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello', expect: 400, conn: 'closed' },
  { id: 'FR-12', title: 'two Content-Length fields with different values', rfc: 'RFC 9112 §6.3', request: 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!', expect: 400, conn: 'closed' },
  { id: 'FR-13', title: 'a Content-Length that overflows 64 bits', rfc: 'RFC 9110 §8.6', request: 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\nhello', expect: 400, conn: 'closed' },
  { id: 'FR-14', title: 'a letter after the digits', rfc: 'RFC 9110 §8.6', request: 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5x\r\n\r\nhello', expect: 400, conn: 'closed' },
  { id: 'FR-15', title: 'Content-Length then Transfer-Encoding', rfc: 'RFC 9112 §6.1, §6.3', request: 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'FR-16', title: 'Transfer-Encoding then Content-Length', rfc: 'RFC 9112 §6.1, §6.3', request: 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'FR-17', title: 'Content-Length and Transfer-Encoding with keep-alive asked: still closed', rfc: 'RFC 9112 §6.1', request: 'POST / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'FR-18', title: 'Transfer-Encoding: chunked, identity (chunked is not last)', rfc: 'RFC 9112 §6.1', request: 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'FR-19', title: 'Transfer-Encoding: identity', rfc: 'RFC 9112 §6.1', request: 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'FR-20', title: 'Transfer-Encoding: gzip (chunked missing)', rfc: 'RFC 9112 §6.1', request: 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'FR-21', title: 'Transfer-Encoding: gzip, chunked is understood but not implemented', rfc: 'RFC 9112 §6.1, RFC 9110 §15.6.2', request: 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n', expect: 501, conn: 'closed' },
  { id: 'FR-22', title: 'Transfer-Encoding: xchunked', rfc: 'RFC 9112 §6.1', request: 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'FR-23', title: 'Transfer-Encoding: chunkedx', rfc: 'RFC 9112 §6.1', request: 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunkedx\r\n\r\n0\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'FR-24', title: 'Transfer-Encoding: chunked followed by a vertical tab', rfc: 'RFC 9112 §6.1, RFC 9110 §5.5', request: 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\x0b\r\n\r\n0\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'FR-25', title: 'Transfer-Encoding: a vertical tab before chunked', rfc: 'RFC 9112 §6.1, RFC 9110 §5.5', request: 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \x0bchunked\r\n\r\n0\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'FR-26', title: 'Transfer-Encoding with two spaces before chunked is chunked: whitespace around a value is not part of it', rfc: 'RFC 9110 §5.5, RFC 9112 §6.1', request: 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:  chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n', expect: 200, conn: 'open', check: body('hello') },
  { id: 'FR-27', title: 'Transfer-Encoding with a tab before chunked is chunked: whitespace around a value is not part of it', rfc: 'RFC 9110 §5.5, RFC 9112 §6.1', request: 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\tchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n', expect: 200, conn: 'open', check: body('hello') },
  { id: 'FR-28', title: 'Transfer-Encoding with a space after chunked is chunked: whitespace around a value is not part of it', rfc: 'RFC 9110 §5.5, RFC 9112 §6.1', request: 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked \r\n\r\n5\r\nhello\r\n0\r\n\r\n', expect: 200, conn: 'open', check: body('hello') },
  { id: 'FR-29', title: 'Transfer-Encoding with a tab after chunked is chunked: whitespace around a value is not part of it', rfc: 'RFC 9110 §5.5, RFC 9112 §6.1', request: 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\t\r\n\r\n5\r\nhello\r\n0\r\n\r\n', expect: 200, conn: 'open', check: body('hello') },
  { id: 'FR-46', title: 'Transfer-Encoding:<HTAB>chunked<HTAB> is chunked', rfc: 'RFC 9110 §5.5, RFC 9112 §6.1', request: 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\tchunked\t\r\n\r\n5\r\nhello\r\n0\r\n\r\nGET /second HTTP/1.1\r\nHost: h\r\n\r\n', expect: 200, responses: 2, appCalls: 2, conn: 'open', check: body('hello') },
  { id: 'FR-30', title: 'Transfer-Encoding: chunked with no space after the colon', rfc: 'RFC 9112 §6.1', request: 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n', expect: 200, conn: 'open', check: body('hello') },
  { id: 'FR-31', title: 'transfer coding names are case-insensitive', rfc: 'RFC 9112 §7', request: 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n', expect: 200, conn: 'open', check: body('hello') },
  { id: 'FR-32', title: 'Transfer-Encoding: chunked, chunked', rfc: 'RFC 9112 §6.1 (chunked at most once)', request: 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'FR-33', title: 'two Transfer-Encoding: chunked fields', rfc: 'RFC 9112 §6.1 (chunked at most once)', request: 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'FR-34', title: 'Transfer-Encoding: gzip then Transfer-Encoding: chunked', rfc: 'RFC 9112 §6.1, RFC 9110 §15.6.2', request: 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', expect: 501, conn: 'closed' },
  { id: 'FR-35', title: 'Transfer-Encoding: chunked then Transfer-Encoding: x', rfc: 'RFC 9112 §6.1', request: 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n0\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'FR-36', title: 'an empty Transfer-Encoding', rfc: 'RFC 9112 §6.1', request: 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\r\n\r\n0\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'FR-37', title: 'an empty list element before chunked', rfc: 'RFC 9112 §6.1', request: 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: ,chunked\r\n\r\n0\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'FR-38', title: 'a parameter on chunked', rfc: 'RFC 9112 §7', request: 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked;q=1\r\n\r\n0\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'FR-39', title: 'Transfer-Encoding on an HTTP/1.0 request', rfc: 'RFC 9112 §6.1', request: 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'FR-40', title: 'Transfer-Encoding with a space before the colon', rfc: 'RFC 9112 §5.1', request: 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n', expect: 400, conn: 'closed' },
  {
    id: 'FR-41',
    title: 'a POST without Content-Length or Transfer-Encoding has no body',
    rfc: 'RFC 9112 §6.3 (7)',
    request: 'POST / HTTP/1.1\r\nHost: h\r\n\r\n',
    expect: 200,
    conn: 'open',
    check: (t, o) => {
      t.is(o.calls[0]?.bodyLength, 0)
      t.is(environOf(o).CONTENT_LENGTH, undefined)
    },
  },
  {
    id: 'FR-42',
    title: 'a body framed by Content-Length is followed by the next pipelined request',
    rfc: 'RFC 9112 §6.3, §9.3.2',
    request: 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET /second HTTP/1.1\r\nHost: h\r\n\r\n',
    expect: 200,
    conn: 'open',
    responses: 2,
    appCalls: 2,
    check: (t, o) => {
      t.is(o.calls[0]?.body, 'hello')
      t.is(environOf(o, 1).PATH_INFO, '/second')
    },
  },
  {
    id: 'FR-43',
    title: 'a GET with a Content-Length body: the body is read, not taken as a request',
    rfc: 'RFC 9110 §9.3.1, RFC 9112 §6.3',
    request: 'GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 19\r\n\r\nGET /x HTTP/1.1\r\n\r\n',
    expect: 200,
    conn: 'open',
    check: body('GET /x HTTP/1.1\r\n\r\n'),
  },
  { id: 'FR-44', title: 'Transfer-Encoding: chunked with an empty list element after it', rfc: 'RFC 9112 §6.1', request: 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked,\r\n\r\n0\r\n\r\n', expect: 400, conn: 'closed' },
  {
    id: 'FR-45',
    title: 'a CRLF after a Content-Length body, before the next pipelined request, is ignored',
    rfc: 'RFC 9112 §2.2',
    request: 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello\r\nGET /second HTTP/1.1\r\nHost: h\r\n\r\n',
    expect: 200,
    conn: 'open',
    responses: 2,
    appCalls: 2,
    check: (t, o) => {
      t.is(o.calls[0]?.body, 'hello')
      t.is(environOf(o, 1).PATH_INFO, '/second')
    },
  },
]
