import { BadRequestException } from '@nestjs/common';
import { z } from 'zod';
import type { AuditEventInput } from './audit-event.js';

const schema = z.object({
  action: z.string().min(1).max(200),
  resource: z.string().min(1).max(500),
  actor: z.string().max(200).optional(),
});

export const AuditEventBody = {
  parse(body: unknown): AuditEventInput {
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      throw new BadRequestException(parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
    }
    return parsed.data;
  },
};
