import { Module } from '@nestjs/common';
import { DocumentsController } from './documents.controller.js';
import { DocumentsService } from './documents.service.js';
import { DocumentsStore } from './documents.store.js';

@Module({ controllers: [DocumentsController], providers: [DocumentsService, DocumentsStore] })
export class DocumentsModule {}
