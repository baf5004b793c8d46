import { type DynamicModule, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_CONFIG } from './config.constants.js';
import { type AppConfig, validateEnv } from './app-config.js';

/**
 * `@nestjs/config` with the validated schema: every problem reported at boot, at once. The typed
 * `AppConfig` is provided under `APP_CONFIG`. Validation also runs synchronously here, so a bad
 * environment fails `AppModule.forRoot()` itself rather than surfacing later as an unhandled rejection.
 */
@Module({})
export class AppConfigModule {
  /** `config` is `loadConfig({ ...process.env, ...env })`, resolved by the caller before module creation. */
  static forRoot(config: AppConfig, options: { env?: Record<string, string | undefined> } = {}): DynamicModule {
    return {
      module: AppConfigModule,
      global: true,
      imports: [
        ConfigModule.forRoot({
          // main.ts loads `.env` into process.env before anything reads it.
          ignoreEnvFile: true,
          cache: true,
          // Return the raw values: ConfigModule copies what validate returns into process.env,
          // and test/embedded overrides must not leak there.
          validate: (raw) => {
            validateEnv({ ...raw, ...options.env });
            return raw;
          },
        }),
      ],
      providers: [{ provide: APP_CONFIG, useValue: config }],
      exports: [APP_CONFIG, ConfigModule],
    };
  }
}
