/** The KLIQ API client: `new KliqClient({ apiKey }).forTenant(id)`, wire schemas, typed errors, webhook signatures, sync events. */
export * from './client';
export * from './errors';
export * from './events';
export * from './signature';
export * from './wire';
