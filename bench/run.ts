/**
 * `npm run bench`: every benchmark, results in bench/results/*.json and *.md.
 * `npm run bench -- engine` (or startup, sync, daemon, daemon-rss, run) runs one. `--quick` shortens the slow parts.
 */
import { runAndWriteEngineBench, toMarkdown } from './engine.js';
import { runSyncBench } from './sync.js';
import { runDaemonBench } from './daemon.js';
import { runStartupBench } from './startup.js';
import { runConsumerBench } from './consumer-run.js';
import { runDaemonRssBench } from './daemon-rss.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args.filter((a) => !a.startsWith('--'));
const want = (name: string): boolean => only.length === 0 || only.includes(name);

if (want('engine')) console.log(toMarkdown(await runAndWriteEngineBench(quick ? { runs: 5 } : {})));
if (want('startup')) console.log('startup', JSON.stringify(await runStartupBench(quick ? { runs: 5 } : {}), null, 1));
if (want('sync')) console.log('sync', JSON.stringify(await runSyncBench(quick ? { runs: 5 } : {}), null, 1));
if (want('daemon')) console.log('daemon', JSON.stringify(await runDaemonBench(quick ? { checkouts: 10, idleSeconds: 5, statusRuns: 5 } : {}), null, 1));
if (want('run')) console.log('run', JSON.stringify(await runConsumerBench(quick ? { runs: 5 } : {}), null, 1));
if (want('daemon-rss')) console.log('daemon-rss', JSON.stringify(await runDaemonRssBench(quick ? { syncs: 200, every: 50 } : {}), null, 1));
