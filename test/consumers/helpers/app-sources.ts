/**
 * The TypeScript of a small consumer app, written as a user adopting the packages would: the same
 * sources compile as ESM (nodenext) and as CommonJS (relative imports carry `.js`, which both accept;
 * no top-level await).
 */
export const APP_SOURCES: Record<string, string> = {
  'src/app.module.ts': `import { Controller, Get, HttpCode, Injectable, Module, Param, Post, Query, UseGuards } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import { AuthModule, Principal, Scopes, ScopesGuard, type AuthPrincipal } from '@nest-m2m/auth';
import { InjectSiblingClient, M2MModule, M2MTokenService, SiblingClient } from '@nest-m2m/auth/m2m';
import { firstValueFrom } from 'rxjs';

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(\`\${name} is required\`);
  return value;
}

/** Reports to the audit sibling (this same app): through the sibling client, and by hand with the token service. */
@Injectable()
export class AuditReporter {
  constructor(
    private readonly tokens: M2MTokenService,
    @InjectSiblingClient('audit') private readonly audit: SiblingClient,
  ) {}

  async report(calls: number): Promise<{ statuses: number[]; callers: string[] }> {
    const viaClient = Array.from({ length: calls }, (_, n) =>
      firstValueFrom(this.audit.post<{ clientId: string }>('/audit-events', { n })).then((res) => ({ status: res.status, clientId: res.data.clientId })),
    );
    const byHand = this.tokens.getAuthorizationHeader({ audience: env('AUDIT_AUDIENCE'), scopes: ['write:audit'] }).then(async (authorization) => {
      const res = await fetch(\`\${this.audit.origin}/audit-events\`, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        body: JSON.stringify({ n: calls }),
      });
      return { status: res.status, clientId: ((await res.json()) as { clientId: string }).clientId };
    });
    const results = await Promise.all([...viaClient, byHand]);
    return { statuses: results.map((r) => r.status), callers: results.map((r) => r.clientId) };
  }
}

@Controller()
@UseGuards(AuthGuard('jwt'), ScopesGuard)
export class DocumentsController {
  constructor(private readonly reporter: AuditReporter) {}

  @Get('documents/:id')
  @Scopes('read:documents')
  read(@Param('id') id: string, @Principal() principal: AuthPrincipal) {
    return { id, clientId: principal.clientId };
  }

  @Post('documents/:id/report')
  @HttpCode(200)
  @Scopes('read:documents')
  report(@Query('calls') calls: string) {
    return this.reporter.report(Number(calls));
  }

  @Post('audit-events')
  @Scopes('write:audit')
  record(@Principal() principal: AuthPrincipal) {
    return { clientId: principal.clientId };
  }
}

@Controller('health')
export class HealthController {
  @Get()
  health() {
    return { status: 'ok' };
  }
}

@Module({
  imports: [
    AuthModule.forRoot({
      issuer: env('AUTH_ISSUER'),
      jwksUri: env('AUTH_JWKS_URI'),
      audience: [env('DOCUMENTS_AUDIENCE'), env('AUDIT_AUDIENCE')],
    }),
    M2MModule.forRoot({
      tokenEndpoint: env('AUTH_TOKEN_URL'),
      dialect: 'auth0',
      clientId: env('M2M_CLIENT_ID'),
      clientSecret: env('M2M_CLIENT_SECRET'),
      siblings: [{ name: 'audit', baseUrl: \`http://127.0.0.1:\${env('PORT')}\`, audience: env('AUDIT_AUDIENCE'), scopes: ['write:audit'] }],
    }),
  ],
  controllers: [DocumentsController, HealthController],
  providers: [AuditReporter],
})
export class AppModule {}
`,

  'src/main.ts': `import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  app.enableShutdownHooks();
  await app.listen(Number(process.env.PORT), '127.0.0.1');
}
void bootstrap();
`,

  // The app's own test issuer, from the installed @nest-m2m/dev-issuer: prints where it is and the
  // generated secrets as one JSON line, and serves until SIGTERM.
  'src/dev-issuer.ts': `import { AUDIT_API_AUDIENCE, DOCUMENTS_API_AUDIENCE, startDevIssuer, type DevIssuer } from '@nest-m2m/dev-issuer';

async function main(): Promise<void> {
  const issuer: DevIssuer = await startDevIssuer({ enableTestControls: true });
  const secrets = Object.fromEntries(issuer.config.clients.map((client) => [client.clientId, client.clientSecret]));
  const { url, jwksUri, tokenEndpoint } = issuer;
  console.log(JSON.stringify({ url, issuer: issuer.issuer, jwksUri, tokenEndpoint, documentsAudience: DOCUMENTS_API_AUDIENCE, auditAudience: AUDIT_API_AUDIENCE, secrets }));
  process.once('SIGTERM', () => void issuer.close().then(() => process.exit(0)));
}
void main();
`,
};
