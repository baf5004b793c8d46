export const APP_CONFIG = 'nest_m2m:app_config';
