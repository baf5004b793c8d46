import { Inject } from '@nestjs/common';
import { HttpService } from '@nestjs/axios';
import axios, { AxiosError, AxiosHeaders, type InternalAxiosRequestConfig } from 'axios';
import { M2M_SIBLING_CLIENT_PREFIX } from './m2m.constants.js';
import { traceSiblingCalls } from './sibling.tracing.js';
import { SiblingOriginError, SiblingPathError } from './m2m.errors.js';
import type { SiblingServiceOptions } from './m2m.options.js';
import type { M2MTokenService } from './m2m-token.service.js';

declare module 'axios' {
  interface AxiosRequestConfig {
    /** Retry once with a new token after 401 `invalid_token` even though the method is not idempotent. */
    retryOnInvalidToken?: boolean;
  }
}

/** RFC 9110 §9.2.2: repeating these cannot do harm the first attempt did not. */
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
const M2M_STATE = '__nestM2M';

interface M2MRequestState {
  accessToken?: string;
  retried?: boolean;
  nonceRetried?: boolean;
}

type M2MRequestConfig = InternalAxiosRequestConfig & { [M2M_STATE]?: M2MRequestState };

export function getSiblingClientToken(name: string): string {
  return `${M2M_SIBLING_CLIENT_PREFIX}${name}`;
}

/** `constructor(@InjectSiblingClient('audit') private readonly audit: SiblingClient)` */
export const InjectSiblingClient = (name: string): ParameterDecorator & PropertyDecorator => Inject(getSiblingClientToken(name));

/**
 * Nest's `HttpService` for one sibling service, with this service's M2M token attached.
 *
 * The token goes to the sibling's exact origin (scheme, host, port) and under its base URL's path
 * only: a request to any other origin or path (`../admin`) is refused before a token is fetched,
 * redirects are never followed, and no proxy is used unless the sibling's options name one, so
 * neither a compromised or misconfigured sibling nor a proxy variable can hand the token to a third
 * party. A 401 with `error="invalid_token"` (RFC 6750 §3.1)
 * invalidates the token and retries once with a new one, for idempotent methods or requests marked
 * `retryOnInvalidToken: true`.
 */
export class SiblingClient extends HttpService {
  readonly origin: string;
  /** The base URL's path with a trailing slash: every request's path must start with it (or equal it without the slash). */
  private readonly basePath: string;

  constructor(
    readonly sibling: SiblingServiceOptions,
    private readonly tokens: M2MTokenService,
  ) {
    super(axios.create({ baseURL: sibling.baseUrl, maxRedirects: 0 }));
    const base = new URL(sibling.baseUrl);
    this.origin = base.origin;
    this.basePath = base.pathname.endsWith('/') ? base.pathname : `${base.pathname}/`;
    // First registered: axios runs this request interceptor after `authorize` (the span times the
    // exchange, the token request is its sibling) and this response interceptor before the retry.
    traceSiblingCalls(this.axiosRef, sibling.name);
    this.axiosRef.interceptors.request.use((config) => this.authorize(config as M2MRequestConfig));
    this.axiosRef.interceptors.response.use(undefined, (error: unknown) => this.retryOnInvalidToken(error));
  }

  private async authorize(config: M2MRequestConfig): Promise<InternalAxiosRequestConfig> {
    const target = new URL(this.axiosRef.getUri(config));
    if (target.origin !== this.origin || config.socketPath) {
      throw new SiblingOriginError(this.sibling.name, this.origin, config.socketPath ? `unix:${config.socketPath}` : target.origin);
    }
    // URL parsing has resolved `..` and `%2e%2e` segments; an encoded separator is left for the
    // server to decode, and some do (`..%2f` then climbs out), so it is refused too.
    const { pathname } = target;
    const under = pathname === this.basePath.slice(0, -1) || pathname.startsWith(this.basePath);
    if (!under || /%2f|%5c/i.test(pathname)) {
      throw new SiblingPathError(this.sibling.name, this.origin + this.basePath, this.origin + pathname);
    }
    // Per-request options cannot re-enable redirects or swap in an adapter that follows them.
    config.maxRedirects = 0;
    config.adapter = 'http';
    // Nor route the token through a proxy (nor can HTTP_PROXY): only the sibling's own, if it names one.
    config.proxy = this.sibling.proxy ?? false;
    const dpop = this.sibling.dpop === true;
    const token = await this.tokens.getToken({ audience: this.sibling.audience, scopes: this.sibling.scopes, dpop });
    config.headers = AxiosHeaders.from(config.headers);
    if (dpop) {
      // RFC 9449 §7.1: a fresh proof for every request (and every retry), bound to this token by `ath`.
      const proof = await this.tokens.dpopProof({
        htm: (config.method ?? 'get').toUpperCase(),
        htu: target.href,
        accessToken: token.accessToken,
      });
      config.headers.set('Authorization', `DPoP ${token.accessToken}`);
      config.headers.set('DPoP', proof);
    } else {
      config.headers.set('Authorization', `Bearer ${token.accessToken}`);
    }
    config[M2M_STATE] = { ...config[M2M_STATE], accessToken: token.accessToken };
    return config;
  }

  private async retryOnInvalidToken(error: unknown): Promise<unknown> {
    if (!(error instanceof AxiosError) || !error.config || error.response?.status !== 401) throw error;
    const config = error.config as M2MRequestConfig;
    const state = config[M2M_STATE] ?? {};
    const challenge = String(error.response.headers['www-authenticate'] ?? '');
    const method = (config.method ?? 'get').toUpperCase();
    // RFC 9449 §9: the sibling wants its nonce in the proof; retry once with a fresh proof carrying it.
    if (this.sibling.dpop && !state.nonceRetried && /\berror\s*=\s*"?use_dpop_nonce\b/i.test(challenge)) {
      const url = this.axiosRef.getUri(config);
      if (await this.tokens.rememberDpopNonce(url, String(error.response.headers['dpop-nonce'] ?? ''))) {
        config[M2M_STATE] = { ...state, nonceRetried: true };
        return this.axiosRef.request(config);
      }
    }
    if (state.retried || !/\berror\s*=\s*"?invalid_token\b/i.test(challenge)) throw error;
    if (!IDEMPOTENT_METHODS.has(method) && config.retryOnInvalidToken !== true) throw error;
    // The entry the token came from: a DPoP sibling's tokens are cached apart from Bearer ones.
    await this.tokens.invalidate({
      audience: this.sibling.audience,
      scopes: this.sibling.scopes,
      dpop: this.sibling.dpop === true,
      accessToken: state.accessToken,
    });
    config[M2M_STATE] = { ...state, retried: true };
    return this.axiosRef.request(config);
  }
}

/** Every configured sibling client, by name (for code that discovers siblings at run time). */
export class SiblingClients {
  private readonly clients: Map<string, SiblingClient>;

  constructor(siblings: SiblingServiceOptions[], tokens: M2MTokenService) {
    this.clients = new Map(siblings.map((s) => [s.name, new SiblingClient(s, tokens)]));
  }

  get(name: string): SiblingClient | undefined {
    return this.clients.get(name);
  }

  names(): string[] {
    return [...this.clients.keys()];
  }
}
