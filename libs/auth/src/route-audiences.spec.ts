/**
 * `@Audience()` resolution without HTTP (test/route-audience.spec.ts has the requests): which `aud`
 * values a route accepts, for every shape `aud` may take, and the audiences the strategy is given.
 */
import { Controller, Get } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Audience } from './audience.decorator.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthModule } from './auth.module.js';
import { InvalidTokenError } from './bearer.errors.js';
import type { AuthPrincipal } from './principal.js';
import { acceptedAudiences, RouteAudiences } from './route-audiences.js';
import type { RouteRequirements } from './route-requirements.js';

const DOCUMENTS = 'https://documents.test.local';
const AUDIT = 'https://audit.test.local';
const AUDIT_V2 = 'https://audit-v2.test.local';
const REPORTS = 'https://reports.test.local';

@Controller('typos')
@Audience('documents')
class TyposController {
  @Get('a')
  @Audience('docments')
  a() {}

  @Get('b')
  @Audience('docments', 'adit')
  b() {}

  @Get('c')
  c() {}
}

describe('RouteAudiences at start-up', () => {
  it('refuses_unknown_names_naming_each_route_and_name_once', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [AuthModule.forRoot({ issuer: 'http://127.0.0.1:9/', audience: REPORTS, namedAudiences: { documents: DOCUMENTS } })],
      controllers: [TyposController],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await expect(app.init()).rejects.toThrow(
      new TypeError(
        "@Audience() names neither a key of 'namedAudiences' nor an audience listed in 'audience': " +
          "TyposController.a: @Audience('docments'); TyposController.b: @Audience('docments'); TyposController.b: @Audience('adit')",
      ),
    );
    await app.close();
  });
});

describe('acceptedAudiences', () => {
  it('lists_the_audience_option_and_every_named_audience_each_once', () => {
    expect(acceptedAudiences({ audience: DOCUMENTS })).toEqual([DOCUMENTS]);
    expect(
      acceptedAudiences({ audience: [REPORTS, DOCUMENTS], namedAudiences: { documents: DOCUMENTS, audit: [AUDIT, AUDIT_V2] } }),
    ).toEqual([REPORTS, DOCUMENTS, AUDIT, AUDIT_V2]);
  });
});

describe('RouteAudiences.check', () => {
  let audiences: RouteAudiences;
  let close: () => Promise<void>;
  const route = (...names: string[]): RouteRequirements => ({ public: false, scopes: [], audiences: names });
  const principal = (aud: unknown) => ({ clientId: 'c', subject: 'c', scopes: new Set<string>(), claims: { aud } }) as AuthPrincipal;
  const accepts = (r: RouteRequirements, aud: unknown) => {
    try {
      audiences.check(r, principal(aud));
      return true;
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidTokenError);
      expect(err).toMatchObject({ code: 'ERR_AUTH_AUDIENCE_INVALID', errorDescription: 'Audience not accepted by this API' });
      return false;
    }
  };

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        AuthModule.forRoot({
          issuer: 'http://127.0.0.1:9/',
          audience: [REPORTS],
          namedAudiences: { documents: DOCUMENTS, audit: [AUDIT, AUDIT_V2] },
        }),
      ],
    }).compile();
    audiences = moduleRef.get(RouteAudiences);
    close = () => moduleRef.close();
  });
  afterAll(async () => close?.());

  it('a_route_without_audience_accepts_any_token_the_strategy_accepted', () => {
    expect(accepts(route(), 'https://elsewhere.test.local')).toBe(true);
    expect(accepts(route(), undefined)).toBe(true);
  });

  it('a_name_accepts_each_of_its_values_and_a_listed_audience_itself', () => {
    const audit = route('audit');
    expect(accepts(audit, AUDIT)).toBe(true);
    expect(accepts(audit, AUDIT_V2)).toBe(true);
    expect(accepts(audit, DOCUMENTS)).toBe(false);
    expect(accepts(audit, 'audit')).toBe(false);
    expect(accepts(route(REPORTS), REPORTS)).toBe(true);
    expect(accepts(route(REPORTS), DOCUMENTS)).toBe(false);
    expect(accepts(route('documents', REPORTS), REPORTS)).toBe(true);
  });

  it('one_accepted_value_of_an_aud_list_is_enough_and_other_shapes_accept_nothing', () => {
    const documents = route('documents');
    expect(accepts(documents, [REPORTS, DOCUMENTS])).toBe(true);
    expect(accepts(documents, [REPORTS])).toBe(false);
    expect(accepts(documents, [])).toBe(false);
    expect(accepts(documents, undefined)).toBe(false);
    expect(accepts(documents, { [DOCUMENTS]: true })).toBe(false);
    expect(accepts(documents, [[DOCUMENTS]])).toBe(false);
  });

  it('a_name_unknown_to_the_module_accepts_nothing_rather_than_everything', () => {
    // Start-up refuses such names on scanned controllers; a route it never saw gets here.
    expect(accepts(route('unknown'), DOCUMENTS)).toBe(false);
    expect(accepts(route('unknown'), 'unknown')).toBe(false);
    // Names are own keys of namedAudiences only.
    expect(accepts(route('toString'), DOCUMENTS)).toBe(false);
  });

  it('keeps_each_route_resolution_apart', () => {
    const documents = route('documents');
    const audit = route('audit');
    expect(accepts(documents, DOCUMENTS)).toBe(true);
    expect(accepts(audit, DOCUMENTS)).toBe(false);
    expect(accepts(documents, DOCUMENTS)).toBe(true);
    expect(accepts(audit, AUDIT)).toBe(true);
  });
});
