import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { AUTH_MODULE_OPTIONS } from './auth.module-definition.js';
import type { AuthModuleOptions } from './auth.options.js';
import { InvalidTokenError } from './bearer.errors.js';
import type { AuthPrincipal } from './principal.js';
import type { RouteRequirements } from './route-requirements.js';
import { routeRequirements, type RouteTarget } from './route-requirements.js';

const list = (value: string | string[]) => (Array.isArray(value) ? value : [value]);

/** Every audience the module accepts: `audience` and the values of `namedAudiences`. */
export function acceptedAudiences(options: Pick<AuthModuleOptions, 'audience' | 'namedAudiences'>): string[] {
  const named = Object.values(options.namedAudiences ?? {}).flatMap(list);
  return [...new Set([...list(options.audience), ...named])];
}

/**
 * `@Audience()` made concrete: each route's names resolved, once, to the set of `aud` values it
 * accepts. Names are checked when the application starts (every controller method of the app), so
 * a typo is a start-up error rather than a route that refuses every token.
 */
@Injectable()
export class RouteAudiences implements OnModuleInit {
  private readonly resolved = new WeakMap<RouteRequirements, ReadonlySet<string>>();
  private readonly accepted: ReadonlySet<string>;

  constructor(
    @Inject(AUTH_MODULE_OPTIONS) private readonly options: AuthModuleOptions,
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(DiscoveryService) private readonly discovery: DiscoveryService,
    @Inject(MetadataScanner) private readonly scanner: MetadataScanner,
  ) {
    this.accepted = new Set(acceptedAudiences(options));
  }

  onModuleInit(): void {
    const problems: string[] = [];
    for (const wrapper of this.discovery.getControllers()) {
      const controller = wrapper.metatype as RouteTarget | undefined;
      if (typeof controller !== 'function' || !wrapper.instance) continue;
      const prototype = Object.getPrototypeOf(wrapper.instance) as Record<string, RouteTarget>;
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const route = routeRequirements(this.reflector, prototype[method]!, controller);
        for (const name of route.audiences) {
          if (this.lookup(name) === undefined) problems.push(`${controller.name}.${method}: @Audience('${name}')`);
        }
      }
    }
    if (problems.length > 0) {
      throw new TypeError(
        `@Audience() names neither a key of 'namedAudiences' nor an audience listed in 'audience': ${[...new Set(problems)].join('; ')}`,
      );
    }
  }

  /** Throws `invalid_token` unless one of the principal's `aud` values is accepted by the route. */
  check(route: RouteRequirements, principal: AuthPrincipal): void {
    if (route.audiences.length === 0) return;
    let accepted = this.resolved.get(route);
    if (accepted === undefined) this.resolved.set(route, (accepted = this.resolve(route.audiences)));
    const aud = principal.claims.aud;
    for (const value of typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : []) {
      if (typeof value === 'string' && accepted.has(value)) return;
    }
    throw new InvalidTokenError('ERR_AUTH_AUDIENCE_INVALID', 'Audience not accepted by this API');
  }

  private resolve(names: readonly string[]): ReadonlySet<string> {
    // Unknown names were refused at start-up; a route added later (or a test module without
    // controllers scanned) accepts nothing rather than everything.
    return new Set(names.flatMap((name) => this.lookup(name) ?? []));
  }

  private lookup(name: string): string[] | undefined {
    const named = this.options.namedAudiences;
    if (named && Object.hasOwn(named, name)) return list(named[name]!);
    return this.accepted.has(name) ? [name] : undefined;
  }
}
