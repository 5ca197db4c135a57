// One server under load, in its own process (so the load generator does not share its core):
// FRAMEWORK=express|fastify, GUARD=none|jsonwebtoken|verify|verify-nocache. Prints its port on stdout.
import express, { type NextFunction, type Request, type Response } from 'express';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import jwt from 'jsonwebtoken';
import { createVerifier } from '../src/index.ts';
import { requireAuth } from '../src/express.ts';
import { gatehouseAuth } from '../src/fastify.ts';

const { FRAMEWORK = 'express', GUARD = 'none', ISSUER = '', JWKS_URL = '', JWT_SECRET = '' } = process.env;

const verifier = GUARD.startsWith('verify')
  ? createVerifier({ issuer: ISSUER, audience: ISSUER, jwksUrl: JWKS_URL, ...(GUARD === 'verify-nocache' ? { cacheSize: 0 } : {}) })
  : null;

// The seeds' middleware: jwt.verify with a string secret (HS256), minus their database lookup.
function seedAuthenticate(req: Request, res: Response, next: NextFunction) {
  const header = req.headers.authorization;
  if (!header || !header.startsWith('Bearer ')) return res.status(401).json({ error: 'Authentication required' });
  try {
    (req as Request & { user?: unknown }).user = jwt.verify(header.substring(7), JWT_SECRET);
    next();
  } catch (err) {
    if ((err as Error).name === 'TokenExpiredError') return res.status(401).json({ error: 'Token expired' });
    res.status(401).json({ error: 'Invalid token' });
  }
}

async function seedPreHandler(request: FastifyRequest, reply: FastifyReply) {
  const header = request.headers.authorization;
  if (!header || !header.startsWith('Bearer ')) return reply.code(401).send({ error: 'Authentication required' });
  try {
    jwt.verify(header.substring(7), JWT_SECRET);
  } catch {
    return reply.code(401).send({ error: 'Invalid token' });
  }
}

async function listen(): Promise<number> {
  if (FRAMEWORK === 'express') {
    const app = express();
    const guards = GUARD === 'none' ? [] : GUARD === 'jsonwebtoken' ? [seedAuthenticate] : [requireAuth(verifier!)];
    app.get('/protected', ...guards, (_req, res) => {
      res.json({ ok: true });
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    return (server.address() as { port: number }).port;
  }
  const app = Fastify({ logger: false });
  if (verifier) await app.register(gatehouseAuth, { verifier });
  const preHandler = GUARD === 'none' ? [] : GUARD === 'jsonwebtoken' ? [seedPreHandler] : [app.requireAuth];
  app.get('/protected', { preHandler }, async () => ({ ok: true }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  return (app.server.address() as { port: number }).port;
}

console.log(await listen());
