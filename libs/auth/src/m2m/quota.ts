/**
 * Auth0 rate-limit and quota headers on token responses
 * (https://auth0.com/docs/troubleshoot/customer-support/operational-policies/rate-limit-policy).
 * `Auth0-Client-Quota-Limit` / `Auth0-Organization-Quota-Limit`: `b=per_hour;q=1000;r=998;t=3540`,
 * several buckets separated by commas. `X-RateLimit-Limit/Remaining/Reset`: plain numbers, reset in
 * epoch seconds.
 */
export interface QuotaBucket {
  /** `per_hour`, `per_day`… */
  bucket: string;
  limit: number;
  remaining: number;
  /** Seconds until the bucket resets. */
  resetsInSeconds: number;
}

export interface RateLimit {
  limit: number;
  remaining: number;
  /** Epoch seconds. */
  reset: number;
}

export interface M2MQuota {
  clientId: string;
  client?: QuotaBucket[];
  organization?: QuotaBucket[];
  rateLimit?: RateLimit;
  /** Epoch milliseconds of the answer the figures come from. */
  observedAt: number;
}

/** Below this share of a quota, each new answer logs a warning. */
const LOW_QUOTA_RATIO = 0.1;

export function parseQuotaHeader(value: string | null): QuotaBucket[] | undefined {
  if (!value) return undefined;
  const buckets: QuotaBucket[] = [];
  for (const part of value.split(',')) {
    const fields = new Map(
      part
        .split(';')
        .map((kv) => kv.trim().split('=') as [string, string | undefined])
        .filter(([k, v]) => k && v !== undefined)
        .map(([k, v]) => [k.toLowerCase(), v!.trim()]),
    );
    const limit = Number(fields.get('q'));
    const remaining = Number(fields.get('r'));
    if (!fields.has('q') || !fields.has('r') || !Number.isFinite(limit) || !Number.isFinite(remaining)) continue;
    buckets.push({
      bucket: fields.get('b') ?? 'unknown',
      limit,
      remaining,
      resetsInSeconds: Number(fields.get('t') ?? 0) || 0,
    });
  }
  return buckets.length > 0 ? buckets : undefined;
}

export function readQuota(headers: Headers, clientId: string, now: number): M2MQuota | undefined {
  const client = parseQuotaHeader(headers.get('auth0-client-quota-limit'));
  const organization = parseQuotaHeader(headers.get('auth0-organization-quota-limit'));
  const limit = Number(headers.get('x-ratelimit-limit'));
  const remaining = Number(headers.get('x-ratelimit-remaining'));
  const rateLimit =
    headers.has('x-ratelimit-limit') && headers.has('x-ratelimit-remaining') && Number.isFinite(limit) && Number.isFinite(remaining)
      ? { limit, remaining, reset: Number(headers.get('x-ratelimit-reset')) || 0 }
      : undefined;
  if (!client && !organization && !rateLimit) return undefined;
  return { clientId, client, organization, rateLimit, observedAt: now };
}

/** Human-readable descriptions of every bucket under `LOW_QUOTA_RATIO`. */
export function lowQuotaWarnings(quota: M2MQuota): string[] {
  const low = (remaining: number, limit: number) => limit > 0 && remaining < limit * LOW_QUOTA_RATIO;
  const warnings: string[] = [];
  for (const [scope, buckets] of [
    ['client', quota.client],
    ['organization', quota.organization],
  ] as const) {
    for (const b of buckets ?? []) {
      if (low(b.remaining, b.limit)) {
        warnings.push(`${scope} quota ${b.bucket}: ${b.remaining} of ${b.limit} token requests left, resets in ${b.resetsInSeconds} s`);
      }
    }
  }
  if (quota.rateLimit && low(quota.rateLimit.remaining, quota.rateLimit.limit)) {
    warnings.push(`rate limit: ${quota.rateLimit.remaining} of ${quota.rateLimit.limit} requests left`);
  }
  return warnings;
}
