import { Controller, Delete, Get, NotFoundException, Param } from '@nestjs/common';
import { Principal, Scopes, type AuthPrincipal } from '@nest-m2m/auth';
import { DocumentsService } from './documents.service.js';

/** The Auth0 guide's protected API. Guards are global (AuthModule `globalGuards`), so every route needs a token. */
@Controller('internal')
export class DocumentsController {
  constructor(private readonly documents: DocumentsService) {}

  @Get('data')
  data(@Principal() principal: AuthPrincipal) {
    return { message: 'Hello from a protected endpoint', clientId: principal.clientId, scopes: [...principal.scopes] };
  }

  @Get('documents/:id')
  @Scopes('read:documents')
  get(@Param('id') id: string) {
    const doc = this.documents.find(id);
    if (!doc) throw new NotFoundException(`Document ${id} not found`);
    return doc;
  }

  @Delete('documents/:id')
  @Scopes('delete:documents')
  async delete(@Param('id') id: string, @Principal() principal: AuthPrincipal) {
    return this.documents.delete(id, principal.clientId);
  }
}
