// bench/screen-keys.mjs — the MCP half of bench/screen-keys.sh: send_keys → screen round trips
// through the official SDK Client, and the server's memory per open session.
//
//   node bench/screen-keys.mjs keys      vim in insert mode; N=200 send_keys {text: "w<i>",
//                                        keys: [enter], wait_for: "^w<i>$"} after WARM warm-ups
//   node bench/screen-keys.mjs rss       SESSIONS=50 sessions opened (one `true` each; with
//                                        TAKE=1 one that takes the screen): VmRSS before and after
//
// Environment: SSHMCP, MCP_HOST (default h), MCP_SDK, PIDFILE, N, WARM, SESSIONS; HOME is the
// fixture home. Prints "key value..." lines for screen-keys.sh; exits non-zero on a failed call.
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { startServer } from './mcp.mjs';

const mode = process.argv[2] || 'keys';
const HOST = process.env.MCP_HOST || 'h';
const N = Number(process.env.N || 200);
const WARM = Number(process.env.WARM || 5);
const SESSIONS = Number(process.env.SESSIONS || 50);

async function tool(s, name, args) {
	const res = await s.client.callTool({ name, arguments: args }, undefined, { timeout: 60000 });
	if (res.isError) throw new Error(`${name}: ${JSON.stringify(res).slice(0, 600)}\nserver stderr: ${s.err().slice(-600)}`);
	return res.structuredContent || {};
}
const rss = (pid) => Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

try {
	const s = await startServer();
	if (mode === 'keys') {
		const sc = await tool(s, 'execute_command', { host: HOST, command: 'vim -u NONE -N -i NONE -n', cols: 80, rows: 24, wait: 10 });
		if (sc.status !== 'screen') throw new Error(`vim: ${JSON.stringify(sc).slice(0, 400)}`);
		const id = sc.command_id;
		await tool(s, 'send_keys', { command_id: id, keys: ['i'] });
		const one = async (i) => {
			const t0 = performance.now();
			const r = await tool(s, 'send_keys', { command_id: id, text: `w${i}`, keys: ['enter'], wait_for: `^w${i}$`, wait: 10 });
			const ms = performance.now() - t0;
			if (!r.rows.includes(`w${i}`)) throw new Error(`round ${i}: no w${i} on the screen`);
			return ms;
		};
		for (let i = 0; i < WARM; i++) await one(i);
		const ms = [];
		for (let i = 0; i < N; i++) { if (i % 20 === 0) await tool(s, 'send_keys', { command_id: id, keys: ['esc', 'g', 'g', 'd', 'G', 'i'] }); ms.push(await one(WARM + i)); }
		console.log(`keys_ms ${ms.map((x) => x.toFixed(3)).join(' ')}`);
		await tool(s, 'send_keys', { command_id: id, keys: ['esc', ':', 'q', '!', 'enter'] });
	} else if (mode === 'rss') {
		await tool(s, 'execute_command', { host: HOST, command: 'true', session: 'base' });
		const before = rss(s.transport.pid);
		// TAKE=1: each session's command takes the screen (cursor home), so each has its grid
		const cmd = process.env.TAKE === '1' ? "printf '\\033[H'" : 'true';
		for (let i = 0; i < SESSIONS; i++) await tool(s, 'execute_command', { host: HOST, command: cmd, session: `s${i}` });
		const after = rss(s.transport.pid);
		console.log(`rss_kb ${before} ${after} ${SESSIONS}`);
	} else {
		throw new Error(`unknown mode ${mode} (keys|rss)`);
	}
	await s.client.close();
} catch (e) {
	console.error(e && e.stack || String(e));
	process.exit(1);
}
