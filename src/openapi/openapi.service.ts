import { Inject, Injectable, Logger, type INestApplication } from '@nestjs/common';
import { DiscoveryService, Reflector } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { IssuerDiscovery, routeRequirements, type RouteRequirements } from '@nest-m2m/auth';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.constants.js';
import { resolveTokenEndpoint } from '../config/token-endpoint.js';

export const OAUTH2_SCHEME = 'oauth2';
/** Discovery at boot must not hold start-up hostage: past this, the configured fallback is used. */
const DISCOVERY_TIMEOUT_MS = 1500;

const ERROR_BODY = {
  type: 'object',
  required: ['statusCode', 'error', 'message'],
  properties: { statusCode: { type: 'integer' }, error: { type: 'string' }, message: { type: 'string' } },
};
const CHALLENGE = { 'WWW-Authenticate': { description: 'RFC 6750 §3 challenge', schema: { type: 'string' } } };

/**
 * `/docs` and `/docs-json`. Security is not declared by hand on routes: after Swagger builds the
 * document, every operation gets its requirements from `routeRequirements`, the function the
 * global guards enforce them with, so the document cannot drift from what the service does.
 */
@Injectable()
export class OpenApiService {
  private readonly logger = new Logger('OpenApi');

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly reflector: Reflector,
    private readonly issuer: IssuerDiscovery,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async setup(app: INestApplication): Promise<OpenAPIObject> {
    const document = await this.createDocument(app);
    SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json', yamlDocumentUrl: 'docs-yaml' });
    return document;
  }

  async createDocument(app: INestApplication): Promise<OpenAPIObject> {
    const operations = new Map<string, RouteRequirements>();
    const securityOf = this.securityByOperation();
    const allScopes = [...new Set([...securityOf.values()].flatMap((s) => s.scopes))].sort();
    const config = new DocumentBuilder()
      .setTitle('nest-m2m')
      .setDescription('Service-to-service API secured with OAuth 2.0 client-credentials access tokens (RFC 6750 bearer).')
      .addOAuth2(
        {
          type: 'oauth2',
          description: 'Client-credentials grant (RFC 6749 §4.4) at the configured issuer',
          flows: { clientCredentials: { tokenUrl: await this.tokenUrl(), scopes: Object.fromEntries(allScopes.map((s) => [s, s])) } },
        },
        OAUTH2_SCHEME,
      )
      .build();
    const document = SwaggerModule.createDocument(app, config, {
      operationIdFactory: (controller, method) => {
        const id = `${controller}_${method}`;
        const security = securityOf.get(id);
        if (security) operations.set(id, security);
        return id;
      },
    });
    document.components ??= {};
    document.components.schemas = { ...document.components.schemas, BearerError: ERROR_BODY };
    for (const item of Object.values(document.paths)) {
      for (const op of Object.values(item) as unknown[]) {
        if (!op || typeof op !== 'object' || !('operationId' in op)) continue;
        const security = operations.get(op.operationId as string);
        if (!security) continue;
        applySecurity(op as unknown as Operation, security);
      }
    }
    return document;
  }

  /** `Controller_method` (Swagger's default operation id) → the guards' view of that route. */
  private securityByOperation(): Map<string, RouteRequirements> {
    const map = new Map<string, RouteRequirements>();
    for (const wrapper of this.discovery.getControllers()) {
      const { metatype } = wrapper;
      if (!metatype || typeof metatype !== 'function') continue;
      const proto = metatype.prototype as Record<string, unknown>;
      for (const key of Object.getOwnPropertyNames(proto)) {
        const handler = proto[key];
        if (key === 'constructor' || typeof handler !== 'function') continue;
        map.set(`${metatype.name}_${key}`, routeRequirements(this.reflector, handler, metatype));
      }
    }
    return map;
  }

  /** `resolveTokenEndpoint` (bounded in time, since the document is built at boot), else `<issuer>/oauth/token`. */
  private async tokenUrl(): Promise<string> {
    try {
      const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timed out')), DISCOVERY_TIMEOUT_MS).unref());
      return await Promise.race([resolveTokenEndpoint(this.config, this.issuer), timeout]);
    } catch (err) {
      this.logger.warn(`OpenAPI token URL: discovery failed (${(err as Error).message}); using <issuer>/oauth/token`);
    }
    return `${this.config.issuer.issuer.replace(/\/$/, '')}/oauth/token`;
  }
}

interface Operation {
  security?: Array<Record<string, string[]>>;
  responses: Record<string, unknown>;
}

function applySecurity(op: Operation, security: RouteRequirements): void {
  if (security.public) {
    // The document-level default is empty too; stated per operation so readers need not know that.
    op.security = [];
    return;
  }
  op.security = [{ [OAUTH2_SCHEME]: [...security.scopes] }];
  const error = (description: string) => ({
    description,
    headers: CHALLENGE,
    content: { 'application/json': { schema: { $ref: '#/components/schemas/BearerError' } } },
  });
  op.responses['401'] = error('Missing or invalid access token (`invalid_token`)');
  if (security.scopes.length > 0)
    op.responses['403'] = error(`Token lacks a required scope (\`insufficient_scope\`): ${security.scopes.join(' ')}`);
  op.responses['503'] = {
    description: 'Signing keys unobtainable right now; retry after `Retry-After` seconds (never a 401)',
    headers: { 'Retry-After': { schema: { type: 'integer' } } },
  };
}
