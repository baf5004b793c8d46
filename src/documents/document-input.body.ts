import { BadRequestException } from '@nestjs/common';
import { z } from 'zod';

/** The sample store is in memory: bounds keep one document, and so one request, small. */
export const TITLE_MAX_LENGTH = 200;
export const BODY_MAX_LENGTH = 10_000;
/** RFC 3986 §2.3 unreserved characters: an id is its own URL path segment, unescaped. */
const ID_PATTERN = /^[A-Za-z0-9._~-]{1,64}$/;

/**
 * `PUT /internal/documents/:id` body. Unknown fields are refused rather than dropped, so a client
 * that sends one (a typo, a field it expects to be kept) learns at once that it is not stored.
 */
const schema = z.strictObject({
  title: z.string().min(1).max(TITLE_MAX_LENGTH).regex(/\S/, 'must not be blank'),
  body: z.string().max(BODY_MAX_LENGTH),
});

export type DocumentInput = z.output<typeof schema>;

/** The same rules as JSON Schema, for the OpenAPI document: it cannot drift from the validation. */
export const DOCUMENT_INPUT_JSON_SCHEMA = z.toJSONSchema(schema, { target: 'openapi-3.0' });
export const DOCUMENT_ID_JSON_SCHEMA = { type: 'string', pattern: ID_PATTERN.source, maxLength: 64 };

const problems = (error: z.ZodError) => error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');

export const DocumentInputBody = {
  parse(body: unknown): DocumentInput {
    const parsed = schema.safeParse(body);
    if (!parsed.success) throw new BadRequestException(problems(parsed.error));
    return parsed.data;
  },

  parseId(id: string): string {
    if (!ID_PATTERN.test(id)) throw new BadRequestException("id: must be 1-64 letters, digits, '.', '_', '~' or '-'");
    return id;
  },
};
