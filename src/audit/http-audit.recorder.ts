import { BadGatewayException, Injectable, Logger, ServiceUnavailableException } from '@nestjs/common';
import { AxiosError } from 'axios';
import { firstValueFrom } from 'rxjs';
import { InjectSiblingClient, M2MError, type SiblingClient } from '@nest-m2m/auth/m2m';
import { type AuditEvent, type AuditEventInput, AuditRecorder } from './audit-event.js';

export const AUDIT_SIBLING = 'audit';
const AUDIT_TIMEOUT_MS = 5000;

/**
 * Reports events to the audit sibling over HTTP with this service's own M2M token (`write:audit`).
 * Failures are answers, not silence: 503 when no token could be had or the sibling is unreachable,
 * 502 when it answered with an error.
 */
@Injectable()
export class HttpAuditRecorder extends AuditRecorder {
  private readonly logger = new Logger('AuditRecorder');

  constructor(@InjectSiblingClient(AUDIT_SIBLING) private readonly audit: SiblingClient) {
    super();
  }

  async record(event: AuditEventInput): Promise<AuditEvent> {
    try {
      const res = await firstValueFrom(
        // A rejected token means the event was not written: safe to retry once with a new one.
        this.audit.post<AuditEvent>('/internal/audit-events', event, { timeout: AUDIT_TIMEOUT_MS, retryOnInvalidToken: true }),
      );
      if (typeof res.data?.id !== 'string') throw new BadGatewayException('The audit service answered without an event id');
      return res.data;
    } catch (err) {
      if (err instanceof BadGatewayException) throw err;
      if (err instanceof M2MError) {
        this.logger.error(`Audit event not recorded: no M2M token (${err.code}: ${err.message})`);
        throw new ServiceUnavailableException('The audit service cannot be reached: no access token could be obtained');
      }
      if (err instanceof AxiosError && err.response) {
        this.logger.error(`Audit event not recorded: audit service answered ${err.response.status}`);
        throw new BadGatewayException(`The audit service refused the event (${err.response.status})`);
      }
      this.logger.error(`Audit event not recorded: ${(err as Error).message}`);
      throw new ServiceUnavailableException('The audit service cannot be reached');
    }
  }
}
