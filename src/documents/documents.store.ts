import { Injectable } from '@nestjs/common';

export interface Document {
  id: string;
  title: string;
  body: string;
}

/** The store lives in memory: past this many documents a new one is refused (replacing still works). */
export const MAX_DOCUMENTS = 1000;

/** Thrown by `put` for a new document when the store is full. */
export class DocumentsFullError extends Error {
  override readonly name = 'DocumentsFullError';
  constructor() {
    super(`The sample store holds at most ${MAX_DOCUMENTS} documents`);
  }
}

/** In-memory documents, seeded so the sample API answers on a fresh start. */
@Injectable()
export class DocumentsStore {
  private readonly docs = new Map<string, Document>(
    [
      { id: '1', title: 'Quarterly report', body: 'Revenue grew.' },
      { id: '2', title: 'Runbook', body: 'Rotate the keys.' },
      { id: '3', title: 'Design notes', body: 'Client credentials between services.' },
    ].map((d) => [d.id, d]),
  );

  find(id: string): Document | undefined {
    return this.docs.get(id);
  }

  /** Creates or replaces; says which. */
  put(doc: Document): { created: boolean } {
    const created = !this.docs.has(doc.id);
    if (created && this.docs.size >= MAX_DOCUMENTS) throw new DocumentsFullError();
    this.docs.set(doc.id, doc);
    return { created };
  }

  delete(id: string): Document | undefined {
    const doc = this.docs.get(id);
    this.docs.delete(id);
    return doc;
  }

  /** Undoes a deletion, unless a PUT has created the id again meanwhile: that newer document wins. */
  restore(doc: Document): void {
    if (!this.docs.has(doc.id)) this.docs.set(doc.id, doc);
  }
}
