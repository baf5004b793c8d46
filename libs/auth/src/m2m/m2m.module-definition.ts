import { ConfigurableModuleBuilder } from '@nestjs/common';
import { M2M_MODULE_OPTIONS } from './m2m.constants.js';
import type { M2MModuleOptions } from './m2m.options.js';

export interface M2MModuleExtras {
  /** Register the module globally (Nest's `isGlobal` idiom, as `AuthModule`): siblings and the token service injectable anywhere. */
  isGlobal: boolean;
  /**
   * `forRootAsync` only: the sibling names to register for `@InjectSiblingClient(name)`, since the
   * factory's `siblings` are only known at run time. Each must be configured by the factory.
   */
  siblingNames: string[];
}

export const {
  ConfigurableModuleClass: M2MConfigurableModule,
  MODULE_OPTIONS_TOKEN,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<M2MModuleOptions>({ optionsInjectionToken: M2M_MODULE_OPTIONS })
  .setClassMethodName('forRoot')
  .setExtras<M2MModuleExtras>({ isGlobal: false, siblingNames: [] }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();
