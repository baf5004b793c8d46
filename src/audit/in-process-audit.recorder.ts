import { Injectable } from '@nestjs/common';
import { type AuditEvent, type AuditEventInput, AuditRecorder } from './audit-event.js';
import { AuditStore } from './audit.store.js';

/** Used when no AUDIT_SERVICE_URL is configured: events go straight into this process's store. */
@Injectable()
export class InProcessAuditRecorder extends AuditRecorder {
  constructor(private readonly store: AuditStore) {
    super();
  }

  async record(event: AuditEventInput): Promise<AuditEvent> {
    return this.store.add(event, 'in-process');
  }
}
