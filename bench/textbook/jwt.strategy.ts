import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { passportJwtSecret } from 'jwks-rsa';
import { ExtractJwt, Strategy } from 'passport-jwt';

/**
 * The strategy exactly as Auth0's NestJS guide and most tutorials write it: jwks-rsa hands
 * passport-jwt a PEM string, which jsonwebtoken parses again on every request.
 */
@Injectable()
export class TextbookJwtStrategy extends PassportStrategy(Strategy) {
  constructor() {
    super({
      secretOrKeyProvider: passportJwtSecret({
        cache: true,
        rateLimit: true,
        jwksRequestsPerMinute: 5,
        jwksUri: process.env.BENCH_JWKS_URI!,
      }),
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      audience: process.env.BENCH_AUDIENCE,
      issuer: process.env.BENCH_ISSUER,
      algorithms: ['RS256'],
    });
  }

  validate(payload: unknown): unknown {
    return payload;
  }
}
