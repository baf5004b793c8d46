import { ConfigService } from '@nestjs/config';
import { Test } from '@nestjs/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AppModule } from '../app.module.js';
import { ConfigError, type AppConfig } from './app-config.js';
import { APP_CONFIG } from './config.constants.js';
import { AppConfigModule, type AppConfigService } from './config.module.js';
import { envSchema } from './env.schema.js';

const ENV = { NODE_ENV: 'test', AUTH_ISSUER_URL: 'https://login.example.com', AUTH0_AUDIENCE: 'https://api.example.com' };

describe('AppConfigModule', () => {
  afterEach(() => vi.restoreAllMocks());

  it('the_environment_is_validated_once_per_app_module', () => {
    const parse = vi.spyOn(envSchema, 'safeParse');
    AppModule.forRoot({ env: ENV });
    expect(parse).toHaveBeenCalledTimes(1);
  });

  it('config_service_holds_the_validated_config_and_overrides_stay_out_of_process_env', async () => {
    const { module, config } = AppConfigModule.forRoot({ env: { ...ENV, AUTH_CLOCK_TOLERANCE_SECONDS: '7' } });
    const ref = await Test.createTestingModule({ imports: [module] }).compile();
    expect(ref.get<AppConfigService>(ConfigService).get<AppConfig>('app')).toBe(config);
    expect(ref.get(APP_CONFIG)).toBe(config);
    expect(config.issuer).toEqual({ issuer: ENV.AUTH_ISSUER_URL, audience: [ENV.AUTH0_AUDIENCE], jwksUri: undefined, auth0: false });
    expect(config.env.AUTH_CLOCK_TOLERANCE_SECONDS).toBe(7);
    for (const name of ['AUTH_ISSUER_URL', 'AUTH_CLOCK_TOLERANCE_SECONDS', 'PORT', 'app']) expect(process.env[name], name).toBeUndefined();
    await ref.close();
  });

  it('a_bad_environment_fails_for_root_itself_naming_every_problem', () => {
    expect(() => AppConfigModule.forRoot({ env: { NODE_ENV: 'production', PORT: 'x' } })).toThrow(ConfigError);
    try {
      AppConfigModule.forRoot({ env: { NODE_ENV: 'production', PORT: 'x' } });
    } catch (error) {
      expect((error as ConfigError).problems.join('\n')).toMatch(/PORT[\s\S]*AUTH0_DOMAIN/);
    }
  });
});
