import type { AuthModuleOptions } from '../auth.options.js';
import { DPOP_MODES } from './dpop.options.js';

// RFC 9449 §4.2: `none` and MAC algorithms cannot prove possession of a private key.
const ASYMMETRIC = /^(RS|PS|ES)(256|384|512)$|^EdDSA$|^Ed25519$|^ES256K$/;

/** One assertion per rule of the `dpop` and `dpopProof` options, each naming the option. */
export function assertDpopOptions(o: AuthModuleOptions): void {
  if (o.dpop !== undefined && !DPOP_MODES.includes(o.dpop)) throw new TypeError(`'dpop' must be one of ${DPOP_MODES.join(', ')}`);
  const p = o.dpopProof;
  if (p === undefined) return;
  if (p.algorithms !== undefined) {
    if (p.algorithms.length === 0) throw new TypeError("'dpopProof.algorithms' must list at least one algorithm");
    const bad = p.algorithms.filter((a) => !ASYMMETRIC.test(a));
    if (bad.length) throw new TypeError(`'dpopProof.algorithms' accepts only asymmetric JWS algorithms, not ${bad.join(', ')}`);
  }
  for (const name of ['maxAgeSeconds', 'maxProofLength'] as const) {
    const v = p[name];
    if (v !== undefined && !(Number.isFinite(v) && v > 0)) throw new TypeError(`'dpopProof.${name}' must be a positive number`);
  }
  if (typeof p.replayStore === 'string' && !/^rediss?:\/\//.test(p.replayStore))
    throw new TypeError("'dpopProof.replayStore' must be a redis:// or rediss:// URL, or a store");
  if (p.nonce !== undefined) {
    const r = p.nonce.rotationSeconds;
    if (r !== undefined && !(Number.isFinite(r) && r >= 1)) throw new TypeError("'dpopProof.nonce.rotationSeconds' must be at least 1");
    if (p.nonce.secret !== undefined && Buffer.byteLength(p.nonce.secret) < 32)
      throw new TypeError("'dpopProof.nonce.secret' must be at least 32 bytes");
  }
}
