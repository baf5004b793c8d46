// README: "Your own token cache" — a RedisTokenCache on an ioredis client you configure yourself.
import { Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { CacheEncryption, M2MModule, RedisTokenCache } from '@nest-m2m/auth/m2m';
import { Redis } from 'ioredis';

@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true }),
    M2MModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService) => ({
        dialect: 'auth0',
        tokenEndpoint: `https://${config.getOrThrow<string>('AUTH0_DOMAIN')}/oauth/token`,
        clientId: config.getOrThrow<string>('AUTH0_CLIENT_ID'),
        clientSecret: config.getOrThrow<string>('AUTH0_CLIENT_SECRET'),
        cache: new RedisTokenCache(
          new Redis({
            sentinels: [{ host: 'redis-sentinel.internal', port: 26379 }],
            name: 'tokens',
            // Fail fast, as the client built for cacheUrl does: during an outage the in-process copy serves.
            connectTimeout: 1000,
            commandTimeout: 500,
            maxRetriesPerRequest: 0,
            enableOfflineQueue: false,
          }),
          {
            keyPrefix: 'billing:token:',
            encryption: new CacheEncryption(Buffer.from(config.getOrThrow<string>('TOKEN_CACHE_ENCRYPTION_KEY'), 'hex')), // 32 bytes
          },
        ),
      }),
    }),
  ],
})
export class SharedTokenCacheModule {}
