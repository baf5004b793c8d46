// README: "Adopt in an existing Nest app" — Auth0, options from @nestjs/config.
import { Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { AuthModule } from '@nest-m2m/auth';
import { DocumentsModule } from './documents.module.js';

@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true }),
    AuthModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService) => ({
        // Auth0 issuers end with a slash: https://acme.us.auth0.com/
        issuer: `https://${config.getOrThrow<string>('AUTH0_DOMAIN')}/`,
        // Your API's identifier in Auth0; several are allowed (comma-separated here).
        audience: config.getOrThrow<string>('AUTH0_AUDIENCE').split(','),
      }),
    }),
    DocumentsModule,
  ],
})
export class AppModule {}
