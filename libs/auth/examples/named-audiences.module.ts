// README "One service, several APIs: @Audience()": two APIs in one service, each accepting only its own tokens.
import { Controller, Get, Module } from '@nestjs/common';
import { Audience, AuthModule, Scopes } from '@nest-m2m/auth';

@Controller('billing')
@Audience('billing') // tokens for https://billing.example.com only
export class BillingController {
  @Get()
  @Scopes('read:billing')
  list() {
    return [];
  }
}

@Controller('audit')
@Audience('audit')
export class AuditController {
  @Get()
  list() {
    return [];
  }
}

@Module({
  imports: [
    AuthModule.forRoot({
      issuer: 'https://acme.us.auth0.com/',
      audience: [],
      namedAudiences: { billing: 'https://billing.example.com', audit: 'https://audit.example.com' },
      globalGuards: true,
    }),
  ],
  controllers: [BillingController, AuditController],
})
export class BillingAppModule {}
