import { Global, Module } from '@nestjs/common';
import { AuditRecorder } from './audit-event.js';
import { AuditController } from './audit.controller.js';
import { AuditStore } from './audit.store.js';
import { InProcessAuditRecorder } from './in-process-audit.recorder.js';

@Global()
@Module({
  controllers: [AuditController],
  providers: [AuditStore, { provide: AuditRecorder, useClass: InProcessAuditRecorder }],
  exports: [AuditRecorder, AuditStore],
})
export class AuditModule {}
