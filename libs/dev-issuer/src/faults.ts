import { z } from 'zod';
import { RATE_LIMIT_MESSAGE } from './rate-limit.js';

export const FAULT_ENDPOINTS = ['token', 'jwks', 'discovery'] as const;
export type FaultEndpoint = (typeof FAULT_ENDPOINTS)[number];

/**
 * A fault for the next `count` requests to an endpoint: answer `status` (with `body`, and
 * `Retry-After` when `retryAfterSeconds` is set), wait `delayMs` first (alone: delay, then serve
 * normally), or `hang`: never answer until the issuer closes.
 */
export interface FaultSpec {
  endpoint: FaultEndpoint;
  /** Default 1. */
  count?: number;
  status?: number;
  /** An object is sent as JSON; a string as is (e.g. an HTML error page from a proxy). */
  body?: unknown;
  retryAfterSeconds?: number;
  delayMs?: number;
  hang?: boolean;
}

export const faultSpecSchema = z
  .strictObject({
    endpoint: z.enum(FAULT_ENDPOINTS),
    count: z.number().int().positive().optional(),
    // 2xx allowed on purpose: a 200 with a broken body is a fault clients must survive too.
    status: z.number().int().min(200).max(599).optional(),
    body: z.unknown().optional(),
    retryAfterSeconds: z.number().int().nonnegative().optional(),
    delayMs: z.number().int().nonnegative().optional(),
    hang: z.boolean().optional(),
  })
  .refine((fault) => fault.status !== undefined || fault.delayMs !== undefined || fault.hang === true, {
    error: 'a fault needs a status, a delayMs or hang: true',
  });

export const delaySchema = z.strictObject({ endpoint: z.enum(FAULT_ENDPOINTS), ms: z.number().int().nonnegative() });

/** What to do with one request, decided when it arrives. */
export interface FaultPlan {
  delayMs: number;
  hang: boolean;
  failure?: { status: number; body: unknown; headers: Record<string, string> };
}

/** Bodies shaped like the ones Auth0 sends for these statuses. */
function defaultBody(status: number): unknown {
  if (status === 429) return { error: 'too_many_requests', error_description: RATE_LIMIT_MESSAGE };
  if (status === 503) return { error: 'temporarily_unavailable', error_description: 'The service is temporarily unavailable' };
  if (status >= 500) return { error: 'server_error', error_description: 'Injected server error' };
  return { error: 'injected_fault', error_description: `Injected ${status}` };
}

export function parseFaultSpec(input: unknown): FaultSpec {
  const parsed = faultSpecSchema.safeParse(input);
  if (!parsed.success)
    throw new TypeError(`Invalid fault: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(fault)'}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** Queued one-shot faults and persistent delays, per endpoint. */
export class Faults {
  private queues = new Map<FaultEndpoint, Array<{ spec: FaultSpec; left: number }>>();
  private delays = new Map<FaultEndpoint, number>();

  failNext(input: FaultSpec): void {
    const spec = parseFaultSpec(input);
    const queue = this.queues.get(spec.endpoint) ?? [];
    queue.push({ spec, left: spec.count ?? 1 });
    this.queues.set(spec.endpoint, queue);
  }

  setDelay(endpoint: FaultEndpoint, ms: number): void {
    const { endpoint: valid, ms: delay } = delaySchema.parse({ endpoint, ms });
    if (delay === 0) this.delays.delete(valid);
    else this.delays.set(valid, delay);
  }

  clear(): void {
    this.queues.clear();
    this.delays.clear();
  }

  /** Consumes one queued fault, in the order they were queued. */
  plan(endpoint: FaultEndpoint): FaultPlan {
    const plan: FaultPlan = { delayMs: this.delays.get(endpoint) ?? 0, hang: false };
    const queue = this.queues.get(endpoint);
    const head = queue?.[0];
    if (!queue || !head) return plan;
    if (--head.left <= 0) queue.shift();
    const { spec } = head;
    plan.delayMs += spec.delayMs ?? 0;
    plan.hang = spec.hang === true;
    if (spec.status !== undefined) {
      const headers: Record<string, string> = spec.retryAfterSeconds !== undefined ? { 'Retry-After': String(spec.retryAfterSeconds) } : {};
      plan.failure = { status: spec.status, body: spec.body ?? defaultBody(spec.status), headers };
    }
    return plan;
  }
}
