export const METRICS = 'nest_m2m:metrics';
