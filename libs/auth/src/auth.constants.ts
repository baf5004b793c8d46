/** Injection tokens and metadata keys of the AuthModule, namespaced so they cannot collide with an app's own. */
export const AUTH_STRATEGY_NAME = 'jwt';
export const SCOPES_METADATA = 'nest_m2m:scopes';
export const PUBLIC_METADATA = 'nest_m2m:public';
export const AUDIENCE_METADATA = 'nest_m2m:audience';
