// graphile-worker 0.17: addJobs() per chunk, then run() with concurrentJobs = concurrency until
// the handlers have seen every job and the jobs table is empty (completed jobs are deleted).
// Mode "batched" turns on 0.17's batching as in its documented performance setup:
// localQueue.size 500, completeJobBatchDelay 0, failJobBatchDelay 0.
import { args, chunks, now, report, require, settled } from "./_peer.mjs";

const { Logger, makeWorkerUtils, run } = require("graphile-worker");
const { Client } = require("pg");

const batching = { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 };
const logger = new Logger(() => () => {});
const worker = {
  connectionString: args.dsn,
  concurrentJobs: args.concurrency,
  maxPoolSize: args.concurrency + 1, // as in its performance setup: a connection per job slot
  ...(args.mode === "batched" ? batching : {}),
};

const utils = await makeWorkerUtils({ connectionString: args.dsn, logger });
await utils.migrate();
const t0 = now();
for (const part of chunks(args.jobs)) {
  await utils.addJobs(part.map((i) => ({ identifier: "noop", payload: { i } })));
}
const t1 = now();
await utils.release();

let seen = 0;
let allSeen;
const done = new Promise((r) => (allSeen = r));
const runner = await run({
  preset: { worker },
  logger,
  taskList: {
    noop: async () => {
      if (++seen === args.jobs) allSeen();
    },
  },
});
await done;
const client = new Client({ connectionString: args.dsn });
await client.connect();
await settled(client, "select count(*) from graphile_worker._private_jobs");
const t2 = now();
await runner.stop();
await client.end();
report(t1 - t0, t2 - t1);
process.exit(0);
