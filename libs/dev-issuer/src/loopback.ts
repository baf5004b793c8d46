import { isIP } from 'node:net';

/** localhost, 127.0.0.0/8 or ::1 (with or without the brackets a URL puts around IPv6). */
export function isLoopback(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  return bare === '::1';
}

/** The host name of a Host header or an Origin (`http://localhost:5173`), if it parses. */
export function hostnameOf(value: string, kind: 'host' | 'origin'): string | undefined {
  try {
    const url = new URL(kind === 'host' ? `http://${value}` : value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    return url.hostname;
  } catch {
    return undefined;
  }
}
