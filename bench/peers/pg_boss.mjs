// pg-boss 10: insert() per chunk, then `concurrency` work() loops, each fetching batches of 100
// (batchSize) and polling every 0.5 s, pg-boss 10's minimum, until the handlers have seen every
// job and the database shows them all completed (pg-boss completes a batch without awaiting).
import { args, chunks, now, report, require, settled } from "./_peer.mjs";

const PgBoss = require("pg-boss");
const { Client } = require("pg");

const boss = new PgBoss({ connectionString: args.dsn, max: args.concurrency + 2 });
boss.on("error", (e) => console.error(e.message));
await boss.start();
await boss.createQueue("noop");
const t0 = now();
for (const part of chunks(args.jobs)) {
  await boss.insert(part.map((i) => ({ name: "noop", data: { i } })));
}
const t1 = now();

let seen = 0;
let allSeen;
const done = new Promise((r) => (allSeen = r));
const handler = async (jobs) => {
  seen += jobs.length;
  if (seen >= args.jobs) allSeen();
};
for (let w = 0; w < args.concurrency; w++) {
  await boss.work("noop", { batchSize: 100, pollingIntervalSeconds: 0.5 }, handler);
}
await done;
const client = new Client({ connectionString: args.dsn });
await client.connect();
await settled(client, "select count(*) from pgboss.job where name = 'noop' and state <> 'completed'");
const t2 = now();
await client.end();
await boss.stop({ graceful: false, close: true });
report(t1 - t0, t2 - t1);
process.exit(0);
