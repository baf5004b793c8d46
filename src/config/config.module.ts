import { type DynamicModule, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { APP_CONFIG } from './config.constants.js';
import { type AppConfig, loadConfig } from './app-config.js';

/** What ConfigService holds: the validated, resolved configuration, under one key. */
export interface ValidatedConfig {
  app: AppConfig;
}

/** `ConfigService` typed by the validated configuration: `config.get<AppConfig>('app')`, never undefined. */
export type AppConfigService = ConfigService<ValidatedConfig, true>;

/**
 * `@nestjs/config` validates the environment once, at boot, with every problem listed: its `validate`
 * option is `loadConfig` (the zod schema in env.schema.ts, the rules across variables, and the
 * derivation into AppConfig). The typed AppConfig is also provided under `APP_CONFIG`.
 */
@Module({})
export class AppConfigModule {
  /**
   * Returns the module and the configuration it validated: AppModule chooses its imports from it.
   * `env` overrides process.env (tests, embedded mode) without being written into it.
   */
  static forRoot(options: { env?: Record<string, string | undefined> } = {}): { module: DynamicModule; config: AppConfig } {
    let config: AppConfig | undefined;
    let failure: unknown;
    const configModule = ConfigModule.forRoot({
      // main.ts loads `.env` into process.env before anything reads it.
      ignoreEnvFile: true,
      cache: true,
      isGlobal: true,
      validate: (raw) => {
        try {
          config = loadConfig({ ...raw, ...options.env });
        } catch (error) {
          failure = error;
          throw error;
        }
        // One object-valued key: ConfigModule copies only string, number and boolean values into
        // process.env, so neither parsed values nor the overrides leak there.
        return { app: config } satisfies ValidatedConfig;
      },
    });
    // ConfigModule.forRoot is async but calls `validate` before its first await: a bad environment
    // fails AppModule.forRoot() itself (a ConfigError naming every problem), not a later import.
    if (config === undefined) {
      configModule.catch(() => undefined);
      throw failure;
    }
    return {
      config,
      module: {
        module: AppConfigModule,
        global: true,
        imports: [configModule],
        providers: [
          {
            provide: APP_CONFIG,
            inject: [ConfigService],
            useFactory: (service: AppConfigService): AppConfig => service.get<AppConfig>('app'),
          },
        ],
        exports: [APP_CONFIG, ConfigModule],
      },
    };
  }
}
