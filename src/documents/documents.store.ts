import { Injectable } from '@nestjs/common';

export interface Document {
  id: string;
  title: string;
  body: string;
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

  delete(id: string): Document | undefined {
    const doc = this.docs.get(id);
    this.docs.delete(id);
    return doc;
  }

  restore(doc: Document): void {
    this.docs.set(doc.id, doc);
  }
}
