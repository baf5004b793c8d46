interface RequestLike {
  method?: string;
  headers: Record<string, string | string[] | undefined>;
  originalUrl?: string;
  url?: string;
  socket?: { encrypted?: boolean };
  /** Fastify: the Node request. */
  raw?: { url?: string; method?: string; socket?: { encrypted?: boolean } };
}

// split() returns at least one element.
const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value)?.split(',')[0]!.trim() || undefined;

/**
 * RFC 9449 §4.3 step 9: the URI that a proof's `htu` must match — scheme, host, port and path of the
 * request, without query and fragment — normalised as RFC 3986 §6.2.2/§6.2.3 describe (WHATWG URL
 * parsing: lower-case scheme and host, default port dropped, empty path as `/`, dot segments
 * resolved). Undefined when no URL can be built (no Host header).
 */
export function requestUri(req: RequestLike, trustForwardedHeaders: boolean): string | undefined {
  const raw = req.raw ?? req;
  const encrypted = raw.socket?.encrypted === true;
  const scheme = (trustForwardedHeaders ? first(req.headers['x-forwarded-proto']) : undefined) ?? (encrypted ? 'https' : 'http');
  const host = (trustForwardedHeaders ? first(req.headers['x-forwarded-host']) : undefined) ?? first(req.headers.host);
  if (!host || (scheme !== 'http' && scheme !== 'https')) return undefined;
  const target = req.originalUrl ?? raw.url ?? '/';
  // An absolute-form target (a request line with the whole URI) has its own authority: use only the path.
  const path = target.startsWith('/') ? target : '/';
  return normaliseHtu(`${scheme}://${host}${path}`);
}

/** The comparable form of an `htu` (or request URI): scheme, authority and path; undefined if not an http(s) URL. */
export function normaliseHtu(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.username || url.password) return undefined;
  return `${url.protocol}//${url.host}${url.pathname}`;
}
