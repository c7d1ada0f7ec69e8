/**
 * Bench only, preloaded into the daemon with `--expose-gc --import`: on SIGUSR2, collect garbage
 * fully, then write the memory figures to `$MCP_SECRETS_BENCH_GC_OUT` (so RSS is sampled after a
 * forced GC, not whenever V8 felt like collecting). Never part of the product.
 */
import { renameSync, writeFileSync } from 'node:fs';
import v8 from 'node:v8';

const out = process.env.MCP_SECRETS_BENCH_GC_OUT;
const collect = (globalThis as { gc?: () => void }).gc;
let seq = 0;
if (out && collect) {
  process.on('SIGUSR2', () => {
    collect();
    collect();
    const m = process.memoryUsage();
    // where the RSS is: V8's spaces (committed) next to what malloc holds outside them
    const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((sp) => [sp.space_name, Math.round(sp.physical_space_size / 1024)]));
    // written aside, then renamed: the bench never reads half a sample
    writeFileSync(`${out}.tmp`, JSON.stringify({ seq: ++seq, rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, spacesKb: spaces }));
    renameSync(`${out}.tmp`, out);
  });
}
