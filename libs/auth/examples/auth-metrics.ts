// README: counting refusals and JWKS fetches with AuthEvents (AuthModule must be imported or isGlobal).
import { Injectable } from '@nestjs/common';
import { AuthEvents } from '@nest-m2m/auth';

@Injectable()
export class AuthMetrics {
  readonly rejections = new Map<string, number>();
  readonly jwksFetches = { success: 0, failure: 0 };

  constructor(events: AuthEvents) {
    events.on({
      rejected: (code, status) => {
        const key = `${code} ${status}`; // e.g. 'ERR_AUTH_TOKEN_EXPIRED 401', 'ERR_AUTH_INSUFFICIENT_SCOPE 403'
        this.rejections.set(key, (this.rejections.get(key) ?? 0) + 1);
      },
      jwksFetched: (outcome) => {
        this.jwksFetches[outcome] += 1; // 'success' | 'failure'
      },
    });
  }
}
