import { type DynamicModule, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_CONFIG } from './config.constants.js';
import { type AppConfig, loadConfig } from './app-config.js';

/**
 * `@nestjs/config` with the validated schema: every problem reported at boot, at once. The typed
 * `AppConfig` is also provided under `APP_CONFIG` for factories that need more than one value.
 */
@Module({})
export class AppConfigModule {
  static forRoot(options: { env?: Record<string, string | undefined>; envFile?: boolean } = {}): DynamicModule {
    let config: AppConfig | undefined;
    const resolve = (raw: Record<string, unknown>) => (config ??= loadConfig({ ...raw, ...options.env }));
    return {
      module: AppConfigModule,
      global: true,
      imports: [
        ConfigModule.forRoot({
          ignoreEnvFile: options.envFile === false,
          cache: true,
          validate: (raw) => ({ ...raw, ...resolve(raw).env }),
        }),
      ],
      providers: [{ provide: APP_CONFIG, useFactory: () => config ?? resolve(process.env) }],
      exports: [APP_CONFIG, ConfigModule],
    };
  }
}
