export interface AuditEventInput {
  action: string;
  resource: string;
  /** Client id of the caller on whose behalf the action happened. */
  actor?: string;
}

export interface AuditEvent extends AuditEventInput {
  id: string;
  at: string;
  /** Client id of the service that recorded the event (from its M2M token). */
  recordedBy?: string;
}

/** Where DocumentsService reports deletions: in-process, or the audit sibling over HTTP with an M2M token. */
export abstract class AuditRecorder {
  abstract record(event: AuditEventInput): Promise<AuditEvent>;
}
