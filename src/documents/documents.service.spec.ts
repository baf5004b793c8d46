import { HttpException } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { type AuditEvent, type AuditEventInput, AuditRecorder } from '../audit/audit-event.js';
import { DocumentsService } from './documents.service.js';
import { DocumentsStore, MAX_DOCUMENTS } from './documents.store.js';

/** An audit recorder whose answer the test gives when it wants. */
class PendingAudit extends AuditRecorder {
  settle!: (error?: Error) => void;
  record(event: AuditEventInput): Promise<AuditEvent> {
    return new Promise((resolve, reject) => {
      this.settle = (error) => (error ? reject(error) : resolve({ ...event, id: 'e1', at: new Date().toISOString() }));
    });
  }
}

describe('DocumentsService', () => {
  it('a_failed_audit_restores_the_deleted_document_but_not_over_one_put_meanwhile', async () => {
    const audit = new PendingAudit();
    const service = new DocumentsService(new DocumentsStore(), audit);
    const deletion = service.delete('1', 'caller');
    expect(service.find('1')).toBeUndefined();
    expect(service.put('1', { title: 'Recreated', body: 'while the audit call was pending' }).created).toBe(true);
    audit.settle(new Error('audit down'));
    await expect(deletion).rejects.toThrow('audit down');
    expect(service.find('1')).toEqual({ id: '1', title: 'Recreated', body: 'while the audit call was pending' });

    const again = service.delete('2', 'caller');
    audit.settle(new Error('audit down'));
    await expect(again).rejects.toThrow('audit down');
    expect(service.find('2')).toMatchObject({ id: '2', title: 'Runbook' });
  });

  it('a_full_store_refuses_a_new_document_with_507_and_still_replaces', () => {
    const service = new DocumentsService(new DocumentsStore(), new PendingAudit());
    for (let i = 3; i < MAX_DOCUMENTS; i++) expect(service.put(`d${i}`, { title: 't', body: '' }).created).toBe(true);
    let refused: unknown;
    try {
      service.put('one-too-many', { title: 't', body: '' });
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(HttpException);
    expect((refused as HttpException).getStatus()).toBe(507);
    expect((refused as HttpException).getResponse()).toEqual({
      statusCode: 507,
      error: 'Insufficient Storage',
      message: `The sample store holds at most ${MAX_DOCUMENTS} documents`,
    });
    expect(service.find('one-too-many')).toBeUndefined();
    expect(service.put('1', { title: 'Replaced', body: '' }).created).toBe(false);
  });
});
