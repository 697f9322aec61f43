// bench/devices.mjs — the MCP half of bench/devices.sh: `show running-config` (5,000 lines) on a
// fake IOS device through `sshmcp serve` and the official @modelcontextprotocol/sdk Client.
//
//   node bench/devices.mjs
//
// One server, three sessions with device_type cisco_ios:
//   cold  the first call of a fresh session: login + enable + show running-config, one command
//   off   after `enable`: RUNS timed calls of show running-config (the engine turned the pager off)
//   on    after `enable` and `terminal length 24`: RUNS timed calls, the engine answers --More--
// Each output is compared with WANT (the --dump text). Prints "key value..." lines for
// devices.sh: cold_ms, off_ms, off_srv, on_ms, on_srv, clock_ms, clock_srv (client round trip and
// server duration_ms, ms; clock: CLOCK_N (default RUNS×20) `show clock`), off_bad, on_bad,
// cold_bad (outputs not equal to WANT). Environment: SSHMCP, MCP_SDK,
// MCP_HOST (default ios), RUNS (5), CLOCK_N, WANT (file), PIDFILE (the server's PID is appended).
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { startServer } from './mcp.mjs';

const HOST = process.env.MCP_HOST || 'ios';
const RUNS = Number(process.env.RUNS || 5);
const CLOCK_N = Number(process.env.CLOCK_N || RUNS * 20);
const WANT = readFileSync(process.env.WANT, 'utf8');

const { client, err } = await startServer();

// call(session, command): {ms, srv, out}; throws unless completed
async function call(session, command) {
	const t0 = performance.now();
	const res = await client.callTool({ name: 'execute_command', arguments: { host: HOST, session, command,
		device_type: 'cisco_ios', max_bytes: 1048576, wait: 120, timeout: 120 } }, undefined, { timeout: 180000 });
	const ms = performance.now() - t0;
	const sc = res.structuredContent || {};
	if (res.isError || sc.status !== 'completed') {
		throw new Error(`${command}: ${JSON.stringify(res).slice(0, 600)}\nserver stderr: ${err().slice(-600)}`);
	}
	return { ms, srv: sc.duration_ms, out: sc.output || '' };
}
function differs(out, what) {
	if (out === WANT) return 0;
	const g = out.split('\n'), w = WANT.split('\n');
	let i = 0;
	while (i < g.length && i < w.length && g[i] === w[i]) i++;
	console.error(`${what}: ${g.length} lines, want ${w.length}; line ${i + 1}: ${JSON.stringify(g[i])} want ${JSON.stringify(w[i])}`);
	return 1;
}
const fmt = (a) => a.map((x) => (typeof x === 'number' ? x.toFixed(3) : 'null')).join(' ');

try {
	const c = await call('cold', 'enable\nshow running-config');
	console.log(`cold_ms ${c.ms.toFixed(3)}`);
	console.log(`cold_bad ${differs(c.out, 'cold')}`);
	for (const [mode, setup] of [['off', ['enable']], ['on', ['enable', 'terminal length 24']]]) {
		for (const cmd of setup) await call(mode, cmd);
		const ms = [], srv = [];
		let bad = 0;
		for (let i = 0; i < RUNS; i++) {
			const r = await call(mode, 'show running-config');
			ms.push(r.ms); srv.push(r.srv);
			bad += differs(r.out, `${mode} run ${i + 1}`);
		}
		console.log(`${mode}_ms ${fmt(ms)}`);
		console.log(`${mode}_srv ${fmt(srv)}`);
		console.log(`${mode}_bad ${bad}`);
	}
	const clk = [], clks = [];   // a one-line command: the engine's own overhead per command
	for (let i = 0; i < CLOCK_N; i++) {
		const r = await call('off', 'show clock');
		clk.push(r.ms); clks.push(r.srv);
		if (r.out !== '*12:00:00.000 UTC Mon Mar 1 1993\n') console.error(`show clock: ${JSON.stringify(r.out)}`);
	}
	console.log(`clock_ms ${fmt(clk)}`);
	console.log(`clock_srv ${fmt(clks)}`);
	await client.close();
} catch (e) {
	console.error(String(e && e.stack || e));
	try { await client.close(); } catch { /* gone */ }
	process.exit(1);
}
