// Removes dist/ before a build, so a file deleted from src/ can never ship from a stale dist/.
// Plain JavaScript: it runs before anything is compiled, without tsx.
import { rmSync } from 'node:fs';

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
