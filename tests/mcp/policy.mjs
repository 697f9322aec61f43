// tests/mcp/policy.mjs — scenarios for tests/60-policy.sh: the operator's policy in `sshmcp serve`
// (issue 8, SPEC §3). Refusals are tool errors (isError, structuredContent.error.code
// SSHMCP_ERR_POLICY) naming the rule; the smuggling list of 60-policy.sh is tried again through
// the persistent shell, plus attacks that need two calls (an alias, PROMPT_COMMAND, a trap);
// read-only mode, AllowHost, rate limits, config timeouts/ring/sessions and logging/setLevel.
import { readFileSync, writeFileSync, existsSync, rmSync, readdirSync, chownSync, statSync } from 'node:fs';
import { J, sleep, sh, SdkServer } from './client.mjs';

const HOST = process.env.MCP_HOST || 'h';
const FIX = process.env.MCP_FIX || '/tmp';
const SDIR = process.env.MCP_SDIR;
const SENT = process.env.MCP_SENT;
const T_USER = process.env.T_USER || 'sshmcpt';
const uid = Number(sh('id', ['-u', T_USER]).trim()), gid = Number(sh('id', ['-g', T_USER]).trim());
const TAG = `${process.pid}`;
const load = (f) => JSON.parse(readFileSync(`${FIX}/${f}`, 'utf8'));
const SMUGGLE = load('smuggle.json'), ALLOWED = load('allowed.json'), WRITES = load('writes.json');

const subst = (c) => c.replaceAll('@P@', SENT).replaceAll('@S@', SDIR);
function sentinelReset() {
	for (const f of readdirSync(SDIR)) rmSync(`${SDIR}/${f}`, { recursive: true, force: true });
	writeFileSync(SENT, '');
	chownSync(SENT, uid, gid);
}
const sentinelOk = () => existsSync(SENT) && !existsSync(`${SDIR}/t`);
function conf(name, lines) { const f = `${FIX}/${name}.conf`; writeFileSync(f, lines.join('\n') + '\n'); return f; }
const errCode = (r) => r.sc && r.sc.error && r.sc.error.code;
const errMsg = (r) => (r.sc && r.sc.error && r.sc.error.message) || '';
const text = (r) => ((r.res && r.res.content) || []).filter((c) => c.type === 'text').map((c) => c.text).join('\n');
const show = (r) => r.err ? `protocol error: ${r.err}` : J(r.res, 1200);
const refused = (r) => !r.err && r.res && r.res.isError === true && errCode(r) === 'SSHMCP_ERR_POLICY';
const q = (c) => J(c, 100);
async function ex(s, command, extra = {}) {
	const r = await s.call('execute_command', { host: HOST, command, wait: 10, timeout: 10, ...extra });
	r.out = typeof r.sc.output === 'string' ? r.sc.output : '';
	return r;
}
function pgrep(pattern) { return sh('pgrep', ['-u', T_USER, '-f', pattern]).split('\n').filter(Boolean).map(Number); }
function killRemote(pattern) { for (const p of pgrep(pattern)) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } } }
async function start(ctx, args) { const s = await SdkServer.start({ args }); ctx.servers.push(s); return s; }

