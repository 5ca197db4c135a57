// The seeds' example API (public route, profile, reports, delete user) with Gatehouse doing the auth:
// no secret here, only Gatehouse's public keys; 401 vs 403 and the contract's error body come from the guards.
import express from 'express';
import { expressAuth } from '@gatehouse/verify/express';

/** @param {import('@gatehouse/verify').Verifier} verifier */
export function createApp(verifier) {
  const { requireAuth, requireRole } = expressAuth(verifier);
  const app = express();
  app.use(express.json());

  app.get('/', (_req, res) => {
    res.json({ message: 'Public: anyone can read this' });
  });

  // Any signed-in user. req.auth holds the verified claims: sub (user id), sid, role, exp…
  app.get('/profile', requireAuth, (req, res) => {
    res.json({ userId: req.auth.sub, role: req.auth.role, sessionExpiresAt: new Date(req.auth.exp * 1000).toISOString() });
  });

  app.get('/api/reports', requireAuth, requireRole('admin', 'manager'), (_req, res) => {
    res.json({ reports: [] });
  });

  // Deletes this API's own data about a user (Gatehouse's accounts are managed through its admin API).
  app.delete('/api/users/:id', requireAuth, requireRole('admin'), (_req, res) => {
    res.status(204).end();
  });

  app.use((_req, res) => {
    res.status(404).json({ error: { code: 'not_found', message: 'Not found' } });
  });
  return app;
}
