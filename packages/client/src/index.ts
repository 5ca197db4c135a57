export { createClient, GatehouseClient, type ClientOptions, type LoginMode, type SessionEndReason, type SessionEndedDetail, type User } from './client.ts';
export { GatehouseError, type FieldError } from './errors.ts';
