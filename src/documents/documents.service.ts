import { Injectable, NotFoundException } from '@nestjs/common';
import { AuditRecorder } from '../audit/audit-event.js';
import { type Document, DocumentsStore } from './documents.store.js';

@Injectable()
export class DocumentsService {
  constructor(
    private readonly store: DocumentsStore,
    private readonly audit: AuditRecorder,
  ) {}

  find(id: string): Document | undefined {
    return this.store.find(id);
  }

  /**
   * Deletes and records an audit event. If the event cannot be recorded the deletion is undone
   * and the error propagates (502/503): a deletion is never left unaudited.
   */
  async delete(id: string, actor: string | undefined) {
    const doc = this.store.delete(id);
    if (!doc) throw new NotFoundException(`Document ${id} not found`);
    try {
      const event = await this.audit.record({ action: 'document.deleted', resource: `documents/${id}`, actor });
      return { deleted: id, auditEventId: event.id };
    } catch (err) {
      this.store.restore(doc);
      throw err;
    }
  }
}
