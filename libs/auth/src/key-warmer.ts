import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { KeySource } from './key-source.js';

/**
 * Pre-warms the JWKS at start-up without blocking it: liveness never waits on the issuer,
 * readiness (`KeySource.ready`) does.
 */
@Injectable()
export class KeyWarmer implements OnApplicationBootstrap {
  private warming?: Promise<boolean>;

  constructor(private readonly keys: KeySource) {}

  onApplicationBootstrap(): void {
    this.warming = this.keys.warm();
  }

  /** Resolves when the first fetch has settled (true when keys were loaded). */
  settled(): Promise<boolean> {
    return this.warming ?? this.keys.warm();
  }
}
