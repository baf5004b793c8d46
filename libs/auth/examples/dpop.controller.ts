import { Controller, Delete } from '@nestjs/common';
import { Dpop, Scopes } from '@nest-m2m/auth';

@Controller('payments')
export class PaymentsController {
  @Delete()
  @Dpop('required')
  @Scopes('write:payments')
  purge() {
    return { purged: true };
  }
}
