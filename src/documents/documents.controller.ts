import { Body, Controller, Delete, Get, Headers, NotFoundException, Param, Put, Res, UnsupportedMediaTypeException } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ApiBody, ApiParam, ApiResponse } from '@nestjs/swagger';
import { Audience, Principal, Scopes, type AuthPrincipal } from '@nest-m2m/auth';
import { DOCUMENT_ID_JSON_SCHEMA, DOCUMENT_INPUT_JSON_SCHEMA, DocumentInputBody } from './document-input.body.js';
import { ReadsBody } from '../json-body.interceptor.js';
import { DocumentsService } from './documents.service.js';

const DOCUMENT_JSON_SCHEMA = {
  type: 'object',
  required: ['id', 'title', 'body'],
  properties: { id: { type: 'string' }, title: { type: 'string' }, body: { type: 'string' } },
};
const ERROR_BODY = { $ref: '#/components/schemas/BearerError' };
const JSON_ONLY = 'Content-Type must be application/json';

/**
 * The Auth0 guide's protected API. Guards are global (AuthModule `globalGuards`), so every route needs
 * a token, and one minted for this API (`DOCUMENTS_API_AUDIENCE`), not for the audit API beside it.
 */
@Controller('internal')
@Audience('documents')
export class DocumentsController {
  constructor(
    private readonly documents: DocumentsService,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

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

  @Put('documents/:id')
  @Scopes('write:documents')
  @ReadsBody()
  @ApiParam({ name: 'id', schema: DOCUMENT_ID_JSON_SCHEMA })
  @ApiBody({ required: true, schema: DOCUMENT_INPUT_JSON_SCHEMA as object })
  @ApiResponse({ status: 201, description: 'Created', schema: DOCUMENT_JSON_SCHEMA })
  @ApiResponse({ status: 200, description: 'Replaced', schema: DOCUMENT_JSON_SCHEMA })
  @ApiResponse({
    status: 400,
    description: 'Invalid id or body (not JSON, a missing, blank, too long or unknown field)',
    schema: ERROR_BODY,
  })
  @ApiResponse({ status: 413, description: 'Request body over 100 KiB', schema: ERROR_BODY })
  @ApiResponse({ status: 415, description: 'Content-Type is not application/json', schema: ERROR_BODY })
  @ApiResponse({ status: 507, description: 'A new document does not fit in the in-memory store', schema: ERROR_BODY })
  put(
    @Param('id') id: string,
    @Headers('content-type') contentType: string | undefined,
    @Body() body: unknown,
    @Res({ passthrough: true }) res: unknown,
  ) {
    if (!isJson(contentType)) throw new UnsupportedMediaTypeException(JSON_ONLY);
    const { created, document } = this.documents.put(DocumentInputBody.parseId(id), DocumentInputBody.parse(body));
    // RFC 9110 §9.3.4: 201 when the PUT created the resource, 200 when it replaced it.
    if (created) this.adapterHost.httpAdapter.status(res, 201);
    return document;
  }

  @Delete('documents/:id')
  @Scopes('delete:documents')
  @ReadsBody() // no body is taken, but a form body's access_token must be refused (RFC 6750 §2.2)
  async delete(@Param('id') id: string, @Principal() principal: AuthPrincipal) {
    return this.documents.delete(id, principal.clientId);
  }
}

function isJson(contentType: string | undefined): boolean {
  return contentType?.split(';')[0]?.trim().toLowerCase() === 'application/json';
}
