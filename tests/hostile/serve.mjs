// tests/hostile/serve.mjs — scenarios for tests/41-hostile-serve.sh: `sshmcp serve` (through the
// MCP SDK) holds sessions to hostile servers (tests/hostile/raw.py, para.py) while a session to
// the fixture's well-behaved sshd keeps answering execute_command quickly; each hostile call ends
// with isError true within its bound; read_file against spoiled SFTP replies fails cleanly (or
// reads right) and the server survives all of it.
//   HX_SHELL   comma-separated hx-* aliases whose session misbehaves (silence, endless version,
//              a packet cut short, data beyond the window, a deaf channel)
//   HX_SFTP    comma-separated hx-sftp_* aliases (para.py's SFTP cases; '' when no paramiko)
//   MCP_HOST   the good host (default h)
import { J, sleep } from '../mcp/client.mjs';

const GOOD = process.env.MCP_HOST || 'h';
const list = (v) => (v || '').split(',').filter(Boolean);
const SHELL = list(process.env.HX_SHELL);
const SFTP = list(process.env.HX_SFTP);
const FAST_MS = 2500;          // a good call while hostile sessions misbehave
const HOSTILE_BOUND_MS = 35000; // timeout 20 for the call, ConnectTimeout 5, setup 10 s: all less
const FILE_BOUND_MS = 45000;    // read_file: the server's own 30 s file-operation deadline, plus slack

const show = (r) => r.err ? `protocol error: ${r.err} (after ${r.ms} ms)` : `${J(r.res, 1200)} (after ${r.ms} ms)`;
const text = (r) => ((r.res && r.res.content) || []).filter((c) => c.type === 'text').map((c) => c.text).join('\n');
async function good(s, n) {
	const r = await s.call('execute_command', { host: GOOD, command: `echo alive-${n}`, session: 'good', wait: 10 },
		{ timeout: 30000 });
	r.ok = !r.err && r.res && !r.res.isError && r.sc.status === 'completed' && r.sc.output === `alive-${n}\n`;
	return r;
}

export const scenarios = [
	{ name: 'good session answers while hostile sessions misbehave', timeout: 120, run: async (t, { server: s }) => {
		const w = await good(s, 0);
		if (!t.check(w.ok, `warm-up: execute_command on ${GOOD} works`, show(w))) return;
		const pending = SHELL.map((host) => {
			const t0 = Date.now();
			return s.call('execute_command', { host, command: 'echo never', session: 'hx', timeout: 20, wait: 30 },
				{ timeout: 90000 }).then((r) => ({ host, r, ms: Date.now() - t0 }));
		});
		let done = false;
		const all = Promise.all(pending).then((x) => { done = true; return x; });
		await sleep(300);
		const lat = [];
		let bad = null, n = 1;
		const t0 = Date.now();
		while (!done && Date.now() - t0 < 60000) {
			const r = await good(s, n++);
			lat.push(r.ms);
			if (!r.ok || r.ms > FAST_MS) { bad = bad || r; }
			await sleep(250);
		}
		t.check(lat.length >= 3, `the good host was asked ${lat.length} times while hostile calls ran`, `latencies ${J(lat)}`);
		t.check(!bad, `every good call completed in < ${FAST_MS} ms (max ${Math.max(0, ...lat)} ms over ${lat.length})`,
			bad && `first bad call: ${show(bad)}; latencies ${J(lat)}`);
		const res = await all;
		for (const { host, r, ms } of res) {
			t.check(!r.err && r.res && r.res.isError === true, `${host}: the call ends with isError true`, show(r));
			t.check(ms < HOSTILE_BOUND_MS, `${host}: ... within ${HOSTILE_BOUND_MS} ms (took ${ms})`, show(r));
			const msg = text(r).trim();
			t.check(msg && !msg.includes('\n'), `${host}: one line of text: ${J(msg, 200)}`, show(r));
		}
		const after = await good(s, 'after');
		t.check(after.ok && after.ms < FAST_MS, `after them, ${GOOD} still answers (${after.ms} ms)`, show(after));
	} },

	{ name: 'sftp replies spoiled', timeout: 120, run: async (t, { server: s }) => {
		if (!SFTP.length) { t.skip('read_file against spoiled SFTP replies', 'python3-paramiko is not installed'); return; }
		const res = await Promise.all(SFTP.map(async (host) => {
			const t0 = Date.now();
			const r = await s.call('read_file', { host, path: '/hostile/file.txt', session: 'hx' }, { timeout: 90000 });
			return { host, r, ms: Date.now() - t0 };
		}));
		for (const { host, r, ms } of res) {
			if (host.endsWith('sftp_ok')) {
				t.check(!r.err && r.res && !r.res.isError && r.sc.content === 'hello sftp\n',
					`${host}: fixture: read_file reads the file from the raw SFTP handler`, show(r));
				continue;
			}
			const right = !r.err && r.res && !r.res.isError && r.sc.content === 'hello sftp\n';
			t.check(right || (!r.err && r.res && r.res.isError === true),
				`${host}: read_file → isError true (or the right content): ${J(text(r), 200)}`, show(r));
			t.check(ms < FILE_BOUND_MS, `${host}: ... within ${FILE_BOUND_MS} ms (took ${ms})`, show(r));
		}
		const after = await good(s, 'after-sftp');
		t.check(after.ok && after.ms < FAST_MS, `after them, ${GOOD} still answers (${after.ms} ms)`, show(after));
	} },
];

export async function after(t, ctx) {
	const s = ctx.server;
	t.check(s && s.alive && !ctx.deaths, 'the server never died', s && `exit ${J(s.exit)}; stderr tail:\n${s.stderrTail.slice(-1500)}`);
	if (s && s.alive) {
		const r = await s.call('list_sessions', {}, { timeout: 10000 });
		t.check(!r.err && r.res && !r.res.isError, 'list_sessions answers at the end', show(r));
	}
}