export const scenarios = [
	{ name: 'deny smuggling (serve)', timeout: 300, noServer: true, run: async (t, ctx) => {
		const s = await start(ctx, ['serve', '--config', conf('mcp-deny', ['DenyCommand ^rm( |$)'])]);
		let n = 0, ran = 0, i = 0;
		for (const c of SMUGGLE) {
			sentinelReset();
			const session = `smug${i++}`;
			const r = await ex(s, subst(c), { session });
			const isRef = refused(r);
			if (!isRef) { await s.call('close_session', { host: HOST, session }); await sleep(200); }
			const kept = existsSync(SENT);
			if (isRef && kept) { n++; t.ok(`deny rm: ${q(c)} → SSHMCP_ERR_POLICY`); }
			else {
				if (!kept) ran++;
				t.fail(`deny rm: ${q(c)} → SSHMCP_ERR_POLICY`, (kept ? 'not refused; sentinel survived' : 'SMUGGLED: the remote rm deleted the sentinel') + '\n' + show(r));
			}
		}
		t.note(`serve deny rm: ${n}/${SMUGGLE.length} refused, ${ran} deleted the sentinel`);
		// attacks across two calls on one persistent shell: the second call (or the shell's
		// own machinery) would run what the first one set up
		const TWO = [
			["alias ll='rm -f @P@'", 'll'],
			["alias ls='rm -f @P@'", 'ls'],
			["PROMPT_COMMAND='rm -f @P@'", 'echo next'],
			["PS1='$(rm -f @P@)'", 'echo next'],
			["trap 'rm -f @P@' EXIT", 'exit'],
			["trap 'rm -f @P@' DEBUG", 'echo next'],
			['f() { rm -f @P@; }', 'f'],
			['X=rm', '$X -f @P@'],
			['cd /usr/bin', './rm -f @P@'],
			['enable -n echo; cd /bin; ln -s rm @S@/echo 2>/dev/null; PATH=@S@:$PATH', 'echo -f @P@'],
			["set -o vi; bind -x '\"\\C-m\": rm -f @P@'", 'echo next'],
		];
		for (const steps of TWO) {
			sentinelReset();
			const session = `two${i++}`;
			const rs = [];
			for (const st of steps) rs.push(await ex(s, subst(st), { session }));
			await s.call('close_session', { host: HOST, session });
			await sleep(300);
			t.check(existsSync(SENT), `two calls: ${q(steps.join(' ⏎ '))} → the sentinel survives (rm never runs)`,
				() => 'SMUGGLED: the sentinel was deleted\n' + rs.map((r) => (refused(r) ? 'refused: ' + errMsg(r) : show(r))).join('\n'));
		}
		await s.stop();
	} },

	{ name: 'allowed lines (serve)', timeout: 120, noServer: true, run: async (t, ctx) => {
		const s = await start(ctx, ['serve', '--config', conf('mcp-deny2', ['DenyCommand ^rm( |$)'])]);
		let i = 0;
		for (const c of ALLOWED) {
			sentinelReset();
			const r = await ex(s, subst(c), { session: `ok${i++ % 4}` });
			t.check(!r.err && !r.res.isError && r.sc.status === 'completed' && existsSync(SENT), `deny rm: ${q(c)} runs`, show(r));
		}
		await s.stop();
	} },

	{ name: 'refusal shape', timeout: 90, noServer: true, run: async (t, ctx) => {
		const audit = `${FIX}/policy-refusal.audit`;
		const s = await start(ctx, ['serve', '--config', conf('mcp-shape', ['DenyCommand ^rm( |$)', 'DenyCommand reboot']),
			'--audit', audit]);
		sentinelReset();
		let r = await ex(s, `ls; rm -f ${SENT}`, { session: 'shape' });
		t.check(r.res && r.res.isError === true, 'a refused command → result isError true (a tool error, not a protocol error)', show(r));
		t.eq(errCode(r), 'SSHMCP_ERR_POLICY', 'structuredContent.error.code SSHMCP_ERR_POLICY', r.sc);
		t.check(errMsg(r).includes('DenyCommand') && errMsg(r).includes('^rm( |$)'), 'the message names the rule (DenyCommand ^rm( |$))', J(r.sc));
		t.check(text(r).includes('^rm( |$)') || text(r).includes('SSHMCP_ERR_POLICY'), 'the text content carries the refusal too', J(r.res));
		r = await ex(s, 'sudo reboot', { session: 'shape' });
		t.check(refused(r) && errMsg(r).includes('reboot'), 'a second DenyCommand: its own pattern is named', show(r));
		r = await s.call('execute_command_async', { host: HOST, command: `rm -f ${SENT}`, session: 'shape' });
		t.check(refused(r) && existsSync(SENT), 'execute_command_async: refused the same way', show(r));
		r = await s.call('execute_on_hosts', { hosts: [HOST, 'web-one'], command: `rm -f ${SENT}`, timeout: 10 });
		t.check(!r.err && existsSync(SENT) && (refused(r) || /SSHMCP_ERR_POLICY/.test(J(r.sc, Infinity))),
			'execute_on_hosts: refused (whole call or per host) with SSHMCP_ERR_POLICY', show(r));
		r = await ex(s, 'echo still-fine', { session: 'shape' });
		t.eq(r.out, 'still-fine\n', 'the server keeps working after refusals', r.sc);
		await s.stop();
		const lines = existsSync(audit) ? readFileSync(audit, 'utf8').split('\n').filter(Boolean).map((l) => { try { return JSON.parse(l); } catch { return null; } }) : [];
		const ref = lines.find((x) => x && x.status === 'refused' && String(x.command).includes('rm -f'));
		t.check(!!ref, 'the audit log records a refused command with status "refused"', J(lines.slice(0, 4)));
	} },

	{ name: 'read-only (serve)', timeout: 240, noServer: true, run: async (t, ctx) => {
		const s = await start(ctx, ['serve', '--read-only']);
		let n = 0, i = 0;
		for (const c of WRITES) {
			sentinelReset();
			const session = `ro${i++}`;
			const r = await ex(s, subst(c), { session });
			if (!refused(r)) { await s.call('close_session', { host: HOST, session }); killRemote('watch|vi '); }
			if (t.check(refused(r) && sentinelOk(), `--read-only: ${q(c)} → SSHMCP_ERR_POLICY, nothing written`,
				() => `sentinel ${existsSync(SENT) ? 'kept' : 'DELETED'}, t ${existsSync(`${SDIR}/t`) ? 'CREATED' : 'absent'}\n${show(r)}`)) n++;
		}
		t.note(`serve --read-only: ${n}/${WRITES.length} writes refused`);
		for (const c of ['ls /', 'cat /etc/hostname', 'ps -e', 'df -h /', 'uname -a', 'grep root /etc/passwd | head -n 1', 'show version', 'display version']) {
			const r = await ex(s, c, { session: 'ro-read' });
			t.check(!r.err && !r.res.isError, `--read-only: ${q(c)} runs`, show(r));
		}
		sentinelReset();
		let r = await s.call('write_file', { host: HOST, path: `${SDIR}/t`, content: 'x' });
		t.check(refused(r) && !existsSync(`${SDIR}/t`), '--read-only: write_file → SSHMCP_ERR_POLICY, no file', show(r));
		t.match(errMsg(r), /read-only/i, '  … naming read-only mode', r.sc);
		r = await s.call('read_file', { host: HOST, path: '/etc/hostname' });
		t.check(!r.err && !r.res.isError, '--read-only: read_file still works', show(r));
		await s.stop();
		const c = await start(ctx, ['serve', '--config', conf('mcp-ro', ['ReadOnly yes'])]);
		sentinelReset();
		r = await ex(c, `touch ${SDIR}/t`, { session: 'ro-conf' });
		t.check(refused(r) && !existsSync(`${SDIR}/t`), 'config ReadOnly yes: touch → SSHMCP_ERR_POLICY', show(r));
		r = await c.call('write_file', { host: HOST, path: `${SDIR}/t`, content: 'x' });
		t.check(refused(r) && !existsSync(`${SDIR}/t`), 'config ReadOnly yes: write_file → SSHMCP_ERR_POLICY', show(r));
		await c.stop();
	} },

	{ name: 'allow-host (serve)', timeout: 90, noServer: true, run: async (t, ctx) => {
		for (const args of [['serve', '--allow-host', 'h', '--allow-host', 'web-*'], ['serve', '--config', conf('mcp-hosts', ['AllowHost h web-* !web-bad'])]]) {
			const s = await start(ctx, args);
			const how = args.slice(1).join(' ').replace(FIX + '/', '');
			let r = await ex(s, 'echo in', { session: 'ah' });
			t.eq(r.out, 'in\n', `${how}: h runs`, r.sc);
			r = await ex(s, 'echo in', { host: 'web-one', session: 'ah' });
			t.eq(r.out, 'in\n', `${how}: web-one runs`, r.sc);
			r = await ex(s, 'echo in', { host: 'other', session: 'ah' });
			t.check(refused(r) && errMsg(r).includes('other'), `${how}: other → SSHMCP_ERR_POLICY naming the host`, show(r));
			if (how.includes('web-bad') || how.includes('mcp-hosts')) {
				r = await ex(s, 'echo in', { host: 'web-bad', session: 'ah' });
				t.check(refused(r), `${how}: web-bad (negated) → refused`, show(r));
			}
			r = await ex(s, 'echo in', { host: '127.0.0.1', port: Number(process.env.MAIN_PORT || 22), session: 'ah' });
			t.check(refused(r), `${how}: 127.0.0.1 (h's HostName) → refused: the name as called counts`, show(r));
			r = await s.call('read_file', { host: 'other', path: '/etc/hostname' });
			t.check(refused(r), `${how}: read_file on other → refused`, show(r));
			r = await s.call('write_file', { host: 'other', path: `${SDIR}/t`, content: 'x' });
			t.check(refused(r) && !existsSync(`${SDIR}/t`), `${how}: write_file on other → refused`, show(r));
			r = await s.call('execute_on_hosts', { hosts: ['h', 'other'], command: 'echo fan', timeout: 10 });
			const body = J(r.sc, Infinity);
			const oth = ((r.sc && r.sc.results) || []).find((x) => x && x.host === 'other');
			t.check(!r.err && /fan/.test(body) && oth && /other/.test(J(oth.error)) && !oth.stdout, `${how}: execute_on_hosts [h, other] → h runs, other refused naming the host`, show(r));
			t.check(/SSHMCP_ERR_POLICY/.test(J(oth || {})), `${how}: execute_on_hosts: the refused host's entry carries the code SSHMCP_ERR_POLICY`, J(oth));
			await s.stop();
		}
	} },

	{ name: 'rate limits', timeout: 120, noServer: true, run: async (t, ctx) => {
		const s = await start(ctx, ['serve', '--config', conf('mcp-rate', ['MaxCommands 3', 'MaxCommandsPerHost 2', 'MaxSessions 64'])]);
		const mark = `sleep 4.${TAG}1`;
		let peakH = 0, peakAll = 0, sampling = true;
		const sampler = (async () => {
			while (sampling) {
				const all = pgrep(`sleep 4.${TAG}[12]`).length, h = pgrep(`sleep 4.${TAG}1`).length;
				peakAll = Math.max(peakAll, all); peakH = Math.max(peakH, h);
				await sleep(50);
			}
		})();
		const t0 = Date.now();
		const calls = [];
		for (let i = 0; i < 6; i++) calls.push(ex(s, mark, { session: `rl${i}`, wait: 15, timeout: 20 }));
		for (let i = 0; i < 6; i++) calls.push(ex(s, `sleep 4.${TAG}2`, { host: ['other', 'web-one'][i % 2], session: `rl${i}`, wait: 15, timeout: 20 }));
		const rs = await Promise.all(calls);
		const ms = Date.now() - t0;
		sampling = false; await sampler;
		const busy = rs.filter((r) => r.res && r.res.isError && errCode(r) === 'SSHMCP_ERR_BUSY');
		const okd = rs.filter((r) => r.res && !r.res.isError);
		t.check(rs.every((r) => !r.err), 'a burst of 12 concurrent commands: every call is answered', rs.filter((r) => r.err).map(show).join('\n'));
		t.check(busy.length > 0, 'over the limits → some calls refused with SSHMCP_ERR_BUSY', rs.map((r) => errCode(r) || r.sc.status).join(','));
		t.check(busy.every((r) => r.ms < 3000), 'a BUSY refusal is immediate, not queued', busy.map((r) => r.ms).join(','));
		t.check(peakH <= 2, `MaxCommandsPerHost 2: at most 2 commands ran on h at once (peak ${peakH})`);
		t.check(peakAll <= 3, `MaxCommands 3: at most 3 commands ran at once (peak ${peakAll})`);
		t.check(okd.length >= 2, 'the calls within the limits ran', rs.map((r) => errCode(r) || r.sc.status).join(','));
		t.check(ms < 15000, `the burst was answered in bounded time (${ms} ms)`);
		t.match(errMsg(busy[0] || {}), /limit|busy|Max/i, 'the BUSY message says which limit', busy[0]?.sc);
		killRemote(`sleep 4.${TAG}`);
		// a flood: 300 calls at once are all answered, quickly
		const t1 = Date.now();
		const flood = await Promise.all(Array.from({ length: 300 }, (_, i) =>
			ex(s, `sleep 4.${TAG}3`, { session: `fl${i % 50}`, wait: 0, timeout: 5 })));
		const fms = Date.now() - t1;
		t.check(flood.every((r) => !r.err), `a flood of 300 calls: all answered (${flood.filter((r) => r.err).length} protocol errors)`, flood.find((r) => r.err)?.err);
		t.check(fms < 20000, `  … within 20 s (${fms} ms)`);
		t.check(pgrep(`sleep 4.${TAG}3`).length <= 3, '  … and no more than MaxCommands run', `${pgrep(`sleep 4.${TAG}3`).length} running`);
		killRemote(`sleep 4.${TAG}`);
		await s.stop();
	} },

	{ name: 'config limits', timeout: 120, noServer: true, run: async (t, ctx) => {
		const s = await start(ctx, ['serve', '--config', conf('mcp-lim', ['CommandTimeout 2', 'MaxTimeout 4', 'RingSize 64K', 'MaxSessions 2'])]);
		// run(args): execute_command with short waits (MaxTimeout also bounds `wait`), polled to the end
		const run = async (args) => {
			const t0 = Date.now();
			let r = await s.call('execute_command', { host: HOST, wait: 4, ...args });
			while (!r.err && !r.res.isError && r.sc.status === 'running' && Date.now() - t0 < 30000)
				r = await s.call('get_command_status', { command_id: r.sc.command_id, wait: 4, offset: 0, max_bytes: 1048576 });
			if (!r.err && !r.res.isError && r.sc.command_id)
				r = await s.call('get_command_status', { command_id: r.sc.command_id, offset: 0, max_bytes: 1048576 });
			r.total = Date.now() - t0;
			return r;
		};
		let r = await run({ command: `sleep 20.${TAG}5`, session: 'a' });
		t.check(r.sc.status === 'timeout' && r.total < 6000, `CommandTimeout 2: sleep 20 without a timeout argument → timeout after ~2 s (duration_ms ${r.sc.duration_ms}, call ${r.total} ms)`, show(r));
		r = await run({ command: `sleep 20.${TAG}5`, session: 'a', timeout: 100 });
		t.check((r.res && r.res.isError) || (r.sc.status === 'timeout' && r.total < 8000),
			`MaxTimeout 4: timeout 100 → refused or capped at 4 s (${r.total} ms)`, show(r));
		r = await s.call('execute_command', { host: HOST, command: 'true', session: 'a', wait: 10 });
		t.check(r.res && r.res.isError, 'MaxTimeout 4: wait 10 → refused (wait is bounded too)', show(r));
		r = await run({ command: 'seq 1 100000', session: 'a' });
		t.check(r.sc.status === 'completed' && r.sc.total_bytes === 588895 && r.sc.dropped_bytes > 0 &&
			r.sc.total_bytes - r.sc.dropped_bytes <= 65536 && (r.sc.output || '').length <= 65536,
			'RingSize 64K: of 575 KiB of output at most 64 KiB is kept (dropped_bytes > 0; the default ring is 1 MiB)', J({ ...r.sc, output: (r.sc.output || '').length }));
		r = await run({ command: 'true', session: 'b' });
		t.check(!r.err && !r.res.isError && r.sc.status === 'completed', 'MaxSessions 2: a second session opens', show(r));
		r = await run({ command: 'true', session: 'c' });
		t.check(r.res && r.res.isError && /^SSHMCP_ERR_/.test(errCode(r) || '') && errCode(r) !== 'SSHMCP_ERR_USAGE', 'MaxSessions 2: a third session → a tool error', show(r));
		t.match(errMsg(r), /session/i, '  … saying it is about sessions', r.sc);
		killRemote(`sleep 20.${TAG}`);
		await s.stop();
	} },

	{ name: 'logging/setLevel', timeout: 60, noServer: true, run: async (t, ctx) => {
		const s = await start(ctx, ['serve', '--config', conf('mcp-log', ['DenyCommand ^rm( |$)'])]);
		const got = [];
		s.client.setNotificationHandler(s.sdk.types.LoggingMessageNotificationSchema, (n) => got.push(n.params));
		t.check(!!s.client.getServerCapabilities()?.logging, 'the server declares the logging capability', J(s.client.getServerCapabilities()));
		await ex(s, 'echo before', { session: 'lg' });
		await sleep(300);
		t.eq(got.length, 0, 'no notifications/message before logging/setLevel', got.slice(0, 3));
		let l = await s.request('logging/setLevel', { level: 'debug' });
		t.check(!l.err, 'logging/setLevel debug → ok', l.err);
		await ex(s, 'echo after', { session: 'lg' });
		await ex(s, `rm -f ${SENT}`, { session: 'lg' });
		await sleep(500);
		t.check(got.length > 0, `debug: notifications/message arrive (${got.length})`, J(got.slice(0, 3)));
		t.check(got.every((m) => typeof m.level === 'string' && m.data !== undefined), 'each has level and data', J(got.slice(0, 3)));
		t.check(got.some((m) => /req|id/i.test(J(m))), 'the messages carry the request id', J(got.slice(0, 3)));
		l = await s.request('logging/setLevel', { level: 'emergency' });
		const n = got.length;
		await ex(s, 'echo quiet', { session: 'lg' });
		await ex(s, `rm -f ${SENT}`, { session: 'lg' });
		await sleep(500);
		t.eq(got.length - n, 0, 'logging/setLevel emergency: no more messages for routine work', got.slice(n, n + 3));
		await s.stop();
	} },
];
