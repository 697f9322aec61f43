// tests/mcp/audit.mjs — scenarios for tests/61-audit-secrets.sh, in raw mode (JSON lines by hand,
// so that every byte `sshmcp serve` writes to stdout is kept and can be grepped afterwards).
//   * secrets: a login password, a key passphrase, a wrong password, a sudo password, secret
//     send_input and secret shapes in command lines (mysql -p, --password=, password=,
//     Authorization:) go through one server with --audit, --log, -v and logging/setLevel debug;
//     `ps` is sampled all along; the files are grepped by 61-audit-secrets.sh afterwards;
//   * the audit log's fields, values, statuses, flushing per command and its hash chain;
//   * SIGTERM, SIGINT and EOF with a command running: exit 0 within 2 s, the command is
//     interrupted on the server and recorded as such, the chain stays intact.
import { readFileSync, writeFileSync, appendFileSync, existsSync, statSync } from 'node:fs';
import { createHmac } from 'node:crypto';
import { J, sleep, sh, RawServer } from './client.mjs';

export const mode = 'raw';
const FIX = process.env.MCP_FIX;
const T_USER = process.env.T_USER || 'sshmcpt';
const T_PASS = process.env.T_PASS;
const T_PASSPHRASE = process.env.T_PASSPHRASE;
const KEY_ENC = process.env.KEY_ENC;
const SEC = JSON.parse(process.env.MCP_SECRETS);     // {name: value} of the other secrets
const TAG = `${process.pid}`;
const SUDO = process.env.MCP_SUDO === '1';

let nextId = 1;
// call(s, tool, args, ms): tools/call; {msg, sc, isError, ms}
async function call(s, name, args, ms = 40000) {
	const t0 = Date.now();
	const msg = await s.rpc({ jsonrpc: '2.0', id: nextId++, method: 'tools/call', params: { name, arguments: args } }, ms);
	const res = msg && msg.result;
	return { msg, res, sc: (res && res.structuredContent) || {}, isError: !!(res && res.isError), ms: Date.now() - t0 };
}
const show = (r) => J(r.msg, 1200);
const errCode = (r) => r.sc && r.sc.error && r.sc.error.code;
function pgrep(pattern) { return sh('pgrep', ['-u', T_USER, '-f', pattern]).split('\n').filter(Boolean).map(Number); }
async function gone(pattern, ms) {
	for (let i = 0; i < ms / 100; i++) { if (!pgrep(pattern).length) return true; await sleep(100); }
	return !pgrep(pattern).length;
}
function killRemote(pattern) { for (const p of pgrep(pattern)) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } } }
async function untilDone(s, id, secs = 20) {
	const deadline = Date.now() + secs * 1000;
	let r;
	do { r = await call(s, 'get_command_status', { command_id: id, wait: 5 }); }
	while (r.sc.status === 'running' && Date.now() < deadline);
	return r;
}
function auditLines(f) {
	if (!existsSync(f)) return [];
	return readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => { try { return JSON.parse(l); } catch { return { bad: l }; } });
}
// the lines that say how something ended (every command also has a "started" line before it)
const results = (L) => L.filter((x) => x.status !== 'started');
// the keyed chain, recomputed with FILE.key: line k's mac is HMAC-SHA-256(key, mac of line
// k-1 (zeros for line 1) || the line up to ,"mac":); seq counts from 1. Returns the first
// bad line number, or -1.
function chainBad(f) {
	const key = Buffer.from(readFileSync(`${f}.key`, 'utf8').trim(), 'hex');
	let prev = Buffer.alloc(32), bad = -1;
	readFileSync(f, 'utf8').split('\n').filter(Boolean).forEach((l, k) => {
		const i = l.lastIndexOf(',"mac":"');
		let o; try { o = JSON.parse(l); } catch { /* bad */ }
		const mac = i > 0 ? createHmac('sha256', key).update(prev).update(l.slice(0, i)).digest('hex') : '';
		if (bad < 0 && (!o || o.seq !== k + 1 || o.mac !== mac)) bad = k + 1;
		prev = Buffer.from(o && typeof o.mac === 'string' ? o.mac : '', 'hex');
	});
	return bad;
}
// the server's stdout, kept for the secrets grep
function keepStdout(s, name) { writeFileSync(`${FIX}/written/${name}.stdout`, Buffer.concat(s.lines.flatMap((l) => [l, Buffer.from('\n')]))); }
function serve(args, name) {
	const s = new RawServer(['serve', ...args]);
	s.child.stderr.on('data', (b) => appendFileSync(`${FIX}/written/${name}.stderr`, b));
	return s;
}
// ps sampling: every secret-bearing value must stay out of every process's argv. The one
// exception is not ours: test scripts running in parallel make their fixture keys with
// `ssh-keygen ... -C sshmcp-test-PID-NAME ... -N <the shared test passphrase>`.
const PS_SECRETS = { T_PASS, T_PASSPHRASE, typed: SEC.typed, wrong: SEC.wrong };
const PS_FIXTURE = /^ *[0-9]+ ssh-keygen .*-C sshmcp-test-[0-9]+-/;
let psHits = [], psSamples = 0, psOn = false;
async function psSampler() {
	while (psOn) {
		const rows = sh('ps', ['-eo', 'pid=,args=']).split('\n').filter((l) => !PS_FIXTURE.test(l)).join('\n');
		psSamples++;
		for (const [k, v] of Object.entries(PS_SECRETS)) if (v && rows.includes(v)) psHits.push(`${k}: ${rows.split('\n').find((l) => l.includes(v))}`);
		await sleep(30);
	}
}

