import { Module } from '@nestjs/common';
import { DocumentsController } from './documents.controller.js';

// A feature module: it does not need to import AuthModule to use AuthGuard('jwt') and ScopesGuard.
@Module({ controllers: [DocumentsController] })
export class DocumentsModule {}
