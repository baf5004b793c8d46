/** Quotes a value for an RFC 6750 §3 auth-param: backslash and quote escaped, control characters removed. */
export function quote(value: string): string {
  // eslint-disable-next-line no-control-regex -- stripping control characters is the point (header injection)
  return `"${value.replace(/[\u0000-\u001f\u007f]/g, '').replace(/(["\\])/g, '\\$1')}"`;
}
