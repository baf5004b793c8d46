import { invalidRequest } from './errors.js';

/** Token request parameters by name; a name may appear more than once in a form body. */
export type RequestParams = Map<string, string[]>;

/**
 * Parses a token request body. RFC 6749 §4.4.2 specifies form encoding; Auth0 also takes JSON,
 * and its SDKs send JSON, so both are accepted.
 */
export function parseTokenRequestBody(type: string, body: string): RequestParams {
  const params: RequestParams = new Map();
  if (type === 'application/x-www-form-urlencoded') {
    for (const [name, value] of new URLSearchParams(body)) params.set(name, [...(params.get(name) ?? []), value]);
    return params;
  }
  if (type === 'application/json') {
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      throw invalidRequest('Malformed JSON body');
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw invalidRequest('JSON body must be an object');
    for (const [name, value] of Object.entries(json)) {
      if (value === undefined || value === null) continue;
      const values = Array.isArray(value) ? value : [value];
      if (!values.every((v) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')) {
        throw invalidRequest(`Parameter ${name} must be a string`);
      }
      params.set(name, values.map(String));
    }
    return params;
  }
  throw invalidRequest(
    type
      ? `Unsupported content type ${type}: use application/x-www-form-urlencoded or application/json`
      : 'Missing Content-Type: use application/x-www-form-urlencoded or application/json',
  );
}

/** One value or none; RFC 6749 §3.2 forbids sending a parameter more than once. */
export function single(params: RequestParams, name: string): string | undefined {
  const values = params.get(name);
  if (!values) return undefined;
  if (values.length > 1) throw invalidRequest(`Parameter ${name} must not be repeated`);
  return values[0] === '' ? undefined : values[0];
}
