// README: a controller guarded per class, scopes per route, the caller via @Principal().
import { Controller, Delete, Get, HttpCode, Param, UseGuards } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import { type AuthPrincipal, Principal, Scopes, ScopesGuard } from '@nest-m2m/auth';

@Controller('documents')
@UseGuards(AuthGuard('jwt'), ScopesGuard)
export class DocumentsController {
  @Get(':id')
  @Scopes('read:documents')
  findOne(@Param('id') id: string, @Principal() caller: AuthPrincipal) {
    // caller: { clientId, subject, scopes (a Set), claims }
    return { id, requestedBy: caller.clientId, scopes: [...caller.scopes] };
  }

  @Delete(':id')
  @Scopes('read:documents', 'delete:documents') // every listed scope is required
  @HttpCode(204)
  remove(@Param('id') _id: string) {
    // delete the document
  }
}
