import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A server on 127.0.0.1 that answers every request with a chunked body (no Content-Length) that
 * starts like JSON and then streams padding until the client goes away or `maxBytes` is sent. The
 * bytes it got out before the client hung up show whether the client capped its memory.
 */
export class EndlessBodyServer {
  requests = 0;
  /** Bytes written to the last response. */
  sent = 0;
  url = '';
  private server?: Server;

  constructor(
    private readonly options: { status?: number; prefix?: string; suffix?: string; maxBytes?: number; chunkBytes?: number } = {},
  ) {}

  async start(): Promise<this> {
    const {
      status = 200,
      prefix = '{"keys":[{"kid":"',
      suffix = '"}]}',
      maxBytes = 64 * 1024 * 1024,
      chunkBytes = 16 * 1024,
    } = this.options;
    const chunk = Buffer.alloc(chunkBytes, 'a');
    this.server = createServer((req, res) => {
      this.requests += 1;
      this.sent = 0;
      req.resume();
      res.writeHead(status, { 'content-type': 'application/json' });
      res.write(prefix);
      this.sent += prefix.length;
      const pump = () => {
        while (this.sent < maxBytes && !res.destroyed) {
          this.sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        if (!res.destroyed) res.end(suffix);
      };
      res.on('close', () => res.destroy());
      pump();
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  close(): Promise<void> {
    this.server?.closeAllConnections();
    return new Promise((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}
