// bench/latency.mjs — the MCP half of bench/latency.sh: round trips of `execute_command`
// through the official @modelcontextprotocol/sdk Client over StdioClientTransport.
//
//   node bench/latency.mjs warm    N=200 WARM=5 calls of `true` on one server, after WARM warm-up calls
//   node bench/latency.mjs first   FRESH=5 fresh servers, the first execute_command of each
//
// Environment: SSHMCP (binary), MCP_HOST (alias, default h), MCP_SDK (npm prefix, as in
// tests/mcp/client.mjs), PIDFILE (each spawned server's PID is appended, for the caller's cleanup),
// N, WARM, FRESH. HOME must be the fixture home (the server reads $HOME/.ssh/config).
// Prints one line per result, "key value...", for latency.sh to read; exits non-zero on any
// call that does not come back completed with exit_code 0.
import { performance } from 'node:perf_hooks';
import { sdk, startServer } from './mcp.mjs';

const mode = process.argv[2] || 'warm';
const HOST = process.env.MCP_HOST || 'h';
const N = Number(process.env.N || 200);
const WARM = Number(process.env.WARM || 5);
const FRESH = Number(process.env.FRESH || 5);

async function call(s) {
	const t0 = performance.now();
	const res = await s.client.callTool({ name: 'execute_command', arguments: { host: HOST, command: 'true' } },
		undefined, { timeout: 60000 });
	const ms = performance.now() - t0;
	const sc = res.structuredContent || {};
	if (res.isError || sc.status !== 'completed' || sc.exit_code !== 0) {
		throw new Error(`execute_command true: ${JSON.stringify(res).slice(0, 600)}\nserver stderr: ${s.err().slice(-600)}`);
	}
	return { ms, server: sc.duration_ms };
}

const fmt = (a) => a.map((x) => x.toFixed(3)).join(' ');
try {
	if (mode === 'warm') {
		const s = await startServer();
		for (let i = 0; i < WARM; i++) await call(s);
		const ms = [], srv = [];
		for (let i = 0; i < N; i++) { const r = await call(s); ms.push(r.ms); if (typeof r.server === 'number') srv.push(r.server); }
		console.log(`sdk ${sdk.version}`);
		console.log(`warm_ms ${fmt(ms)}`);
		console.log(`server_duration_ms ${srv.join(' ')}`);
		await s.client.close();
	} else if (mode === 'first') {
		const init = [], first = [], second = [];
		for (let i = 0; i < FRESH; i++) {
			const t0 = performance.now();
			const s = await startServer();
			init.push(performance.now() - t0);       // spawn + initialize + tools/list
			first.push((await call(s)).ms);          // connect + auth + shell setup + `true`
			second.push((await call(s)).ms);
			await s.client.close();
		}
		console.log(`init_ms ${fmt(init)}`);
		console.log(`first_ms ${fmt(first)}`);
		console.log(`second_ms ${fmt(second)}`);
	} else {
		throw new Error(`unknown mode ${mode} (warm|first)`);
	}
} catch (e) {
	console.error(String(e && e.stack || e));
	process.exit(1);
}
