import { type DynamicModule, Module } from '@nestjs/common';
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
  static forRoot(options: { remote: boolean }): DynamicModule {
    return {
      module: AuditModule,
      global: true,
      controllers: [AuditController],
      providers: [AuditStore, { provide: AuditRecorder, useClass: options.remote ? HttpAuditRecorder : InProcessAuditRecorder }],
      exports: [AuditRecorder, AuditStore],
    };
  }
}
