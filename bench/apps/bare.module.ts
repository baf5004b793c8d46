import { Controller, Get, Module } from '@nestjs/common';

@Controller()
class BareController {
  @Get('public')
  open() {
    return { id: '1', title: 'Quarterly report' };
  }
}

/** A bare Nest app: one controller, no guard, no logging, no middleware — the floor of a Nest request on a platform. */
@Module({ controllers: [BareController] })
export class BareModule {}
