import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../clock.js';

/**
 * Server nonces (RFC 9449 §9) without shared state: a nonce is a time slot and its HMAC, so any
 * replica holding the same secret accepts it. The current and the previous slot are valid, so a
 * nonce lives between one and two rotation periods.
 */
export class DpopNonces {
  private readonly secret: Buffer;
  private readonly periodMs: number;

  constructor(
    options: { secret?: string | Buffer; rotationSeconds?: number },
    private readonly clock: Clock,
  ) {
    this.secret = options.secret === undefined ? randomBytes(32) : Buffer.from(options.secret);
    this.periodMs = (options.rotationSeconds ?? 300) * 1000;
  }

  current(): string {
    return this.nonceOf(this.slot());
  }

  isValid(nonce: unknown): boolean {
    if (typeof nonce !== 'string' || nonce.length > 64) return false;
    const slot = this.slot();
    return this.matches(nonce, slot) || this.matches(nonce, slot - 1);
  }

  private slot(): number {
    return Math.floor(this.clock.now() / this.periodMs);
  }

  private nonceOf(slot: number): string {
    const mac = createHmac('sha256', this.secret).update(`dpop-nonce.${slot}`).digest().subarray(0, 18).toString('base64url');
    return `${slot.toString(36)}.${mac}`;
  }

  private matches(nonce: string, slot: number): boolean {
    const expected = Buffer.from(this.nonceOf(slot));
    const given = Buffer.from(nonce);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}
