import { type DynamicModule, Module } from '@nestjs/common';
import { AuditModule } from './audit/audit.module.js';
import { AuthModule } from './auth/index.js';
import { type AppConfig } from './config/app-config.js';
import { APP_CONFIG } from './config/config.constants.js';
import { AppConfigModule } from './config/config.module.js';
import { DocumentsModule } from './documents/documents.module.js';
import { HealthModule } from './health/health.module.js';

export interface AppModuleOptions {
  /** Values that override process.env (tests, embedded mode). */
  env?: Record<string, string | undefined>;
}

@Module({})
export class AppModule {
  static forRoot(options: AppModuleOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(options),
        AuthModule.forRootAsync({
          inject: [APP_CONFIG],
          // Secure by default: every route needs a valid token unless marked @Public().
          globalGuards: true,
          isGlobal: true,
          useFactory: (config: AppConfig) => ({
            issuer: config.issuer.issuer,
            audience: config.issuer.audience,
            jwksUri: config.issuer.jwksUri,
            algorithms: config.env.AUTH_ALGORITHMS,
            clockToleranceSeconds: config.env.AUTH_CLOCK_TOLERANCE_SECONDS,
            jwksTimeoutMs: config.env.AUTH_JWKS_TIMEOUT_MS,
            jwksCooldownMs: config.env.AUTH_JWKS_COOLDOWN_MS,
            realm: config.env.AUTH_REALM,
            m2mOnly: config.env.AUTH_M2M_ONLY,
            allowedClientIds: config.env.AUTH_ALLOWED_CLIENT_IDS,
            strictRfc9068: config.env.AUTH_STRICT_RFC9068,
            verifiedTokenCacheSize: config.env.VERIFIED_TOKEN_CACHE_SIZE,
          }),
        }),
        AuditModule,
        DocumentsModule,
        HealthModule,
      ],
    };
  }
}
