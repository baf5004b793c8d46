import { Controller, Get, Module, UseGuards } from '@nestjs/common';
import { AuthGuard, PassportModule } from '@nestjs/passport';
import { TextbookJwtStrategy } from './jwt.strategy.js';

@Controller()
class TextbookController {
  @Get('public')
  open() {
    return { id: '1', title: 'Quarterly report' };
  }

  @UseGuards(AuthGuard('jwt'))
  @Get('guarded')
  guarded() {
    return { id: '1', title: 'Quarterly report' };
  }
}

/** The reference: the textbook Nest + passport-jwt + jwks-rsa app, on Express as the tutorials run it. */
@Module({ imports: [PassportModule], controllers: [TextbookController], providers: [TextbookJwtStrategy] })
export class TextbookModule {}
