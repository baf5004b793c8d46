import { Inject, Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { describe, expect, it } from 'vitest';
import { M2MModule } from './m2m.module.js';
import type { M2MModuleOptions } from './m2m.options.js';
import { M2MTokenService } from './m2m-token.service.js';
import { InjectSiblingClient, type SiblingClient } from './sibling.client.js';

const options: M2MModuleOptions = {
  tokenEndpoint: 'http://127.0.0.1:9/oauth/token',
  clientId: 'svc',
  clientSecret: 'secret',
  siblings: [{ name: 'audit', baseUrl: 'http://127.0.0.1:9/internal', audience: 'https://audit.example.test' }],
};

@Injectable()
class Reporter {
  constructor(
    @InjectSiblingClient('audit') readonly audit: SiblingClient,
    @Inject(M2MTokenService) readonly tokens: M2MTokenService,
  ) {}
}

/** A feature module that does not import M2MModule. */
@Module({ providers: [Reporter] })
class FeatureModule {}

describe('M2MModule', () => {
  it('isGlobal_makes_the_token_service_and_the_sibling_clients_injectable_in_modules_that_do_not_import_it', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [M2MModule.forRootAsync({ isGlobal: true, siblingNames: ['audit'], useFactory: () => options }), FeatureModule],
    }).compile();
    const reporter = moduleRef.get(Reporter);
    expect(reporter.audit.sibling.name).toBe('audit');
    expect(reporter.tokens).toBe(moduleRef.get(M2MTokenService));
    await moduleRef.close();
  });

  it('without_isGlobal_a_module_that_does_not_import_it_cannot_inject_it', async () => {
    await expect(Test.createTestingModule({ imports: [M2MModule.forRoot(options), FeatureModule] }).compile()).rejects.toThrow(/Reporter/);
  });
});