export const scenarios = [
	{ name: 'secrets', timeout: 200, run: async (t) => {
		const audit = `${FIX}/written/secrets.audit`, log = `${FIX}/written/secrets.log`;
		const s = serve(['--audit', audit, '--log', log, '-v'], 'secrets');
		psOn = true;
		const sampler = psSampler();
		try {
			const init = await s.initialize();
			t.check(init && init.result, 'initialize', J(init));
			await s.rpc({ jsonrpc: '2.0', id: nextId++, method: 'logging/setLevel', params: { level: 'debug' } });
			// a login password, right and wrong
			let r = await call(s, 'execute_command', { host: 'pwh', password: T_PASS, command: 'whoami', session: 'pw' });
			t.check(r.sc.status === 'completed' && r.sc.output === `${T_USER}\n`, 'password login (tool argument) works', show(r));
			r = await call(s, 'execute_command', { host: 'pwh', password: SEC.wrong, command: 'whoami', session: 'pw-bad' });
			t.check(r.isError, 'a wrong password → a tool error', show(r));
			// an encrypted key and its passphrase, right and wrong
			r = await call(s, 'execute_command', { host: 'enc', key_filename: KEY_ENC, passphrase: T_PASSPHRASE, command: 'echo key-ok', session: 'key' });
			t.check(r.sc.status === 'completed' && r.sc.output === 'key-ok\n', 'an encrypted key with passphrase works', show(r));
			r = await call(s, 'execute_command', { host: 'enc', key_filename: KEY_ENC, passphrase: SEC.wrong + 'pp', command: 'echo no', session: 'key-bad' });
			t.check(r.isError, 'a wrong passphrase → a tool error', show(r));
			// sudo with sudo_password; sudo prompted and answered with secret send_input
			if (SUDO) {
				r = await call(s, 'execute_command', { host: 'h', command: 'sudo /usr/bin/whoami', sudo_password: T_PASS, session: 'sudo', wait: 20 });
				if (r.sc.status === 'running') r = await untilDone(s, r.sc.command_id);
				t.check(r.sc.status === 'completed' && /root\n$/.test(r.sc.output || ''), 'sudo with sudo_password works', show(r));
			} else t.skip('sudo with sudo_password', 'no sudo rules');
			r = await call(s, 'execute_command', { host: 'h', command: "read -s -p 'Password: ' x; echo; echo len=${#x}", session: 'typed', wait: 5 });
			t.eq(r.sc.status, 'awaiting_input', 'a password prompt → awaiting_input', r.sc);
			if (r.sc.command_id) {
				await call(s, 'send_input', { command_id: r.sc.command_id, text: SEC.typed, secret: true });
				r = await untilDone(s, r.sc.command_id);
				t.contains(r.sc.output || '', `len=${SEC.typed.length}`, 'secret send_input reached the command', r.sc);
			}
			// secret shapes in command lines: the commands print nothing of them
			for (const c of [
				`mysql -u root -p${SEC.mysql} -e 'select 1' >/dev/null 2>&1; echo m1`,
				`mysql --user=root --password=${SEC.mysqllong} -e 'select 1' >/dev/null 2>&1; echo m2`,
				`curl -s -m 2 -H 'Authorization: Bearer ${SEC.bearer}' http://127.0.0.1:9/ >/dev/null 2>&1; echo m3`,
				`: connect host=db password=${SEC.pwassign}; echo m4`,
			]) {
				r = await call(s, 'execute_command', { host: 'h', command: c, session: 'shapes', wait: 15 });
				t.check(r.sc.status === 'completed' && /^m\d\n$/.test(r.sc.output || ''), `ran: ${c.replace(/\S*(Secret|S3cret)\S*/g, '…')}`, show(r));
			}
			// a refused one carrying a secret: the refusal message and the log must not echo it
			await sleep(300);
			const recs = auditLines(audit);
			t.check(recs.length >= 8, `the audit log is written per command while the server runs (${recs.length} lines before exit)`, J(recs.slice(-2)));
			const shapes = results(recs).filter((x) => /mysql|curl|connect host/.test(String(x.command)));
			t.eq(shapes.length, 4, 'the four secret-shaped commands are in the audit log (redacted, still recognisable)', recs.map((x) => x.command));
			t.eq(recs.filter((x) => x.status === 'started' && /mysql|curl|connect host/.test(String(x.command))).length, 4,
				'each was written ahead, as "started", before it was sent', recs.map((x) => `${x.status}: ${x.command}`));
			t.note(`audit commands: ${J(shapes.map((x) => x.command))}`);
		} finally {
			psOn = false;
			await sampler;
			await s.stop();
			keepStdout(s, 'secrets');
		}
		t.check(psSamples > 20 && psHits.length === 0, `ps never shows a password, passphrase or typed secret (${psSamples} samples)`, psHits.slice(0, 5).join('\n'));
		t.check(s.exit && s.exit.code === 0, 'the server exits 0 on EOF', J(s.exit));
	} },

	{ name: 'audit fields and chain', timeout: 120, run: async (t) => {
		const audit = `${FIX}/written/fields.audit`;
		const s = serve(['--audit', audit, '--config', `${FIX}/deny.conf`], 'fields');
		try {
			await s.initialize();
			const rs = [];
			rs.push(await call(s, 'execute_command', { host: 'h', command: 'printf 12345', session: 'f1' }));
			rs.push(await call(s, 'execute_command', { host: 'h', command: 'sh -c "exit 3"', session: 'f1' }));
			rs.push(await call(s, 'execute_command', { host: 'h', command: `sleep 9.${TAG}1`, session: 'f2', timeout: 1, wait: 10 }));
			const i = await call(s, 'execute_command', { host: 'h', command: `sleep 9.${TAG}2`, session: 'f3', wait: 1 });
			if (i.sc.command_id) await call(s, 'interrupt_command', { command_id: i.sc.command_id });
			await sleep(1500);
			rs.push(await call(s, 'execute_command', { host: 'h', command: 'rm -rf /tmp/nothing', session: 'f1' }));
			rs.push(await call(s, 'execute_command', { host: 'dead', command: 'true', session: 'f4', timeout: 5 }));
			await sleep(500);
			const all = auditLines(audit), L = results(all);
			const by = (re) => L.find((x) => re.test(String(x.command)));
			const keys = ['seq', 'time', 'request_id', 'host', 'user', 'session', 'command', 'status', 'exit_code', 'bytes', 'duration_ms', 'mac'];
			t.check(L.length >= 6 && all.every((x) => keys.every((k) => k in x)), `every audit line has ${keys.join(', ')}`, J(all.filter((x) => !keys.every((k) => k in x)).slice(0, 2)));
			const ran = L.filter((x) => x.status !== 'refused');
			t.check(ran.every((x) => all.some((y) => y.status === 'started' && y.request_id === x.request_id && y.seq < x.seq)),
				'every command that was sent has its "started" line before its result', J(all.map((x) => `${x.seq} ${x.status} ${x.request_id}`)));
			const a = by(/^printf 12345$/);
			t.check(a && a.status === 'completed' && a.exit_code === 0 && a.bytes === 5 && a.host === 'h' && a.user === T_USER && a.session === 'f1',
				'printf 12345 → completed, exit 0, bytes 5, host h, user, session f1', J(a));
			t.check(a && !Number.isNaN(Date.parse(a.time)) && Math.abs(Date.parse(a.time) - Date.now()) < 120000, 'time is a parseable, current timestamp', J(a && a.time));
			t.check(a && typeof a.request_id !== 'undefined' && a.request_id !== null && a.request_id !== '', 'request_id is set', J(a));
			t.check(a && Number.isInteger(a.duration_ms) && a.duration_ms >= 0, 'duration_ms is an integer', J(a));
			const e3 = by(/^sh -c "exit 3"$/);
			t.check(e3 && e3.exit_code === 3 && e3.status === 'completed', 'sh -c "exit 3" → exit_code 3', J(e3));
			const to = by(new RegExp(`sleep 9\\.${TAG}1`));
			t.check(to && to.status === 'timeout', 'a command past its timeout → status "timeout"', J(to));
			const it = by(new RegExp(`sleep 9\\.${TAG}2`));
			t.check(it && it.status === 'interrupted', 'interrupt_command → status "interrupted"', J(it));
			const rf = by(/rm -rf/);
			t.check(rf && rf.status === 'refused', 'a policy refusal → status "refused"', J(rf));
			const dd = L.find((x) => x.host === 'dead');
			t.check(dd && dd.status === 'failed', 'a connection failure → status "failed"', J(dd || L.slice(-1)));
			const ids = L.map((x) => x.request_id);
			t.check(new Set(ids).size === ids.length, 'each command has its own request_id', J(ids));
		} finally {
			await s.stop();
			keepStdout(s, 'fields');
			killRemote(`sleep 9.${TAG}`);
		}
		// the keyed chain, recomputed here
		const raw = readFileSync(audit, 'utf8').split('\n').filter(Boolean);
		const bad = chainBad(audit);
		t.check(bad < 0, `keyed chain: every line's mac is HMAC-SHA-256(FILE.key, the mac before it || the line), seq 1.. (${raw.length} lines)`, `first bad line ${bad}`);
		t.check(statSync(`${audit}.key`).mode % 0o1000 === 0o600 && statSync(`${audit}.head`).mode % 0o1000 === 0o600,
			'the key and the head are files of their own, 0600', `${statSync(`${audit}.key`).mode.toString(8)} ${statSync(`${audit}.head`).mode.toString(8)}`);
		// a second run appends and continues the chain
		const s2 = serve(['--audit', audit], 'fields2');
		try {
			await s2.initialize();
			await call(s2, 'execute_command', { host: 'h', command: 'echo second-run', session: 'x' });
		} finally { await s2.stop(); keepStdout(s2, 'fields2'); }
		const raw2 = readFileSync(audit, 'utf8').split('\n').filter(Boolean);
		t.check(raw2.length === raw.length + 2 && raw2.slice(0, raw.length).join('\n') === raw.join('\n'), 'a second server appends to the audit log (started + completed), old lines untouched', `${raw.length} → ${raw2.length}`);
		t.eq(chainBad(audit), -1, 'the second run chains onto the last line of the first');
	} },

	...['SIGTERM', 'SIGINT', 'EOF'].map((how, k) => ({ name: `${how} mid-command`, timeout: 60, run: async (t) => {
		const audit = `${FIX}/written/${how}.audit`, log = `${FIX}/written/${how}.log`;
		const s = serve(['--audit', audit, '--log', log], how);
		const mark = `sleep 30.${TAG}${k}`;
		try {
			await s.initialize();
			await call(s, 'execute_command', { host: 'h', command: 'echo warm', session: 'sig' });
			await call(s, 'execute_command', { host: 'h', command: 'echo warm2', session: 'sig2' });
			const r = await call(s, 'execute_command', { host: 'h', command: mark, session: 'sig', wait: 1 });
			const r2 = await call(s, 'execute_command_async', { host: 'h', command: mark, session: 'sig2' });
			t.check(r.sc.status === 'running' && !r2.isError, `two ${mark} running`, show(r) + show(r2));
			await sleep(500);
			t.check(pgrep(mark).length >= 1, 'the remote sleeps are there', J(pgrep(mark)));
			// an in-flight call: it must be answered or dropped, not keep the server alive
			s.send({ jsonrpc: '2.0', id: 'inflight', method: 'tools/call', params: { name: 'get_command_status', arguments: { command_id: r.sc.command_id, wait: 30 } } });
			await sleep(200);
			const t0 = Date.now();
			if (how === 'EOF') s.closeStdin(); else s.child.kill(how);
			const e = await s.waitExit(2500);
			const ms = e ? e.at - t0 : null;
			t.check(e && e.code === 0 && ms <= 2000, `${how} → exit 0 within 2 s`, `exit ${J(e)}, ${ms} ms`);
			t.check(await gone(mark, 2000), `${how}: the remote sleeps are gone`, J(pgrep(mark)));
			const L = auditLines(audit);
			const mine = results(L).filter((x) => String(x.command) === mark);
			t.check(mine.length === 2 && mine.every((x) => x.status === 'interrupted'), `${how}: the audit log has both commands as "interrupted"`, J(L));
			t.check(L.length >= 4 && !L.some((x) => x.bad), `${how}: the audit log is complete JSON lines (flushed)`, J(L.slice(-2)));
		} finally {
			if (s.alive) s.kill('SIGKILL');
			killRemote(mark);
			keepStdout(s, how);
		}
	} })),

	{ name: 'stop taking work on SIGTERM', timeout: 60, run: async (t) => {
		const s = serve([], 'stopwork');
		const mark = `sleep 30.${TAG}7`;
		try {
			await s.initialize();
			await call(s, 'execute_command', { host: 'h', command: mark, session: 'w', wait: 1 });
			s.child.kill('SIGTERM');
			// a call sent right after the signal: not started
			s.send({ jsonrpc: '2.0', id: 'late', method: 'tools/call', params: { name: 'execute_command', arguments: { host: 'h', command: `sleep 30.${TAG}8`, session: 'w2' } } });
			const e = await s.waitExit(2500);
			t.check(e && e.code === 0, 'SIGTERM → exit 0', J(e));
			await sleep(500);
			t.check(pgrep(`sleep 30.${TAG}8`).length === 0, 'a command sent after SIGTERM is not started', J(pgrep(`sleep 30.${TAG}8`)));
		} finally {
			if (s.alive) s.kill('SIGKILL');
			killRemote(`sleep 30.${TAG}`);
			keepStdout(s, 'stopwork');
		}
	} },
];
