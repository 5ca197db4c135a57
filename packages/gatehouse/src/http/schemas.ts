// Shared TypeBox schemas: one definition gives validation, types and (later) the OpenAPI document.
import { Type } from 'typebox';

export const UserSchema = Type.Object({
  id: Type.String(),
  email: Type.String(),
  name: Type.String(),
  role: Type.String(),
  emailVerified: Type.Boolean(),
  createdAt: Type.String(),
  lastLoginAt: Type.Union([Type.String(), Type.Null()]),
});

export const ModeSchema = Type.Union([Type.Literal('token'), Type.Literal('cookie'), Type.Literal('session')]);

export const LoginResponseSchema = Type.Object({
  user: UserSchema,
  accessToken: Type.Optional(Type.String()),
  refreshToken: Type.Optional(Type.String()),
  tokenType: Type.Optional(Type.Literal('Bearer')),
  expiresIn: Type.Optional(Type.Integer()),
});

export const UserResponseSchema = Type.Object({ user: UserSchema });

export const AdminUserSchema = Type.Intersect([UserSchema, Type.Object({ disabled: Type.Boolean(), disabledAt: Type.Union([Type.String(), Type.Null()]) })]);
export const AdminUserResponseSchema = Type.Object({ user: AdminUserSchema });

// Bounds well above the policy's, so that the policy (not the schema) explains what is wrong.
export const EmailField = Type.String({ maxLength: 320 });
export const PasswordField = Type.String({ maxLength: 4096 });
export const NameField = Type.String({ maxLength: 1000 });
