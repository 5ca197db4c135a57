// The seeds' server (shared/seeds: "Node.js JWT Authentication Complete Guide"), as the tutorial writes it:
// Express, bcrypt with 10 salt rounds, jsonwebtoken with a string secret and `expiresIn: '1h'`, and the
// `authenticate` middleware (jwt.verify, then look the user up by the token's id) on a protected route.
// The tutorial's Mongo `User` model is a Map here, which only flatters it. bcryptjs stands in for the native
// `bcrypt` package (the same algorithm and format; it is what this repository has installed).
// Started by bench/compare.ts with fork(); sends { port } over IPC once listening and stops on SIGTERM.
import bcrypt from 'bcryptjs';
import express, { type NextFunction, type Request, type Response } from 'express';
import jwt from 'jsonwebtoken';
import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';

interface StoredUser {
  id: string;
  email: string;
  name: string;
  role: string;
  password: string;
}

const JWT_SECRET = process.env.JWT_SECRET || randomBytes(32).toString('base64url');
const users = new Map<string, StoredUser>();
const byEmail = new Map<string, StoredUser>();
const safe = ({ password: _, ...user }: StoredUser) => user;

const app = express();
app.use(express.json());

app.post('/auth/register', async (req, res) => {
  try {
    const { email, password, name } = req.body ?? {};
    if (!email || !password || !name) return res.status(400).json({ error: 'All fields are required' });
    if (password.length < 8) return res.status(400).json({ error: 'Password must be at least 8 characters' });
    if (byEmail.has(email)) return res.status(400).json({ error: 'Email already registered' });
    const user: StoredUser = { id: randomUUID(), email, name, role: 'user', password: await bcrypt.hash(password, 10) };
    users.set(user.id, user);
    byEmail.set(email, user);
    res.status(201).json({ message: 'Registered', user: safe(user) });
  } catch (err) {
    res.status(500).json({ error: (err as Error).message });
  }
});

app.post('/auth/login', async (req, res) => {
  try {
    const { email, password } = req.body ?? {};
    const user = byEmail.get(email);
    if (!user || !(await bcrypt.compare(password, user.password))) return res.status(401).json({ error: 'Invalid credentials' });
    const token = jwt.sign({ id: user.id, email: user.email, role: user.role }, JWT_SECRET, { expiresIn: '1h' });
    res.json({ token, user: safe(user) });
  } catch (err) {
    res.status(500).json({ error: (err as Error).message });
  }
});

async function authenticate(req: Request, res: Response, next: NextFunction) {
  try {
    const authHeader = req.headers.authorization;
    if (!authHeader || !authHeader.startsWith('Bearer ')) return res.status(401).json({ error: 'Authentication required' });
    const decoded = jwt.verify(authHeader.substring(7), JWT_SECRET) as { id: string };
    const user = users.get(decoded.id);
    if (!user) return res.status(401).json({ error: 'User not found' });
    (req as Request & { user?: object }).user = safe(user);
    next();
  } catch (err) {
    if ((err as Error).name === 'TokenExpiredError') return res.status(401).json({ error: 'Token expired' });
    res.status(401).json({ error: 'Invalid token' });
  }
}

app.get('/api/profile', authenticate, (req, res) => {
  res.json({ user: (req as Request & { user?: object }).user });
});

const server = app.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port }));
process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
