import { SetMetadata } from '@nestjs/common';
import { PUBLIC_METADATA } from './auth.constants.js';

/** Opts a route (or controller) out of the global guards installed by `AuthModule` with `globalGuards`. */
export const Public = () => SetMetadata(PUBLIC_METADATA, true);
