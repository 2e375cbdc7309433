// The request line: method SP request-target SP HTTP-version CRLF (RFC 9112 §3), the target's
// four forms (§3.2) and the version (§2.3).
import { environOf } from '../harness.mjs'

export default [
  { id: 'RL-01', title: 'a well-formed GET is accepted and the connection stays open', rfc: 'RFC 9112 §3', request: 'GET / HTTP/1.1\r\nHost: h\r\n\r\n', expect: 200, conn: 'open' },
  { id: 'RL-02', title: 'two spaces between method and target', rfc: 'RFC 9112 §3', request: 'GET  / HTTP/1.1\r\nHost: h\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'RL-03', title: 'two spaces between target and version', rfc: 'RFC 9112 §3', request: 'GET /  HTTP/1.1\r\nHost: h\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'RL-04', title: 'a space after the version', rfc: 'RFC 9112 §3', request: 'GET / HTTP/1.1 \r\nHost: h\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'RL-05', title: 'a space before the method', rfc: 'RFC 9112 §2.2', request: ' GET / HTTP/1.1\r\nHost: h\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'RL-06', title: 'a tab instead of the first space', rfc: 'RFC 9112 §3', request: 'GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'RL-07', title: 'a tab instead of the second space', rfc: 'RFC 9112 §3', request: 'GET /\tHTTP/1.1\r\nHost: h\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'RL-08', title: 'a vertical tab between the parts', rfc: 'RFC 9112 §3', request: 'GET\x0b/ HTTP/1.1\r\nHost: h\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'RL-09', title: 'no version, followed by header fields', rfc: 'RFC 9112 §3', request: 'GET /\r\nHost: h\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'RL-10', title: 'an HTTP/0.9 simple request is refused or closed', rfc: 'RFC 9112 §3 (no HTTP/0.9)', request: 'GET /\r\n', expect: [400, 'close'], conn: 'closed' },
  { id: 'RL-11', title: 'no target', rfc: 'RFC 9112 §3', request: 'GET HTTP/1.1\r\nHost: h\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'RL-12', title: 'no method', rfc: 'RFC 9112 §3', request: '/ HTTP/1.1\r\nHost: h\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'RL-13', title: 'a delimiter "(" in the method token', rfc: 'RFC 9110 §9.1, §5.6.2', request: 'G(T / HTTP/1.1\r\nHost: h\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'RL-14', title: 'a "@" in the method token', rfc: 'RFC 9110 §9.1, §5.6.2', request: 'G@T / HTTP/1.1\r\nHost: h\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'RL-15', title: 'a control character in the method', rfc: 'RFC 9110 §5.6.2', request: 'GE\x01T / HTTP/1.1\r\nHost: h\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'RL-16', title: 'a NUL after the method', rfc: 'RFC 9112 §2.2', request: 'GET\x00 / HTTP/1.1\r\nHost: h\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'RL-17', title: 'a non-ASCII byte in the method', rfc: 'RFC 9110 §5.6.2', request: 'G\xc9T / HTTP/1.1\r\nHost: h\r\n\r\n', expect: 400, conn: 'closed' },
  {
    id: 'RL-18',
    title: 'an extension method that is a valid token reaches the app as sent',
    rfc: 'RFC 9110 §9.1',
    request: 'PURGE / HTTP/1.1\r\nHost: h\r\n\r\n',
    expect: 200,
    conn: 'open',
    check: (t, o) => t.is(environOf(o).REQUEST_METHOD, 'PURGE'),
  },
  {
    id: 'RL-19',
    title: 'methods are case-sensitive: "get" is a different (token) method, passed on as is',
    rfc: 'RFC 9110 §9.1',
    request: 'get / HTTP/1.1\r\nHost: h\r\n\r\n',
    expect: 200,
    conn: 'open',
    check: (t, o) => t.is(environOf(o).REQUEST_METHOD, 'get'),
  },
  { id: 'RL-20', title: 'a 33-byte method is refused', rfc: 'RFC 9112 §3 (length limits)', request: `${'A'.repeat(33)} / HTTP/1.1\r\nHost: h\r\n\r\n`, expect: 400, conn: 'closed' },
  { id: 'RL-21', title: 'HTTP/1.2 is not supported', rfc: 'RFC 9110 §15.6.6, RFC 9112 §2.3', request: 'GET / HTTP/1.2\r\nHost: h\r\n\r\n', expect: 505, conn: 'closed' },
  { id: 'RL-22', title: 'HTTP/2.0 on an HTTP/1 connection is not supported', rfc: 'RFC 9110 §15.6.6', request: 'GET / HTTP/2.0\r\nHost: h\r\n\r\n', expect: 505, conn: 'closed' },
  { id: 'RL-23', title: 'HTTP/9.9 is not supported', rfc: 'RFC 9110 §15.6.6', request: 'GET / HTTP/9.9\r\nHost: h\r\n\r\n', expect: 505, conn: 'closed' },
  { id: 'RL-24', title: 'HTTP/3.0 is not supported', rfc: 'RFC 9110 §15.6.6', request: 'GET / HTTP/3.0\r\nHost: h\r\n\r\n', expect: 505, conn: 'closed' },
  { id: 'RL-25', title: 'HTTP/0.9 written as a version is not supported', rfc: 'RFC 9110 §15.6.6', request: 'GET / HTTP/0.9\r\nHost: h\r\n\r\n', expect: 505, conn: 'closed' },
  { id: 'RL-26', title: 'a version with two minor digits', rfc: 'RFC 9112 §2.3', request: 'GET / HTTP/1.01\r\nHost: h\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'RL-27', title: 'a version without a minor digit', rfc: 'RFC 9112 §2.3', request: 'GET / HTTP/1\r\nHost: h\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'RL-28', title: 'the HTTP-name is case-sensitive', rfc: 'RFC 9112 §2.3', request: 'GET / http/1.1\r\nHost: h\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'RL-29', title: 'a wrong protocol name', rfc: 'RFC 9112 §2.3', request: 'GET / HTTPS/1.1\r\nHost: h\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'RL-30', title: 'a space inside the version', rfc: 'RFC 9112 §2.3', request: 'GET / HTTP/ 1.1\r\nHost: h\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'RL-31', title: 'junk after the version', rfc: 'RFC 9112 §2.3', request: 'GET / HTTP/1.1x\r\nHost: h\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'RL-32', title: 'a DEL in the target', rfc: 'RFC 9112 §3.2', request: 'GET /a\x7fb HTTP/1.1\r\nHost: h\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'RL-33', title: 'a raw non-ASCII byte in the target', rfc: 'RFC 9112 §3.2, RFC 3986 §2', request: 'GET /caf\xe9 HTTP/1.1\r\nHost: h\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'RL-34', title: 'a fragment in the target', rfc: 'RFC 9112 §3.2.1', request: 'GET /a#frag HTTP/1.1\r\nHost: h\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'RL-35', title: 'a malformed percent-escape in the path', rfc: 'RFC 3986 §2.1', request: 'GET /%zz HTTP/1.1\r\nHost: h\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'RL-36', title: 'a truncated percent-escape at the end of the path', rfc: 'RFC 3986 §2.1', request: 'GET /a% HTTP/1.1\r\nHost: h\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'RL-37', title: 'asterisk-form with GET', rfc: 'RFC 9112 §3.2.4', request: 'GET * HTTP/1.1\r\nHost: h\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'RL-38', title: 'asterisk-form with OPTIONS is accepted', rfc: 'RFC 9112 §3.2.4', request: 'OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n', expect: 200, conn: 'open' },
  { id: 'RL-39', title: 'authority-form with GET', rfc: 'RFC 9112 §3.2.3', request: 'GET example.com:80 HTTP/1.1\r\nHost: example.com\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'RL-40', title: 'CONNECT is not for an origin server', rfc: 'RFC 9110 §9.3.6, §15.5.6', request: 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', expect: 405, conn: 'closed' },
  { id: 'RL-41', title: 'a relative path without the leading slash', rfc: 'RFC 9112 §3.2.1', request: 'GET a/b HTTP/1.1\r\nHost: h\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'RL-42', title: 'a target that is only a query', rfc: 'RFC 9112 §3.2.1', request: 'GET ?q=1 HTTP/1.1\r\nHost: h\r\n\r\n', expect: 400, conn: 'closed' },
  {
    id: 'RL-43',
    title: 'absolute-form sets PATH_INFO, QUERY_STRING and HTTP_HOST from the target',
    rfc: 'RFC 9112 §3.2.2',
    request: 'GET http://example.com/a/b?x=1 HTTP/1.1\r\nHost: other.example\r\n\r\n',
    expect: 200,
    conn: 'open',
    check: (t, o) => {
      const e = environOf(o)
      t.is(e.PATH_INFO, '/a/b')
      t.is(e.QUERY_STRING, 'x=1')
      t.is(e.HTTP_HOST, 'example.com')
      t.is(e.REQUEST_URI, 'http://example.com/a/b?x=1')
    },
  },
  {
    id: 'RL-44',
    title: 'absolute-form without a path means "/"',
    rfc: 'RFC 9112 §3.2.2',
    request: 'GET http://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n',
    expect: 200,
    conn: 'open',
    check: (t, o) => {
      t.is(environOf(o).PATH_INFO, '/')
      t.is(environOf(o).QUERY_STRING, '')
    },
  },
  {
    id: 'RL-45',
    title: 'absolute-form with a port and a query but no path',
    rfc: 'RFC 9112 §3.2.2',
    request: 'GET http://example.com:8080?q=2 HTTP/1.1\r\nHost: x\r\n\r\n',
    expect: 200,
    conn: 'open',
    check: (t, o) => {
      const e = environOf(o)
      t.is(e.PATH_INFO, '/')
      t.is(e.QUERY_STRING, 'q=2')
      t.is(e.HTTP_HOST, 'example.com:8080')
    },
  },
  {
    id: 'RL-46',
    title: 'absolute-form: the scheme is case-insensitive',
    rfc: 'RFC 9110 §4.2.3',
    request: 'GET HTTP://example.com/p HTTP/1.1\r\nHost: example.com\r\n\r\n',
    expect: 200,
    conn: 'open',
    check: (t, o) => t.is(environOf(o).PATH_INFO, '/p'),
  },
  { id: 'RL-47', title: 'absolute-form with userinfo', rfc: 'RFC 9110 §4.2.4', request: 'GET http://user:pw@example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'RL-48', title: 'absolute-form with an empty authority', rfc: 'RFC 9110 §4.2.1', request: 'GET http:///path HTTP/1.1\r\nHost: h\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'RL-49', title: 'absolute-form with a scheme that is not http(s)', rfc: 'RFC 9112 §3.2.2', request: 'GET ftp://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'RL-50', title: 'one empty line before the request line is ignored', rfc: 'RFC 9112 §2.2', request: '\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n', expect: 200, conn: 'open' },
  { id: 'RL-51', title: 'a bare LF before the request line', rfc: 'RFC 9112 §2.2', request: '\nGET / HTTP/1.1\r\nHost: h\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'RL-52', title: 'a request line ended by a bare LF', rfc: 'RFC 9112 §2.2', request: 'GET / HTTP/1.1\nHost: h\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'RL-53', title: 'a request line ended by a bare CR', rfc: 'RFC 9112 §2.2', request: 'GET / HTTP/1.1\rHost: h\r\n\r\n', expect: 400, conn: 'closed' },
  {
    id: 'RL-54',
    title: 'a leading empty line sent one byte at a time is still ignored',
    rfc: 'RFC 9112 §2.2',
    request: ['\r', { data: '\n', delayMs: 50 }, { data: 'GET / HTTP/1.1\r\nHost: h\r\n\r\n', delayMs: 50 }],
    expect: 200,
    conn: 'open',
  },
  { id: 'RL-55', title: 'a "<" or ">" in the path', rfc: 'RFC 9112 §3.2, RFC 3986 §2', request: 'GET /<script> HTTP/1.1\r\nHost: h\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'RL-56', title: 'a "<" in the query', rfc: 'RFC 9112 §3.2, RFC 3986 §3.4', request: 'GET /?q=<x HTTP/1.1\r\nHost: h\r\n\r\n', expect: 400, conn: 'closed' },
  { id: 'RL-57', title: 'a backquote in the path', rfc: 'RFC 9112 §3.2, RFC 3986 §3.3', request: 'GET /a`b HTTP/1.1\r\nHost: h\r\n\r\n', expect: 400, conn: 'closed' },
  // RFC 9112 §3.2: a target that is not of the URI grammar is a 400. Characters outside RFC 3986
  // are refused (browsers percent-encode the path's "{", "}", "`" and a quote, and turn "\\"
  // into "/"; a client that leaves one raw gets a 400, not a guess), except in the query the
  // few that browsers and fetch() send raw there (RL-70).
  ...[
    ['RL-58', 'a backslash in the path', '/a\\b'],
    ['RL-61', 'a "{" and "}" in the path', '/a{b}'],
    ['RL-62', 'a "|" in the path', '/a|b'],
    ['RL-63', 'a "^" in the path', '/a^b'],
    ['RL-64', 'a double quote in the path', '/a"b'],
    ['RL-65', 'a backslash in the query', '/?a=\\b'],
    ['RL-66', 'a double quote in the query', '/?g="h"'],
    ['RL-67', 'a ">" in the query', '/?q=>'],
    ['RL-68', 'a backslash in an absolute-form path', 'http://h/a\\b'],
  ].map(([id, title, target]) => ({ id, title, rfc: 'RFC 9112 §3.2, RFC 3986 §2', request: `GET ${target} HTTP/1.1\r\nHost: h\r\n\r\n`, expect: 400, conn: 'closed' })),
  {
    id: 'RL-69',
    title: 'every character RFC 3986 has is accepted where its grammar allows it',
    rfc: 'RFC 3986 §2, §3.3, §3.4',
    request: "GET /a-b._~:@!$&'()*+,;=%5C/?x=/?[]:@ HTTP/1.1\r\nHost: h\r\n\r\n",
    expect: 200,
    conn: 'open',
    check: (t, o) => {
      t.is(environOf(o).PATH_INFO, "/a-b._~:@!$&'()*+,;=\\/")
      t.is(environOf(o).QUERY_STRING, 'x=/?[]:@')
    },
  },
  {
    id: 'RL-70',
    title: 'the characters browsers and fetch() leave raw in a query ({ } | ^ `) are accepted there, and only there',
    rfc: 'RFC 9112 §3.2 (robustness: WHATWG URL query percent-encode set)',
    request: 'GET /?q={%22a%22|^`} HTTP/1.1\r\nHost: h\r\n\r\n',
    expect: 200,
    conn: 'open',
    check: (t, o) => t.is(environOf(o).QUERY_STRING, 'q={%22a%22|^`}'),
  },
  { id: 'RL-59', title: 'four empty lines before the request line are ignored', rfc: 'RFC 9112 §2.2', request: '\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n', expect: 200, conn: 'open' },
  { id: 'RL-60', title: 'five empty lines before the request line are too many', rfc: 'RFC 9112 §2.2 (at least one SHOULD be ignored; a bound keeps it cheap)', request: '\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n', expect: 400, conn: 'closed' },
]
