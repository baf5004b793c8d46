import { HttpException, HttpStatus, Injectable, NotFoundException } from '@nestjs/common';
import { AuditRecorder } from '../audit/audit-event.js';
import type { DocumentInput } from './document-input.body.js';
import { type Document, DocumentsFullError, DocumentsStore } from './documents.store.js';

@Injectable()
export class DocumentsService {
  constructor(
    private readonly store: DocumentsStore,
    private readonly audit: AuditRecorder,
  ) {}

  find(id: string): Document | undefined {
    return this.store.find(id);
  }

  /** Creates or replaces the document `id`; 507 when a new one does not fit in the store. */
  put(id: string, input: DocumentInput): { created: boolean; document: Document } {
    const document: Document = { id, title: input.title, body: input.body };
    try {
      return { ...this.store.put(document), document };
    } catch (err) {
      if (!(err instanceof DocumentsFullError)) throw err;
      // RFC 4918 §11.5: the server cannot store the representation needed to complete the request.
      const status = HttpStatus.INSUFFICIENT_STORAGE;
      throw new HttpException({ statusCode: status, error: 'Insufficient Storage', message: err.message }, status);
    }
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
