/** What both adapters need of the environ's request headers. */

/** HTTP_ACCEPT_LANGUAGE -> accept-language, remembered: the same few names come on every request. */
const headerNames = new Map<string, string>()

/** The header name of an `HTTP_*` environ key (lower case, `_` back to `-`). */
export function headerName(key: string): string {
  let name = headerNames.get(key)
  if (name === undefined) {
    name = key.slice(5).toLowerCase().replace(/_/g, '-')
    if (headerNames.size < 1024) headerNames.set(key, name)
  }
  return name
}

/** Hop-by-hop headers: the core refuses them from an app, and they mean nothing past this hop. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'te', 'trailer'])

/** Whether a (lower-case) header name is hop-by-hop (RFC 9110 section 7.6.1, and `proxy-*`). */
export function isHopByHop(lower: string): boolean {
  return HOP_BY_HOP.has(lower) || lower.startsWith('proxy-')
}
