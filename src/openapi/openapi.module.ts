import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { OpenApiService } from './openapi.service.js';

/** OpenAPI document and UI; `bootstrap.ts` mounts them with `OpenApiService.setup(app)`. */
@Module({ imports: [DiscoveryModule], providers: [OpenApiService], exports: [OpenApiService] })
export class OpenApiModule {}
