/**
 * The time source of every expiry decision in both modules (token `exp`/`nbf`/`iat`, JWKS freshness,
 * cached outgoing tokens). Pass one as the `clock` option to test time-dependent behaviour without
 * waiting; timers still run on real time.
 */
export interface Clock {
  /** Milliseconds since the epoch, like `Date.now()`. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
