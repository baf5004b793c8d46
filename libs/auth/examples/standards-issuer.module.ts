// README: any OAuth 2.0 / OIDC issuer — discovery, RFC 8707 `resource`, client_secret_basic or private_key_jwt.
import { readFileSync } from 'node:fs';
import { Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { AuthModule, IssuerDiscovery } from '@nest-m2m/auth';
import { M2MModule } from '@nest-m2m/auth/m2m';

@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true }),
    AuthModule.forRootAsync({
      isGlobal: true, // lets M2MModule's factory inject IssuerDiscovery
      inject: [ConfigService],
      useFactory: (config: ConfigService) => ({
        // The exact `iss` of the provider's tokens, e.g. https://login.example.com/realms/prod
        issuer: config.getOrThrow<string>('AUTH_ISSUER_URL'),
        audience: config.getOrThrow<string>('AUTH_AUDIENCE'),
        // jwksUri: found by discovery; set it to skip discovery.
        strictRfc9068: true, // optional: typ at+jwt and the RFC 9068 claims
      }),
    }),
    M2MModule.forRootAsync({
      inject: [ConfigService, IssuerDiscovery],
      useFactory: (config: ConfigService, discovery: IssuerDiscovery) => {
        const keyFile = config.get<string>('AUTH_CLIENT_PRIVATE_KEY_FILE');
        return {
          dialect: 'standard', // form body, `resource` (RFC 8707)
          resolveTokenEndpoint: async () => {
            const { token_endpoint } = await discovery.get();
            if (!token_endpoint) throw new Error('the issuer publishes no token_endpoint');
            return token_endpoint;
          },
          clientId: config.getOrThrow<string>('AUTH_CLIENT_ID'),
          ...(keyFile
            ? { clientAuth: 'private_key_jwt' as const, privateKey: readFileSync(keyFile, 'utf8') } // PKCS#8 PEM or a private JWK
            : { clientAuth: 'client_secret_basic' as const, clientSecret: config.getOrThrow<string>('AUTH_CLIENT_SECRET') }),
        };
      },
    }),
  ],
})
export class StandardsAppModule {}
