/**
 * A response body as UTF-8 text, counting bytes as they arrive: past `maxBytes` the stream is
 * cancelled (which closes the connection) and `undefined` comes back. `response.text()` would buffer
 * whatever a hostile or broken server sends — a chunked answer has no Content-Length to check first,
 * and a compressed one's Content-Length says nothing about its decoded size — so the count runs on
 * the decoded bytes, and memory stays within the limit whatever the headers claim.
 */
export async function readTextWithin(response: Response, maxBytes: number): Promise<string | undefined> {
  const declared = Number(response.headers.get('content-length'));
  if (response.headers.get('content-encoding') === null && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    return undefined;
  }
  if (!response.body) return '';
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total).toString('utf8');
}
