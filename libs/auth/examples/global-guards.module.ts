// README: secure by default — every route needs a token unless it is @Public().
import { Controller, Get, Module } from '@nestjs/common';
import { AuthModule, type AuthPrincipal, Principal, Public, Scopes } from '@nest-m2m/auth';

@Controller()
export class ReportsController {
  @Get('health')
  @Public() // no token needed
  health() {
    return { status: 'ok' };
  }

  @Get('reports')
  @Scopes('read:reports') // a valid token with this scope
  list(@Principal() caller: AuthPrincipal) {
    return { for: caller.clientId };
  }

  @Get('me')
  me(@Principal() caller: AuthPrincipal) {
    // a valid token, any scopes
    return { clientId: caller.clientId };
  }
}

@Module({
  imports: [
    AuthModule.forRoot({
      issuer: 'https://acme.us.auth0.com/',
      audience: 'https://reports.example.com',
      globalGuards: true,
    }),
  ],
  controllers: [ReportsController],
})
export class ReportsAppModule {}
