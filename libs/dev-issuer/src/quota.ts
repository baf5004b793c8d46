const HOUR_SECONDS = 3600;

interface Window {
  startsAt: number;
  used: number;
}

export interface QuotaDecision {
  exceeded: boolean;
  headers: Record<string, string>;
}

/**
 * Auth0's per-client hourly quota on client-credentials tokens. Each window starts with the first
 * token after the previous one ended. Headers as Auth0 documents them ("Rate limit headers" /
 * "Client quota"): `Auth0-Client-Quota-Limit: b=per_hour;q=<quota>;r=<remaining>;t=<seconds to reset>`
 * plus `X-RateLimit-Limit/-Remaining/-Reset` (reset in epoch seconds).
 */
export class Quotas {
  private limits = new Map<string, number>();
  private windows = new Map<string, Window>();

  constructor(private readonly configured: ReadonlyMap<string, number>) {
    this.reset();
  }

  reset(): void {
    this.limits = new Map(this.configured);
    this.windows.clear();
  }

  set(clientId: string, quotaPerHour: number | null): void {
    if (quotaPerHour !== null && (!Number.isInteger(quotaPerHour) || quotaPerHour < 0)) {
      throw new TypeError('quotaPerHour must be a non-negative integer or null');
    }
    if (quotaPerHour === null) this.limits.delete(clientId);
    else this.limits.set(clientId, quotaPerHour);
    this.windows.delete(clientId);
  }

  /** Whether a token may be issued now; headers describe the state before this token. */
  check(clientId: string, now = Date.now() / 1000): QuotaDecision {
    const limit = this.limits.get(clientId);
    if (limit === undefined) return { exceeded: false, headers: {} };
    const window = this.current(clientId, now);
    const exceeded = (window?.used ?? 0) >= limit;
    const headers = this.headers(limit, window, now);
    // RFC 6585 §4: a 429 may say when to come back; here, when the hourly window ends.
    if (exceeded) headers['Retry-After'] = String(Math.max(1, Math.ceil((window?.startsAt ?? now) + HOUR_SECONDS - now)));
    return { exceeded, headers };
  }

  /** Counts an issued token; headers describe the state after it. */
  consume(clientId: string, now = Date.now() / 1000): Record<string, string> {
    const limit = this.limits.get(clientId);
    if (limit === undefined) return {};
    const window = this.current(clientId, now) ?? { startsAt: now, used: 0 };
    window.used += 1;
    this.windows.set(clientId, window);
    return this.headers(limit, window, now);
  }

  private current(clientId: string, now: number): Window | undefined {
    const window = this.windows.get(clientId);
    return window && now < window.startsAt + HOUR_SECONDS ? window : undefined;
  }

  private headers(limit: number, window: Window | undefined, now: number): Record<string, string> {
    const remaining = Math.max(0, limit - (window?.used ?? 0));
    const resetsAt = (window?.startsAt ?? now) + HOUR_SECONDS;
    const secondsToReset = Math.max(0, Math.ceil(resetsAt - now));
    return {
      'Auth0-Client-Quota-Limit': `b=per_hour;q=${limit};r=${remaining};t=${secondsToReset}`,
      'X-RateLimit-Limit': String(limit),
      'X-RateLimit-Remaining': String(remaining),
      'X-RateLimit-Reset': String(Math.ceil(resetsAt)),
    };
  }
}
