import { fetchJson, FetchError } from './http-fetch.js';
import { isSecureUrl, SECURE_URL_RULE } from './secure-url.js';

/** The parts of RFC 8414 / OpenID Connect Discovery metadata this module uses. */
export interface IssuerMetadata {
  issuer: string;
  jwks_uri: string;
  token_endpoint?: string;
}

/**
 * Candidate metadata URLs for an issuer: OpenID Connect Discovery 1.0 §4 appends the well-known
 * path; RFC 8414 §3 inserts it between host and path. Both are tried, OpenID's first (Auth0,
 * Okta, Keycloak, Entra and oidc-provider all serve it).
 */
function discoveryUrls(issuer: string): string[] {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/$/, '');
  return [`${url.origin}${path}/.well-known/openid-configuration`, `${url.origin}/.well-known/oauth-authorization-server${path}`];
}

/** Fetches issuer metadata once (shared by concurrent callers), retrying later after a failure. */
export class IssuerDiscovery {
  private metadata?: IssuerMetadata;
  private pending?: Promise<IssuerMetadata>;

  constructor(
    private readonly issuer: string,
    private readonly timeoutMs: number,
  ) {}

  get(): Promise<IssuerMetadata> {
    if (this.metadata) return Promise.resolve(this.metadata);
    this.pending ??= this.discover().then(
      (m) => {
        this.metadata = m;
        this.pending = undefined;
        return m;
      },
      (err: unknown) => {
        this.pending = undefined;
        throw err;
      },
    );
    return this.pending;
  }

  private async discover(): Promise<IssuerMetadata> {
    const problems: string[] = [];
    for (const url of discoveryUrls(this.issuer)) {
      let doc: unknown;
      try {
        doc = await fetchJson(url, this.timeoutMs);
      } catch (err) {
        problems.push((err as Error).message);
        continue;
      }
      const m = doc as Partial<IssuerMetadata>;
      // RFC 8414 §3.3 / OIDC Discovery §4.3: the metadata must name exactly the issuer we were
      // configured with, or an attacker who can serve the document could substitute their keys.
      if (m?.issuer !== this.issuer) {
        problems.push(`${url} names issuer ${JSON.stringify(m?.issuer)}, expected ${JSON.stringify(this.issuer)}`);
        continue;
      }
      if (typeof m.jwks_uri !== 'string') {
        problems.push(`${url} has no usable jwks_uri`);
        continue;
      }
      const tokenEndpoint = typeof m.token_endpoint === 'string' ? m.token_endpoint : undefined;
      // Discovered URLs obey the rule configured ones do: keys over plain http can be swapped by
      // anyone on the path, and the token request carries the client secret. Refused here, before
      // anything is sent to them, with the reason in the start-up and readiness errors.
      const insecure = Object.entries({ jwks_uri: m.jwks_uri, token_endpoint: tokenEndpoint }).filter(
        ([, v]) => v !== undefined && !isSecureUrl(v),
      );
      if (insecure.length) {
        problems.push(...insecure.map(([name, v]) => `${url} names ${name} ${v}, which ${SECURE_URL_RULE}`));
        continue;
      }
      return { issuer: m.issuer, jwks_uri: m.jwks_uri, token_endpoint: tokenEndpoint };
    }
    throw new FetchError(`Discovery for issuer ${this.issuer} failed: ${problems.join('; ')}`);
  }
}
