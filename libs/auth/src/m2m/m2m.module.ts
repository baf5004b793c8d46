import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { M2M_MODULE_OPTIONS } from './m2m.constants.js';
import { ASYNC_OPTIONS_TYPE, M2MConfigurableModule, OPTIONS_TYPE } from './m2m.module-definition.js';
import type { M2MModuleOptions } from './m2m.options.js';
import { M2MTokenService } from './m2m-token.service.js';
import { getSiblingClientToken, SiblingClients } from './sibling.client.js';
import { tokenCacheProvider } from './token-cache.provider.js';

const siblingClientsProvider: Provider = {
  provide: SiblingClients,
  inject: [M2M_MODULE_OPTIONS, M2MTokenService],
  useFactory: (options: M2MModuleOptions, tokens: M2MTokenService) => new SiblingClients(options.siblings ?? [], tokens),
};

/**
 * Outgoing machine-to-machine calls: `M2MTokenService` and one `SiblingClient` per configured
 * sibling. The token cache (`M2M_TOKEN_CACHE`), its Redis connections and the refresh timers end with
 * the module (`M2MTokenService.onModuleDestroy`).
 */
@Module({
  providers: [tokenCacheProvider, M2MTokenService, siblingClientsProvider],
  exports: [M2MTokenService, SiblingClients],
})
export class M2MModule extends M2MConfigurableModule {
  static override forRoot(options: typeof OPTIONS_TYPE): DynamicModule {
    return withSiblingProviders(
      super.forRoot(options),
      (options.siblings ?? []).map((s) => s.name),
    );
  }

  static override forRootAsync(options: typeof ASYNC_OPTIONS_TYPE): DynamicModule {
    return withSiblingProviders(super.forRootAsync(options), options.siblingNames ?? []);
  }
}

function withSiblingProviders(module: DynamicModule, names: string[]): DynamicModule {
  const providers: Provider[] = names.map((name) => ({
    provide: getSiblingClientToken(name),
    inject: [SiblingClients],
    useFactory: (clients: SiblingClients) => {
      const client = clients.get(name);
      if (!client) throw new TypeError(`'siblingNames' lists '${name}' but 'siblings' configures no sibling of that name`);
      return client;
    },
  }));
  const tokens = providers.map((p) => (p as { provide: string }).provide);
  return {
    ...module,
    providers: [...(module.providers ?? []), ...providers],
    exports: [...(module.exports ?? []), ...tokens],
  };
}
