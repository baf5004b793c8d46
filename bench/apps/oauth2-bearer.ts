import express from 'express';
import { auth, requiredScopes } from 'express-oauth2-jwt-bearer';

/**
 * The other baseline of issue 10: a plain Express app guarded by Auth0's `express-oauth2-jwt-bearer`
 * as its README shows it (`auth({ issuerBaseURL, audience })`, then `requiredScopes`), with an
 * unguarded route that returns the same body. `issuerBaseURL` is the dev issuer on
 * http://127.0.0.1: the library reads the discovery document and the JWKS from it; it refuses an
 * http issuer only when `NODE_ENV=production`, which the bench servers do not set.
 */
export function oauth2BearerApp(o: { issuerBaseURL: string; audience: string }): express.Express {
  const app = express();
  const checkJwt = auth({ issuerBaseURL: o.issuerBaseURL, audience: o.audience });
  const body = { id: '1', title: 'Quarterly report' };
  app.get('/public', (_req, res) => {
    res.json(body);
  });
  app.get('/guarded', checkJwt, requiredScopes('read:documents'), (_req, res) => {
    res.json(body);
  });
  return app;
}
