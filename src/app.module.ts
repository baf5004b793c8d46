import { readFileSync } from 'node:fs';
import { type DynamicModule, Module } from '@nestjs/common';
import { AuditModule } from './audit/audit.module.js';
import { AuthModule, type Clock, IssuerDiscovery } from '@nest-m2m/auth';
import { M2MModule } from '@nest-m2m/auth/m2m';
import { AUDIT_SIBLING } from './audit/http-audit.recorder.js';
import type { AppConfig } from './config/app-config.js';
import { resolveTokenEndpoint } from './config/token-endpoint.js';
import { APP_CONFIG } from './config/config.constants.js';
import { AppConfigModule } from './config/config.module.js';
import { DocumentsModule } from './documents/documents.module.js';
import { HealthModule } from './health/health.module.js';
import { LoggingModule } from './logging/logging.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { OpenApiModule } from './openapi/openapi.module.js';
import { TracingModule } from './tracing/tracing.module.js';

export interface AppModuleOptions {
  /** Values that override process.env (tests, embedded mode). */
  env?: Record<string, string | undefined>;
  /** The time source of incoming token checks, JWKS freshness and cooldowns, and cached outgoing tokens (tests). Default: the system clock. */
  clock?: Clock;
}

@Module({})
export class AppModule {
  static forRoot(options: AppModuleOptions = {}): DynamicModule {
    // The one validation of the app's configuration (ConfigModule's `validate`); the imports depend on it.
    const { module: configModule, config } = AppConfigModule.forRoot(options);
    return {
      module: AppModule,
      imports: [
        // First: its middleware opens each request's span before the others run.
        TracingModule.forRoot({ ...process.env, ...options.env }),
        configModule,
        AuthModule.forRootAsync({
          inject: [APP_CONFIG],
          // Secure by default: every route needs a valid token unless marked @Public().
          globalGuards: true,
          isGlobal: true,
          useFactory: (config: AppConfig) => ({
            issuer: config.issuer.issuer,
            audience: config.issuer.audience,
            // @Audience('documents') / @Audience('audit') on the controllers; unset: any of AUTH0_AUDIENCE.
            namedAudiences: {
              documents: config.env.DOCUMENTS_API_AUDIENCE ?? config.issuer.audience,
              audit: config.env.AUDIT_API_AUDIENCE ?? config.issuer.audience,
            },
            jwksUri: config.issuer.jwksUri,
            algorithms: config.env.AUTH_ALGORITHMS,
            clockToleranceSeconds: config.env.AUTH_CLOCK_TOLERANCE_SECONDS,
            jwksTimeoutMs: config.env.AUTH_JWKS_TIMEOUT_MS,
            jwksCooldownMs: config.env.AUTH_JWKS_COOLDOWN_MS,
            clock: options.clock,
            realm: config.env.AUTH_REALM,
            m2mOnly: config.env.AUTH_M2M_ONLY,
            allowedClientIds: config.env.AUTH_ALLOWED_CLIENT_IDS,
            strictRfc9068: config.env.AUTH_STRICT_RFC9068,
            verifiedTokenCacheSize: config.env.VERIFIED_TOKEN_CACHE_SIZE,
            verifiedTokenCacheMaxBytes: config.env.VERIFIED_TOKEN_CACHE_MAX_BYTES,
            dpop: config.env.AUTH_DPOP,
            dpopProof: {
              // Shared with every replica when there is a shared token cache: a proof replayed against
              // another replica is refused too. Under the token cache's prefix, so one Redis ACL covers both.
              replayStore: config.env.TOKEN_CACHE_URL,
              replayKeyPrefix: `${config.env.TOKEN_CACHE_KEY_PREFIX ?? 'nest-m2m:token:'}dpop-jti:`,
              trustForwardedHeaders: config.env.AUTH_DPOP_TRUST_FORWARDED_HEADERS,
            },
          }),
        }),
        ...(config.client ? [m2mModule(config, options.clock)] : []),
        AuditModule.forRoot({ remote: !!config.audit, dpop: config.env.AUDIT_DPOP }),
        DocumentsModule,
        HealthModule,
        LoggingModule,
        MetricsModule,
        OpenApiModule,
      ],
    };
  }
}

/** This service's own client-credentials identity, for calls to its siblings (the audit service). */
function m2mModule(appConfig: AppConfig, clock: Clock | undefined): DynamicModule {
  return M2MModule.forRootAsync({
    inject: [APP_CONFIG, IssuerDiscovery],
    siblingNames: appConfig.audit ? [AUDIT_SIBLING] : [],
    isGlobal: true,
    useFactory: (config: AppConfig, discovery: IssuerDiscovery) => {
      const client = config.client!;
      const auditDpop = config.env.AUDIT_DPOP === 'required';
      return {
        ...(client.tokenEndpoint
          ? { tokenEndpoint: client.tokenEndpoint }
          : { resolveTokenEndpoint: () => resolveTokenEndpoint(config, discovery) }),
        issuer: config.issuer.issuer,
        dialect: client.dialect,
        clientId: client.clientId,
        clientSecret: client.clientSecret,
        clientAuth: client.clientAuth,
        privateKey: client.privateKey,
        requestTimeoutMs: config.env.TOKEN_REQUEST_TIMEOUT_MS,
        refreshBufferSeconds: config.env.TOKEN_REFRESH_BUFFER_SECONDS,
        clock,
        backgroundRefresh: config.env.TOKEN_BACKGROUND_REFRESH,
        cacheUrl: config.env.TOKEN_CACHE_URL,
        cacheKeyPrefix: config.env.TOKEN_CACHE_KEY_PREFIX,
        cacheEncryptionKey: config.env.TOKEN_CACHE_ENCRYPTION_KEY,
        // AUDIT_DPOP=required: the audit API takes DPoP-bound tokens only, so the service presents one.
        ...(auditDpop
          ? { dpop: { privateKey: config.env.AUTH_DPOP_PRIVATE_KEY_FILE && readFileSync(config.env.AUTH_DPOP_PRIVATE_KEY_FILE, 'utf8') } }
          : {}),
        siblings: config.audit
          ? [
              {
                name: AUDIT_SIBLING,
                baseUrl: config.audit.url,
                audience: config.audit.audience,
                scopes: config.audit.scopes,
                dpop: auditDpop,
              },
            ]
          : [],
      };
    },
  });
}
