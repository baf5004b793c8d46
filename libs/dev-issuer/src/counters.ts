export interface DevIssuerCounters {
  /** Every request to the token endpoint, including refused and fault-injected ones. */
  tokenRequests: number;
  /**
   * Token requests by the client id they claim (Basic, body `client_id` or assertion `sub`), before
   * authentication, for configured clients only: ids that no client has are not kept.
   */
  tokenRequestsByClient: Record<string, number>;
  /** Tokens issued over HTTP (not `controls.issueToken`). */
  tokensIssued: number;
  jwksFetches: number;
  discoveryFetches: number;
}

export class Counters {
  private state = Counters.empty();
  private readonly clientIds: ReadonlySet<string>;

  /**
   * `clientIds`: the configured clients. The claimed id is unauthenticated, so counting every id
   * sent would let anyone grow the map without bound; the configured ids bound it.
   */
  constructor(clientIds: Iterable<string>) {
    this.clientIds = new Set(clientIds);
  }

  private static empty(): DevIssuerCounters {
    // Null prototype: a client id such as "__proto__" is just a key.
    return {
      tokenRequests: 0,
      tokenRequestsByClient: Object.create(null) as Record<string, number>,
      tokensIssued: 0,
      jwksFetches: 0,
      discoveryFetches: 0,
    };
  }

  increment(name: 'tokenRequests' | 'tokensIssued' | 'jwksFetches' | 'discoveryFetches'): void {
    this.state[name] += 1;
  }

  tokenRequestBy(clientId: string): void {
    if (!this.clientIds.has(clientId)) return;
    this.state.tokenRequestsByClient[clientId] = (this.state.tokenRequestsByClient[clientId] ?? 0) + 1;
  }

  /** A copy, so callers can keep snapshots and compare. */
  snapshot(): DevIssuerCounters {
    return {
      ...this.state,
      tokenRequestsByClient: Object.assign(Object.create(null) as Record<string, number>, this.state.tokenRequestsByClient),
    };
  }

  reset(): void {
    this.state = Counters.empty();
  }
}
