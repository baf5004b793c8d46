import { type DynamicModule, Module } from '@nestjs/common';
import { Dpop, type DpopMode } from '@nest-m2m/auth';
import { AuditRecorder } from './audit-event.js';
import { AuditController } from './audit.controller.js';
import { AuditStore } from './audit.store.js';
import { HttpAuditRecorder } from './http-audit.recorder.js';
import { InProcessAuditRecorder } from './in-process-audit.recorder.js';

/**
 * The sample audit API, and the recorder that documents use: the audit sibling over HTTP with an
 * M2M token when `AUDIT_SERVICE_URL` is set (embedded mode: this service itself), else in-process.
 */
@Module({})
export class AuditModule {
  static forRoot(options: { remote: boolean; dpop?: DpopMode }): DynamicModule {
    return {
      module: AuditModule,
      global: true,
      controllers: [options.dpop ? withDpop(options.dpop) : AuditController],
      providers: [AuditStore, { provide: AuditRecorder, useClass: options.remote ? HttpAuditRecorder : InProcessAuditRecorder }],
      exports: [AuditRecorder, AuditStore],
    };
  }
}

/** The audit API under its own DPoP mode (`AUDIT_DPOP`): a subclass per app, so apps in one process do not share it. */
function withDpop(mode: DpopMode): typeof AuditController {
  class DpopAuditController extends AuditController {}
  Dpop(mode)(DpopAuditController);
  return DpopAuditController;
}
