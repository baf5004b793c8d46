// README: "M2MTokenService and sibling clients" — the service's methods and events, and a sibling call.
import { M2MTokenService, SiblingClient } from '@nest-m2m/auth/m2m';
import { firstValueFrom } from 'rxjs';

export async function tour(tokens: M2MTokenService, audit: SiblingClient): Promise<void> {
  const audience = 'https://reports.example.com';
  const scopes = ['read:reports'];

  const token = await tokens.getToken({ audience, scopes }); // { accessToken, tokenType, expiresAt: Date, scope? }
  await tokens.getAuthorizationHeader({ audience, scopes }); // 'Bearer eyJ…'
  await tokens.invalidate({ audience, scopes, accessToken: token.accessToken }); // after the API said 401 invalid_token
  tokens.stats(); // { tokenRequests, cacheHits, cacheMisses, failures }
  tokens.quota(); // Auth0 quota / X-RateLimit figures of the latest answer that had them, or undefined
  tokens.events.on('failure', ({ audience, error, servedStale }) => {
    console.warn(`token for ${audience} failed (${error.message}); served stale: ${servedStale}`);
  });

  // A POST is retried after 401 invalid_token only when marked:
  await firstValueFrom(audit.post('/audit-events', { action: 'delete' }, { retryOnInvalidToken: true }));
}
