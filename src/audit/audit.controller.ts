import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { Audience, Principal, Scopes, type AuthPrincipal } from '@nest-m2m/auth';
import { ReadsBody } from '../json-body.interceptor.js';
import { AuditStore } from './audit.store.js';
import { AuditEventBody } from './audit-event.body.js';

/** The sample sibling service: other services report events here with their own M2M token. */
@Controller('internal/audit-events')
@Audience('audit') // AUDIT_API_AUDIENCE: a documents API token does not open the audit API
export class AuditController {
  constructor(private readonly store: AuditStore) {}

  @Post()
  @HttpCode(201)
  @Scopes('write:audit')
  @ReadsBody()
  create(@Body() body: unknown, @Principal() principal: AuthPrincipal) {
    return this.store.add(AuditEventBody.parse(body), principal.clientId);
  }

  @Get()
  @Scopes('read:audit')
  list() {
    return { events: this.store.list() };
  }
}
