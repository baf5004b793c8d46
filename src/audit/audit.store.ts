import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { AuditEvent, AuditEventInput } from './audit-event.js';

const MAX_EVENTS = 10_000;

/** Bounded in-memory event log of the sample audit service. */
@Injectable()
export class AuditStore {
  private readonly events: AuditEvent[] = [];

  add(input: AuditEventInput, recordedBy?: string): AuditEvent {
    const event: AuditEvent = { id: randomUUID(), at: new Date().toISOString(), ...input, recordedBy };
    this.events.push(event);
    if (this.events.length > MAX_EVENTS) this.events.shift();
    return event;
  }

  list(): AuditEvent[] {
    return [...this.events];
  }
}
