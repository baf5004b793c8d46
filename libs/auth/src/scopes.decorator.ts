import { SetMetadata } from '@nestjs/common';
import { SCOPES_METADATA } from './auth.constants.js';

/** Requires every listed scope; on a class and a method, both lists apply (ScopesGuard merges them). */
export const Scopes = (...scopes: string[]) => SetMetadata(SCOPES_METADATA, scopes);
