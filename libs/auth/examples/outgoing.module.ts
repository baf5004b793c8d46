// README: outgoing calls with this service's own M2M token (Auth0 dialect).
import { Injectable, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { InjectSiblingClient, M2MModule, M2MTokenService, SiblingClient } from '@nest-m2m/auth/m2m';
import { firstValueFrom } from 'rxjs';

@Injectable()
export class AuditReporter {
  constructor(
    @InjectSiblingClient('audit') private readonly audit: SiblingClient, // an HttpService
    private readonly tokens: M2MTokenService,
  ) {}

  /** POST to the audit service; the Bearer token is attached by the sibling client. */
  async report(event: { action: string; id: string }): Promise<void> {
    await firstValueFrom(this.audit.post('/audit-events', event));
  }

  /** A token for any other API, e.g. for a client that is not an HttpService. */
  async reportsHeader(): Promise<string> {
    return this.tokens.getAuthorizationHeader({ audience: 'https://reports.example.com', scopes: ['read:reports'] });
  }
}

@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true }),
    M2MModule.forRootAsync({
      inject: [ConfigService],
      siblingNames: ['audit'], // forRootAsync: the names @InjectSiblingClient() may ask for
      useFactory: (config: ConfigService) => ({
        dialect: 'auth0', // JSON body with `audience`
        tokenEndpoint: `https://${config.getOrThrow<string>('AUTH0_DOMAIN')}/oauth/token`,
        clientId: config.getOrThrow<string>('AUTH0_CLIENT_ID'),
        clientSecret: config.getOrThrow<string>('AUTH0_CLIENT_SECRET'),
        cacheUrl: config.get<string>('TOKEN_CACHE_URL'), // redis://… shares tokens across replicas (needs ioredis)
        siblings: [
          {
            name: 'audit',
            baseUrl: config.getOrThrow<string>('AUDIT_SERVICE_URL'), // e.g. https://audit.internal/internal
            audience: 'https://audit.example.com',
            scopes: ['write:audit'],
          },
        ],
      }),
    }),
  ],
  providers: [AuditReporter],
  exports: [AuditReporter],
})
export class OutgoingModule {}
