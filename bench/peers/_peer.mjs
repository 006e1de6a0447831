// Shared by the node peer runners: argv, packages from bench/.peers/node, the JSON line,
// and waiting until the database shows every job completed.
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
export const require = createRequire(`${process.env.PEERS_NODE || `${here}../.peers/node`}/package.json`);
const [dsn, jobs, concurrency] = process.argv.slice(2);
export const args = { dsn, jobs: Number(jobs), concurrency: Number(concurrency), mode: process.argv[5] };
export const CHUNK = 1000; // jobs per bulk-enqueue call, the same for every peer
export const now = () => performance.now() / 1000;

export function* chunks(n) {
  for (let i = 0; i < n; i += CHUNK) yield Array.from({ length: Math.min(CHUNK, n - i) }, (_, k) => i + k);
}

// Resolves once `sql` (a count of jobs not yet completed) returns 0, polling every 5 ms.
export async function settled(client, sql, params = []) {
  for (;;) {
    const { rows } = await client.query(sql, params);
    if (Number(rows[0].count) === 0) return;
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function report(enqueueS, drainS) {
  console.log(JSON.stringify({ enqueue: args.jobs / enqueueS, drain: args.jobs / drainS }));
}
