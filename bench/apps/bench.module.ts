import { Controller, Get, type DynamicModule, Module } from '@nestjs/common';
import { AuthModule, Public, Scopes } from '@nest-m2m/auth';

/** Two routes that differ only in the guard work they need: the measured difference is auth. */
@Controller()
export class BenchController {
  @Public()
  @Get('public')
  open() {
    return { id: '1', title: 'Quarterly report' };
  }

  @Scopes('read:documents')
  @Get('guarded')
  guarded() {
    return { id: '1', title: 'Quarterly report' };
  }
}

/** The real AuthModule with the product's global guards (`globalGuards: true`), and nothing else. */
@Module({})
export class BenchModule {
  static forRoot(o: { issuer: string; audience: string; jwksUri: string }): DynamicModule {
    return {
      module: BenchModule,
      imports: [AuthModule.forRoot({ issuer: o.issuer, audience: o.audience, jwksUri: o.jwksUri, globalGuards: true })],
      controllers: [BenchController],
    };
  }
}
