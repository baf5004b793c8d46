const HOUR_SECONDS = 3600;
const DAY_SECONDS = 86_400;

export interface QuotaLimits {
  perHour?: number;
  perDay?: number;
}

export interface QuotaDecision {
  exceeded: boolean;
  headers: Record<string, string>;
}

type Bucket = 'per_hour' | 'per_day';
const BUCKETS: ReadonlyArray<{ name: Bucket; key: keyof QuotaLimits; seconds: number }> = [
  { name: 'per_hour', key: 'perHour', seconds: HOUR_SECONDS },
  { name: 'per_day', key: 'perDay', seconds: DAY_SECONDS },
];

/**
 * Auth0's per-client M2M token quotas ("Fine-Grained Machine-to-Machine Token Quotas"): hourly
 * buckets reset at the start of each UTC hour, daily ones at the start of each UTC day. Every
 * response of a client with a quota carries `Auth0-Client-Quota-Limit`, one comma-separated entry
 * per bucket: `b=per_hour;q=<quota>;r=<remaining>;t=<seconds to reset>`.
 */
export class Quotas {
  private limits = new Map<string, QuotaLimits>();
  /** `${clientId}\0${bucket}` → the bucket's start (epoch seconds) and the tokens issued in it. */
  private used = new Map<string, { start: number; count: number }>();

  constructor(private readonly configured: ReadonlyMap<string, QuotaLimits>) {
    this.reset();
  }

  reset(): void {
    this.limits = new Map([...this.configured].map(([id, limits]) => [id, { ...limits }]));
    this.used.clear();
  }

  /** Sets (or with `null`, removes) the hourly quota and clears the client's counts. */
  set(clientId: string, quotaPerHour: number | null): void {
    if (quotaPerHour !== null && (!Number.isInteger(quotaPerHour) || quotaPerHour < 0)) {
      throw new TypeError('quotaPerHour must be a non-negative integer or null');
    }
    const limits = { ...this.limits.get(clientId) };
    if (quotaPerHour === null) delete limits.perHour;
    else limits.perHour = quotaPerHour;
    if (limits.perHour === undefined && limits.perDay === undefined) this.limits.delete(clientId);
    else this.limits.set(clientId, limits);
    for (const key of [...this.used.keys()]) if (key.startsWith(`${clientId}\0`)) this.used.delete(key);
  }

  /** Whether a token may be issued now; headers describe the state before this token. */
  check(clientId: string, now: number): QuotaDecision {
    const buckets = this.buckets(clientId, now);
    if (buckets.length === 0) return { exceeded: false, headers: {} };
    const full = buckets.filter((b) => b.used >= b.quota);
    const headers = this.headers(buckets);
    // RFC 6585 §4: a 429 may say when to come back; here, when the last full bucket resets.
    if (full.length > 0) headers['Retry-After'] = String(Math.max(1, ...full.map((b) => b.secondsToReset)));
    return { exceeded: full.length > 0, headers };
  }

  /** Counts an issued token; headers describe the state after it. */
  consume(clientId: string, now: number): Record<string, string> {
    const buckets = this.buckets(clientId, now);
    if (buckets.length === 0) return {};
    for (const bucket of buckets) this.used.set(bucket.key, { start: bucket.start, count: bucket.used + 1 });
    return this.headers(this.buckets(clientId, now));
  }

  private buckets(clientId: string, now: number) {
    const limits = this.limits.get(clientId);
    if (!limits) return [];
    return BUCKETS.flatMap(({ name, key, seconds }) => {
      const quota = limits[key];
      if (quota === undefined) return [];
      // UTC buckets: epoch seconds are UTC, and an hour or a day divides them evenly.
      const start = Math.floor(now / seconds) * seconds;
      const mapKey = `${clientId}\0${name}`;
      const entry = this.used.get(mapKey);
      const used = entry?.start === start ? entry.count : 0;
      return [{ name, quota, key: mapKey, start, used, secondsToReset: Math.max(1, Math.ceil(start + seconds - now)) }];
    });
  }

  private headers(buckets: ReturnType<Quotas['buckets']>): Record<string, string> {
    const value = buckets.map((b) => `b=${b.name};q=${b.quota};r=${Math.max(0, b.quota - b.used)};t=${b.secondsToReset}`).join(',');
    return { 'Auth0-Client-Quota-Limit': value };
  }
}
