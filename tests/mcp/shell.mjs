// tests/mcp/shell.mjs — scenarios for tests/21-mcp-shell.sh: an MCP client (the official SDK)
// drives persistent shells on the fixture's sshd through `sshmcp serve`, as SPEC §2 describes:
// state, exit codes, queues and parallel sessions, long-polls, interrupts, prompts, pagers,
// secrets, REPLs, big and binary output, lost sessions. Each scenario uses its own session so
// that one stuck command cannot spoil the others.
import { readFileSync, statSync, existsSync } from 'node:fs';
import { J, sleep, sh, rssKb, descendants, ppidOf, SdkServer } from './client.mjs';

const HOST = process.env.MCP_HOST || 'h';
const MAIN_PID = Number(process.env.MAIN_PID || 0);
const T_USER = process.env.T_USER || 'sshmcpt';
const T_PASS = process.env.T_PASS || '';
const SECRET = 's3cret';
const FIX = process.env.MCP_FIX || '/tmp';
const KNOWN_HOSTS = process.env.MCP_KNOWN_HOSTS || '';
const OTHER_PORT = process.env.OTHER_PORT || '';
const TAG = `${process.pid}`;           // makes our remote sleeps findable and unique
const STATUSES = ['completed', 'running', 'awaiting_input', 'timeout', 'interrupted', 'failed'];

// ================================================================== helpers ===
// ex(s, command, extra): execute_command on HOST; r.out is the output, r.sc the structuredContent
async function ex(s, command, extra = {}) {
	// a short default wait: a command that hangs costs 20 s, not the server's 50
	const r = await s.call('execute_command', { host: HOST, command, wait: 20, ...extra });
	r.out = typeof r.sc.output === 'string' ? r.sc.output : '';
	return r;
}
// until(s, id, opts): long-poll get_command_status until the status is not `running` (or
// `stop(sc)` holds); output is gathered from `offset` on. Returns {sc, out, err, res, polls}.
async function until(s, id, { offset = 0, secs = 30, stop } = {}) {
	const deadline = Date.now() + secs * 1000;
	let out = '', off = offset, last = null, polls = 0;
	for (;;) {
		const left = Math.ceil((deadline - Date.now()) / 1000);
		const r = await s.call('get_command_status', { command_id: id, offset: off, wait: Math.max(1, Math.min(10, left)) },
			{ timeout: 30000 });
		polls++;
		if (r.err || r.res.isError) return { ...r, out, polls };
		last = r;
		if (typeof r.sc.output === 'string') out += r.sc.output;
		if (typeof r.sc.next_offset === 'number') off = r.sc.next_offset;
		if (stop ? stop(r.sc) : r.sc.status !== 'running') break;
		if (Date.now() >= deadline) break;
		if (r.ms < 200) await sleep(200);   // a server that ignores `wait`: do not spin
	}
	return { ...last, out, polls };
}
// done(s, r): r itself if finished, else long-poll it to the end; output accumulated
async function done(s, r, secs = 30) {
	if (r.err || !r.res || r.res.isError || r.sc.status !== 'running' || typeof r.sc.command_id !== 'string') return r;
	const u = await until(s, r.sc.command_id, { offset: r.sc.next_offset ?? 0, secs });
	if (u.err || (u.res && u.res.isError)) return { ...u, out: r.out + (u.out || '') };
	return { ...u, out: r.out + u.out };
}
// what a result looks like in a failure message
const show = (r) => r.err ? `protocol error: ${r.err}` : J(r.res, 1500);
const lines = (s) => (s || '').replace(/\n$/, '');
function pgrep(pattern) { return sh('pgrep', ['-u', T_USER, '-f', pattern]).split('\n').filter(Boolean).map(Number); }
async function gone(pattern, secs) {
	for (let i = 0; i < secs * 10; i++) { if (!pgrep(pattern).length) return true; await sleep(100); }
	return false;
}
function killRemote(pattern) { for (const p of pgrep(pattern)) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } } }
const errCode = (r) => r.sc && r.sc.error && r.sc.error.code;
// the array inside a list_* result (whatever its key)
function listOf(sc) {
	if (Array.isArray(sc)) return sc;
	for (const k of ['sessions', 'commands', 'items', 'results']) if (Array.isArray(sc && sc[k])) return sc[k];
	for (const v of Object.values(sc || {})) if (Array.isArray(v)) return v;
	return null;
}

// ================================================================ scenarios ===
export const scenarios = [
	{ name: 'basic', timeout: 90, run: async (t, { server: s }) => {
		let r = await ex(s, 'echo hello-sshmcp', { session: 'basic' });
		const sc = r.sc;
		if (!t.check(!r.err && r.res && !r.res.isError, 'execute_command echo → a result', show(r))) return;
		t.eq(sc.status, 'completed', 'status completed', sc);
		t.eq(sc.exit_code, 0, 'exit_code 0 (a number)', sc);
		t.eq(sc.output, 'hello-sshmcp\n', 'output is exactly the command\'s output: no echo, no prompt, \\n endings', sc);
		t.eq(sc.host, HOST, 'host is the alias as called', sc);
		t.eq(sc.session, 'basic', 'session is the one named', sc);
		t.check(typeof sc.command_id === 'string' && sc.command_id.length > 0, 'command_id is a non-empty string', J(sc));
		t.check(sc.offset === 0 && sc.next_offset === sc.total_bytes && sc.total_bytes === 13,
			'offset 0, next_offset = total_bytes = 13', J(sc));
		t.check(sc.truncated === false && sc.dropped_bytes === 0, 'not truncated, nothing dropped', J(sc));
		t.check(typeof sc.duration_ms === 'number' && sc.duration_ms >= 0, 'duration_ms is a number', J(sc));
		t.eq(sc.mode, 'shell', 'mode shell', sc);
		t.check(sc.prompt === null || sc.prompt === undefined, 'prompt null when not awaiting input', J(sc));
		const txt = (r.res.content || []).find((c) => c.type === 'text');
		t.check(txt && txt.text.includes('hello-sshmcp'), 'the text rendering carries the output', J(r.res));
		r = await ex(s, 'echo default-session');
		t.eq(r.sc.session, 'default', 'no session argument → session "default"', r.sc);
		t.eq(r.out, 'default-session\n', 'default session runs commands', r.sc);
		r = await ex(s, "printf 'a\\nb\\n\\nc\\n'", { session: 'basic' });
		t.eq(r.out, 'a\nb\n\nc\n', 'multi-line output, blank line kept, \\r\\n → \\n', r.sc);
		r = await ex(s, 'echo to-stderr >&2', { session: 'basic' });
		t.eq(r.out, 'to-stderr\n', 'stderr shows in output (one PTY)', r.sc);
		r = await ex(s, 'echo one\necho two', { session: 'basic' });
		t.eq(r.out, 'one\ntwo\n', 'a two-line command runs both lines', r.sc);
		r = await ex(s, "cat <<'EOF'\nline 1\n  line $2\nEOF", { session: 'basic' });
		t.eq(r.out, 'line 1\n  line $2\n', 'a here-document', r.sc);
		r = await ex(s, `echo "it's" '$HOME' "a\\"b" \`echo bq\``, { session: 'basic' });
		t.eq(r.out, 'it\'s $HOME a"b bq\n', 'quoting reaches the shell untouched', r.sc);
		const long = 'x'.repeat(6000);
		r = await ex(s, `echo ${long} | wc -c`, { session: 'basic' });
		t.eq(lines(r.out).trim(), '6001', 'a 6000-character command line arrives whole (beyond the PTY line limit)', r.sc);
		r = await ex(s, 'echo "héllo wörld ✓"', { session: 'basic' });
		t.eq(r.out, 'héllo wörld ✓\n', 'UTF-8 in the command and the output', r.sc);
		r = await ex(s, 'true', { session: 'basic' });
		t.check(r.sc.status === 'completed' && r.out === '', 'a command with no output → completed, output ""', show(r));
	} },

	{ name: 'state', timeout: 60, run: async (t, { server: s }) => {
		await ex(s, 'cd /tmp', { session: 'state' });
		let r = await ex(s, 'pwd', { session: 'state' });
		t.eq(r.out, '/tmp\n', 'cd /tmp then pwd → /tmp', r.sc);
		await ex(s, 'export FOO=bar', { session: 'state' });
		r = await ex(s, 'echo $FOO', { session: 'state' });
		t.eq(r.out, 'bar\n', 'export FOO=bar then echo $FOO → bar', r.sc);
		await ex(s, 'myfn() { echo "fn:$1"; }; alias ll="echo aliased"', { session: 'state' });
		r = await ex(s, 'myfn 3', { session: 'state' });
		t.eq(r.out, 'fn:3\n', 'a shell function survives to the next call', r.sc);
		r = await ex(s, 'pwd', { session: 'state-other' });
		t.check(r.out !== '/tmp\n' && r.sc.status === 'completed', 'another session has its own cwd', show(r));
	} },

	{ name: 'exit codes', timeout: 90, run: async (t, { server: s }) => {
		for (const [cmd, want] of [['true', 0], ['false', 1], ['(exit 42)', 42], ["bash -c 'exit 42'", 42],
			['no-such-command-sshmcp', 127], ["bash -c 'kill -INT $$'", 130], ['(exit 255)', 255], ['! true', 1]]) {
			const r = await ex(s, cmd, { session: 'codes' });
			t.check(r.sc.status === 'completed' && r.sc.exit_code === want, `${cmd} → completed, exit_code ${want}`, show(r));
		}
		const r = await ex(s, 'echo still-here', { session: 'codes' });
		t.eq(r.out, 'still-here\n', 'the session survives all of them', r.sc);
		const p = await ex(s, 'false | true; echo "${PIPESTATUS[0]}"', { session: 'codes' });
		t.eq(p.out, '1\n', 'PIPESTATUS is the user\'s, not disturbed by the wrapper', p.sc);
	} },

	// SPEC §2: exact $? on POSIX shells — sh (dash), busybox ash and zsh as well as bash.
	// `exec SHELL` replaces the login shell; the server teaches the new one its prompt.
	{ name: 'four shells', timeout: 120, run: async (t, { server: s }) => {
		for (const [shell, session] of [['dash', 'sh-dash'], ['busybox sh', 'sh-busybox'], ['zsh -f', 'sh-zsh']]) {
			const bin = shell.split(' ')[0];
			if (!existsSync(`/bin/${bin}`) && !existsSync(`/usr/bin/${bin}`)) {
				t.check(true, `${shell}: not installed # SKIP`);
				continue;
			}
			let r = await ex(s, `exec ${shell}`, { session });
			t.check(r.sc.status === 'completed', `${shell}: the shell takes over`, show(r));
			for (const [cmd, want] of [['true', 0], ['false', 1], ['(exit 42)', 42], ['no-such-command-sshmcp', 127]]) {
				r = await ex(s, cmd, { session });
				t.check(r.sc.status === 'completed' && r.sc.exit_code === want, `${shell}: ${cmd} → exit_code ${want}`, show(r));
			}
			await ex(s, 'cd /tmp', { session });
			r = await ex(s, 'pwd', { session });
			t.eq(r.out, '/tmp\n', `${shell}: state carries over`, r.sc);
			r = await ex(s, 'echo one\necho two', { session });
			t.eq(r.out, 'one\ntwo\n', `${shell}: a two-line command runs both lines`, r.sc);
		}
	} },

	{ name: 'queue', timeout: 90, run: async (t, { server: s }) => {
		// two calls in flight on one session: the second waits for the first (FIFO)
		const pa = ex(s, 'sleep 2; date +%s%N; echo first', { session: 'queue', wait: 30 });
		await sleep(300);
		const pb = ex(s, 'date +%s%N; echo second', { session: 'queue', wait: 30 });
		const [a0, b0] = await Promise.all([pa, pb]);
		const [a, b] = await Promise.all([done(s, a0), done(s, b0)]);
		t.check(a.sc.status === 'completed' && /first/.test(a.out) && !/second/.test(a.out), 'first call: its own output', show(a));
		t.check(b.sc.status === 'completed' && /second/.test(b.out) && !/first/.test(b.out), 'second call: its own output', show(b));
		t.check(a0.sc.command_id && b0.sc.command_id && a0.sc.command_id !== b0.sc.command_id, 'each call has its own command_id',
			`${a0.sc.command_id} / ${b0.sc.command_id}`);
		const ta = BigInt((/^(\d+)$/m.exec(a.out) || [0, 0])[1]), tb = BigInt((/^(\d+)$/m.exec(b.out) || [0, 0])[1]);
		t.check(ta > 0n && tb >= ta, 'the second ran after the first (queued, FIFO)', `first at ${ta}, second at ${tb}`);
		// with a short wait the queued one reports running and its own id
		const c0 = await ex(s, 'sleep 3; echo third', { session: 'queue', wait: 1 });
		const d0 = await ex(s, 'echo fourth', { session: 'queue', wait: 1 });
		t.eq(c0.sc.status, 'running', 'wait 1 on sleep 3 → running', c0.sc);
		t.check(d0.sc.status === 'running' && typeof d0.sc.command_id === 'string' && d0.sc.command_id !== c0.sc.command_id,
			'a command queued behind it → running, with its own command_id', show(d0));
		const d = await done(s, d0, 20);
		t.check(d.sc.status === 'completed' && d.out === 'fourth\n', 'the queued command completes later with its output', show(d));
		const c = await done(s, c0, 20);
		t.check(c.sc.status === 'completed' && c.out === 'third\n', 'and the first one too', show(c));
	} },

	{ name: 'queue bound', timeout: 60, run: async (t, { server: s }) => {
		const first = await s.call('execute_command_async', { host: HOST, command: 'sleep 3', session: 'bound' });
		const rs = [];
		for (let i = 0; i < 20; i++)
			rs.push(await s.call('execute_command_async', { host: HOST, command: `echo q${i}`, session: 'bound' }));
		const okN = rs.filter((r) => r.res && !r.res.isError && typeof r.sc.command_id === 'string').length;
		const refused = rs.filter((r) => r.res && r.res.isError && /^SSHMCP_ERR_/.test(errCode(r) || ''));
		t.check(first.sc.command_id && okN >= 15 && okN <= 17 && refused.length === 20 - okN,
			'20 commands behind a busy one: about 16 queue, the rest refused (SSHMCP_ERR_*)', `queued ${okN}, refused ${refused.length}: ${J(refused[0] && refused[0].res)}`);
		const last = rs.filter((r) => r.res && !r.res.isError).pop();
		if (last) {
			const u = await until(s, last.sc.command_id, { secs: 20 });
			t.check(u.sc?.status === 'completed' && /^q\d+\n$/.test(u.out), 'the last queued command runs in its turn', show(u));
		}
		const r = await ex(s, 'echo after-bound', { session: 'bound' });
		t.eq(r.out, 'after-bound\n', 'the session works afterwards', r.sc);
	} },

	{ name: 'parallel sessions', timeout: 90, run: async (t, { server: s }) => {
		await Promise.all([ex(s, 'true', { session: 'par-a' }), ex(s, 'true', { session: 'par-b' })]);
		const t0 = Date.now();
		const [a, b] = await Promise.all([ex(s, 'sleep 4; echo xa', { session: 'par-a' }), ex(s, 'sleep 4; echo xb', { session: 'par-b' })]);
		const took = Date.now() - t0;
		t.check(a.out === 'xa\n' && b.out === 'xb\n', 'sessions a and b each complete their command', `${show(a)}\n${show(b)}`);
		t.check(took < 7500, 'they ran side by side (two sleep 4 in well under 8 s)', `took ${took} ms`);
		// async: both running at the same time, seen through list_commands / list_sessions
		const t1 = Date.now();
		const [c, d] = await Promise.all([
			s.call('execute_command_async', { host: HOST, command: 'sleep 3; echo yc', session: 'par-c' }),
			s.call('execute_command_async', { host: HOST, command: 'sleep 3; echo yd', session: 'par-d' })]);
		const ids = [c.sc.command_id, d.sc.command_id];
		t.check(ids.every((x) => typeof x === 'string') && ids[0] !== ids[1] && Date.now() - t1 < 2500,
			'execute_command_async returns a command_id at once', `${show(c)}\n${show(d)}`);
		await sleep(800);
		const lc = await s.call('list_commands', { running_only: true });
		const lcs = J(lc.sc, Infinity);
		t.check(!lc.err && ids.every((x) => lcs.includes(`"${x}"`)), 'list_commands running_only shows both at once', show(lc));
		const ls = await s.call('list_sessions', {});
		const lss = J(ls.sc, Infinity);
		t.check(!ls.err && lss.includes('"par-c"') && lss.includes('"par-d"'), 'list_sessions shows both sessions', show(ls));
		const [uc, ud] = await Promise.all([until(s, ids[0], { secs: 15 }), until(s, ids[1], { secs: 15 })]);
		t.check(uc.sc?.status === 'completed' && uc.out === 'yc\n', 'async command c completes: output yc', show(uc));
		t.check(ud.sc?.status === 'completed' && ud.out === 'yd\n', 'async command d completes: output yd', show(ud));
		const lc2 = await s.call('list_commands', { running_only: true });
		const lcs2 = J(lc2.sc, Infinity);
		t.check(!lc2.err && !ids.some((x) => lcs2.includes(`"${x}"`)), 'finished commands leave list_commands running_only', show(lc2));
		const lc3 = await s.call('list_commands', { host: HOST });
		t.check(!lc3.err && ids.every((x) => J(lc3.sc, Infinity).includes(`"${x}"`)), 'but stay in the recent history', show(lc3));
	} },

	{ name: 'wait and get_command_status', timeout: 90, run: async (t, { server: s }) => {
		const r = await ex(s, 'sleep 3; (exit 7)', { session: 'later', wait: 1 });
		t.check(r.sc.status === 'running' && typeof r.sc.command_id === 'string', 'wait 1 on a 3 s command → running + command_id', show(r));
		t.check(r.sc.exit_code === null, 'exit_code null while running', J(r.sc));
		t.check(r.ms < 6000, 'execute_command came back after about `wait`', `${r.ms} ms`);
		if (typeof r.sc.command_id !== 'string') return;
		const g = await s.call('get_command_status', { command_id: r.sc.command_id, wait: 10 }, { timeout: 30000 });
		t.check(g.sc.status === 'completed' && g.sc.exit_code === 7, 'get_command_status wait 10 → completed, exit_code 7', show(g));
		t.check(g.ms < 8000, 'the long-poll returns when the command ends, not when wait runs out', `${g.ms} ms`);
		const g2 = await s.call('get_command_status', { command_id: r.sc.command_id });
		t.check(g2.sc.status === 'completed' && g2.sc.exit_code === 7, 'asked again later: still completed, 7', show(g2));
		// `timeout` ends the command: status timeout, the remote process gone, the session usable
		const mark = `sleep 20.${TAG}1`;
		const to = await ex(s, mark, { session: 'later-to', timeout: 2, wait: 10 });
		const tf = await done(s, to, 15);
		t.eq(tf.sc.status, 'timeout', 'timeout 2 on sleep 20 → status timeout', tf.sc);
		t.check(await gone(mark, 10), 'the timed-out remote sleep is gone', `pids: ${pgrep(mark)}`);
		killRemote(mark);
		const after = await ex(s, 'echo after-timeout', { session: 'later-to' });
		t.eq(after.out, 'after-timeout\n', 'the session works after a timeout', after.sc);
	} },

	{ name: 'interrupt', timeout: 90, run: async (t, { server: s }) => {
		const mark = `sleep 100.${TAG}2`;
		const r = await ex(s, mark, { session: 'intr', wait: 1 });
		t.eq(r.sc.status, 'running', `${mark} with wait 1 → running`, r.sc);
		t.check(pgrep(mark).length > 0, 'the remote sleep is running', sh('ps', ['-u', T_USER, '-o', 'pid,args']));
		const i = await s.call('interrupt_command', { command_id: r.sc.command_id }, { timeout: 20000 });
		t.check(!i.err && !i.res.isError, 'interrupt_command → a result', show(i));
		let st = i.sc.status;
		if (st !== 'interrupted' && typeof r.sc.command_id === 'string') st = (await until(s, r.sc.command_id, { secs: 10 })).sc?.status;
		t.eq(st, 'interrupted', 'status interrupted', i.sc);
		t.check(await gone(mark, 10), 'the remote sleep is gone', `pids: ${pgrep(mark)}`);
		killRemote(mark);
		const a = await ex(s, 'echo alive', { session: 'intr' });
		t.eq(a.out, 'alive\n', 'the session works after the interrupt', a.sc);
		// notifications/cancelled (the SDK sends it when a request is aborted) interrupts too
		const mark2 = `sleep 100.${TAG}3`;
		const ac = new AbortController();
		setTimeout(() => ac.abort('test cancels'), 1500);
		const c = await s.call('execute_command', { host: HOST, command: mark2, session: 'intr-cancel', wait: 30 }, { signal: ac.signal, timeout: 40000 });
		t.check(c.err && c.ms < 10000, 'the cancelled request ends on the client side', show(c));
		t.check(await gone(mark2, 10), 'notifications/cancelled interrupts the remote command', `pids: ${pgrep(mark2)}`);
		killRemote(mark2);
		const b = await ex(s, 'echo alive2', { session: 'intr-cancel' });
		t.eq(b.out, 'alive2\n', 'the session works after the cancellation', b.sc);
		const si = await s.call('send_input', { command_id: r.sc.command_id, text: 'x' });
		t.check(si.res && si.res.isError && /^SSHMCP_ERR_/.test(errCode(si) || ''), 'send_input to a finished command → isError SSHMCP_ERR_*', show(si));
	} },

	{ name: 'unbalanced quote', timeout: 60, run: async (t, { server: s }) => {
		const r = await ex(s, "echo 'unbalanced", { session: 'quote', wait: 5 });
		t.check(r.res && r.ms < 20000, 'an unbalanced quote does not hang the call', show(r));
		if (r.sc.status === 'running' || r.sc.status === 'awaiting_input')
			await s.call('interrupt_command', { command_id: r.sc.command_id }, { timeout: 20000 });
		const a = await ex(s, 'echo ok-after-quote', { session: 'quote', wait: 15 });
		t.eq(a.out, 'ok-after-quote\n', 'the session works afterwards', a.sc);
	} },

	{ name: 'fake prompts', timeout: 60, run: async (t, { server: s }) => {
		let r = await done(s, await ex(s, "printf 'user@h:~$ '; sleep 1; echo done", { session: 'fake' }));
		t.check(r.sc.status === 'completed' && r.sc.exit_code === 0, 'a prompt-like printf does not end the command early', show(r));
		t.eq(r.out, 'user@h:~$ done\n', 'output has both the fake prompt and what followed', r.sc);
		r = await done(s, await ex(s, `printf '%s@%s:%s$ ' "$(whoami)" "$(hostname)" "$PWD"; sleep 1; echo done2`, { session: 'fake' }));
		t.check(r.sc.status === 'completed' && /\$ done2\n$/.test(r.out), 'the real prompt\'s text, printed by the command, does not end it', show(r));
		r = await done(s, await ex(s, "printf '# '; sleep 1; printf '> '; sleep 1; echo end3", { session: 'fake' }));
		t.check(r.sc.status === 'completed' && r.out === '# > end3\n', '"# " and "> " mid-output do not end it', show(r));
	} },

	{ name: 'sentinel look-alikes', timeout: 60, run: async (t, { server: s }) => {
		const r = await done(s, await ex(s,
			'echo __SSHMCP_0123456789abcdef_0__; echo __SSHMCP_x_0__; printf "\\n__SSHMCP_DONE__ 0\\n"; sleep 1; echo after-sentinel', { session: 'sent' }));
		t.check(r.sc.status === 'completed' && r.sc.exit_code === 0, 'sentinel-like lines do not end the command', show(r));
		t.contains(r.out, 'after-sentinel', 'the output after them is there', r.sc);
		t.check(r.out.includes('__SSHMCP_0123456789abcdef_0__') && r.out.includes('__SSHMCP_x_0__'),
			'the look-alikes themselves are the user\'s output and are kept', J(r.sc));
		const n = await ex(s, 'echo next', { session: 'sent' });
		t.eq(n.out, 'next\n', 'the next command is not confused', n.sc);
	} },

	{ name: 'PS1', timeout: 120, run: async (t, { server: s0 }) => {
		// short waits; a command left running is interrupted, so each step still tests something
		const s = { call: async (name, args, o) => {
			const r = await s0.call(name, { ...args, wait: Math.min(args.wait ?? 8, 8) }, o);
			if (r.sc && r.sc.status === 'running' && typeof r.sc.command_id === 'string')
				await s0.call('interrupt_command', { command_id: r.sc.command_id }, { timeout: 15000 });
			return r;
		} };
		let r = await ex(s, "PS1='\\u@\\h:\\w\\$ '", { session: 'ps1', wait: 8 });
		t.check(r.sc.status === 'completed', 'setting a plain PS1 (Debian\'s default) completes', show(r));
		r = await ex(s, 'echo zero', { session: 'ps1' });
		t.eq(r.out, 'zero\n', 'after a plain PS1: output has no prompt', r.sc);
		r = await ex(s, "PS1='\\[\\e[31m\\]\\u@\\h\\$ \\[\\e[0m\\]'", { session: 'ps1', wait: 8 });
		t.check(r.sc.status === 'completed', 'setting an ANSI-coloured PS1 completes', show(r));
		r = await ex(s, 'echo one', { session: 'ps1' });
		t.eq(r.out, 'one\n', 'after a coloured PS1: output has no prompt or escape codes', r.sc);
		await ex(s, "PS1='line1\\nline2 \\$ '", { session: 'ps1' });
		r = await ex(s, 'echo two', { session: 'ps1' });
		t.eq(r.out, 'two\n', 'after a multi-line PS1: still just the output', r.sc);
		r = await ex(s, '(exit 4)', { session: 'ps1' });
		t.eq(r.sc.exit_code, 4, 'exit codes still right', r.sc);
		await ex(s, "PS1=''", { session: 'ps1' });
		r = await ex(s, 'echo three', { session: 'ps1' });
		t.eq(r.out, 'three\n', 'after an empty PS1', r.sc);
		await ex(s, "PROMPT_COMMAND='echo pc-noise'; PS1='\\w \\$ '", { session: 'ps1' });
		r = await ex(s, 'echo four', { session: 'ps1' });
		t.check(r.sc.status === 'completed' && r.out.includes('four'), 'with PROMPT_COMMAND printing: the command completes', show(r));
		await ex(s, 'set -o vi', { session: 'ps1' });
		r = await ex(s, 'echo five', { session: 'ps1' });
		t.eq(r.out, 'five\n', 'with set -o vi', r.sc);
	} },

	{ name: 'max_bytes', timeout: 60, run: async (t, { server: s }) => {
		const SEQ = Array.from({ length: 20000 }, (_, i) => i + 1).join('\n') + '\n';
		const total = SEQ.length;   // 108894, as seq 1 20000 | wc -c
		let r = await ex(s, 'seq 1 20000', { session: 'mb', max_bytes: 1000 });
		t.check(r.sc.status === 'completed' && r.sc.truncated === true, 'max_bytes 1000 on 106 KiB → truncated', show(r));
		t.check(Buffer.byteLength(r.out) <= 1000 && Buffer.byteLength(r.out) >= 500, 'output is at most 1000 bytes (and not nearly empty)', `${Buffer.byteLength(r.out)} bytes`);
		t.check(r.out.endsWith('19999\n20000\n'), 'the newest bytes are kept', J(r.out.slice(-100)));
		t.eq(r.sc.total_bytes, total, `total_bytes counts everything (${total})`, r.sc);
		t.eq(r.sc.next_offset, total, 'next_offset is the end', r.sc);
		t.eq(r.sc.offset, total - Buffer.byteLength(r.out), 'offset is where the returned bytes start', r.sc);
		const g = await s.call('get_command_status', { command_id: r.sc.command_id, offset: total - 6 });
		t.check(g.sc.output === '20000\n' && g.sc.offset === total - 6 && g.sc.next_offset === total,
			'get_command_status offset N → the bytes from N', show(g));
		t.eq(r.out, SEQ.slice(r.sc.offset, r.sc.next_offset), 'output is exactly the bytes [offset, next_offset)', J(r.sc).slice(0, 300));
		const g0 = await s.call('get_command_status', { command_id: r.sc.command_id, offset: 0 });
		t.check(typeof g0.sc.output === 'string' && g0.sc.output.length > 0 && g0.sc.offset >= 0 &&
			g0.sc.output === SEQ.slice(g0.sc.offset, g0.sc.next_offset), 'get_command_status offset 0 → the bytes [offset, next_offset) it reports',
			J(g0.sc).slice(0, 400));
		r = await ex(s, 'seq 1 20000', { session: 'mb' });
		t.check(r.sc.truncated === true && Buffer.byteLength(r.out) <= 65536 && r.out.endsWith('\n20000\n'),
			'default max_bytes: at most 64 KiB, the newest', `${Buffer.byteLength(r.out)} bytes; ${J(r.sc).slice(0, 300)}`);
		r = await ex(s, 'echo small', { session: 'mb', max_bytes: 1000 });
		t.check(r.sc.truncated === false && r.out === 'small\n', 'small output under max_bytes: not truncated', show(r));
	} },

	{ name: 'binary and UTF-8', timeout: 60, run: async (t, { server: s }) => {
		let r = await ex(s, 'head -c 1000 /dev/urandom; echo', { session: 'bin' });
		t.check(r.sc.status === 'completed' && r.sc.exit_code === 0, 'random bytes → completed', show(r));
		t.check(typeof r.sc.output === 'string' && r.sc.output.isWellFormed(), 'output is a well-formed string (no lone surrogates)', J(r.sc));
		r = await ex(s, "printf 'a\\377\\376b\\n'", { session: 'bin' });
		t.eq(r.out, 'a\ufffd\ufffdb\n', 'invalid bytes → U+FFFD each', r.sc);
		r = await ex(s, "printf 'x\\0y\\n'", { session: 'bin' });
		t.check(r.sc.status === 'completed' && /^x\u0000?y\n$/.test(r.out), 'a NUL byte in the output is carried (or dropped), JSON stays valid', show(r));
		const n = 5000, unit = 'é✓😀';
		r = await ex(s, `for i in $(seq ${n}); do printf '${unit}'; done; echo`, { session: 'bin' });
		t.check(r.out === unit.repeat(n) + '\n', `${n}× "${unit}" (45 KB of multi-byte characters) comes back intact`,
			`length ${r.out.length} vs ${unit.length * n + 1}; bad at ${[...r.out].findIndex((c, i) => c !== [...unit][i % 3])}; ${J(r.sc).slice(0, 300)}`);
		r = await ex(s, `for i in $(seq 30000); do printf '${unit}'; done; echo`, { session: 'bin' });
		t.check(r.sc.truncated === true && r.out.isWellFormed() && /^(?:\ufffd)*[é✓😀]/u.test(r.out) && r.out.endsWith(unit + '\n'),
			'cut to max_bytes in the middle of characters: still well-formed, newest kept', J(r.out.slice(0, 40)));
	} },

	{ name: 'password prompt', timeout: 60, run: async (t, ctx) => {
		const s = ctx.server;
		const seen = [];
		const r = await ex(s, "read -s -p 'Password: ' x; echo; echo got:$x; echo len:${#x}", { session: 'pw', wait: 10 });
		seen.push(r);
		let st = r.sc;
		if (st.status === 'running' && st.command_id) { const u = await until(s, st.command_id, { secs: 5, stop: (x) => x.status !== 'running' }); st = u.sc || st; seen.push(u); }
		t.eq(st.status, 'awaiting_input', 'read -s -p Password: → awaiting_input', st);
		t.contains(st.prompt || '', 'Password', 'prompt shows "Password"', st);
		t.check(r.ms < 9000, 'awaiting_input is reported without waiting the whole `wait`', `${r.ms} ms`);
		const si = await s.call('send_input', { command_id: r.sc.command_id, text: SECRET, secret: true }, { timeout: 20000 });
		seen.push(si);
		t.check(!si.err && !si.res.isError, 'send_input secret → accepted', show(si));
		const u = await until(s, r.sc.command_id, { secs: 10 });
		seen.push(u);
		t.check(u.sc?.status === 'completed' && u.sc.exit_code === 0, 'the command completes', show(u));
		const full = await s.call('get_command_status', { command_id: r.sc.command_id, offset: 0 });
		seen.push(full);
		t.contains(full.sc.output || '', `len:${SECRET.length}`, 'the command got the secret', full.sc);
		t.contains(full.sc.output || '', 'got:***', 'echoed back, the secret shows as *** (masked in output)', full.sc);
		const lc = await s.call('list_commands', {});
		seen.push(lc);
		const ls = await s.call('list_sessions', {});
		seen.push(ls);
		const all = seen.map((x) => J(x.res, Infinity)).join('\n');
		t.notContains(all, SECRET, 'the secret appears in no result (send_input, status, list_commands)');
	} },

	{ name: 'yes/no prompt', timeout: 60, run: async (t, { server: s }) => {
		const r = await ex(s, "read -p 'Continue? [y/N] ' a; echo \"ans:$a\"", { session: 'yn', wait: 10 });
		let st = r.sc;
		if (st.status === 'running' && st.command_id) st = (await until(s, st.command_id, { secs: 5 })).sc || st;
		t.eq(st.status, 'awaiting_input', '[y/N] question → awaiting_input', st);
		t.contains(st.prompt || '', '[y/N]', 'prompt has "[y/N]"', st);
		await s.call('send_input', { command_id: r.sc.command_id, text: 'y' }, { timeout: 20000 });
		const u = await until(s, r.sc.command_id, { secs: 10 });
		t.check(u.sc?.status === 'completed', 'after answering y: completed', show(u));
		const full = await s.call('get_command_status', { command_id: r.sc.command_id, offset: 0 });
		t.contains(full.sc.output || '', 'ans:y', 'the answer reached the command', full.sc);
	} },

	{ name: 'send_input keys', timeout: 60, run: async (t, { server: s }) => {
		// a question no heuristic needs to recognise: it is typed into whether or not the
		// server calls it awaiting_input
		let r = await ex(s, "read -n 3 -p 'code: ' c; echo \"[$c]\"", { session: 'keys', wait: 2 });
		t.check(['running', 'awaiting_input'].includes(r.sc.status), "read -n 3 -p 'code: ' → running or awaiting_input", show(r));
		await s.call('send_input', { command_id: r.sc.command_id, text: 'abc', newline: false }, { timeout: 20000 });
		let u = await until(s, r.sc.command_id, { secs: 10 });
		let full = await s.call('get_command_status', { command_id: r.sc.command_id, offset: 0 });
		t.check(u.sc?.status === 'completed' && /\[abc\]\n$/.test(full.sc.output || ''), 'text "abc" with newline: false → [abc]', show(full));
		const mark = `sleep 100.${TAG}5`;
		r = await ex(s, mark, { session: 'keys', wait: 1 });
		await s.call('send_input', { command_id: r.sc.command_id, keys: ['ctrl-c'] }, { timeout: 20000 });
		u = await until(s, r.sc.command_id, { secs: 10 });
		t.check(['completed', 'interrupted'].includes(u.sc?.status) && (u.sc.status !== 'completed' || u.sc.exit_code === 130),
			'keys ["ctrl-c"] stops sleep (completed 130, or interrupted)', show(u));
		t.check(await gone(mark, 5), 'and the remote sleep is gone', `pids: ${pgrep(mark)}`);
		killRemote(mark);
		r = await ex(s, 'cat', { session: 'keys', wait: 2 });
		await s.call('send_input', { command_id: r.sc.command_id, text: 'hello-cat' }, { timeout: 20000 });
		await s.call('send_input', { command_id: r.sc.command_id, keys: ['ctrl-d'] }, { timeout: 20000 });
		u = await until(s, r.sc.command_id, { secs: 10 });
		full = await s.call('get_command_status', { command_id: r.sc.command_id, offset: 0 });
		t.check(u.sc?.status === 'completed' && u.sc.exit_code === 0 && (full.sc.output || '').includes('hello-cat'),
			'cat, a line of text, then keys ["ctrl-d"] → completed, 0', show(full));
		r = await ex(s, 'echo keys-ok', { session: 'keys' });
		t.eq(r.out, 'keys-ok\n', 'the session works afterwards', r.sc);
	} },

	{ name: 'pager', timeout: 60, run: async (t, { server: s }) => {
		const r = await ex(s, 'seq 1 500 | less', { session: 'pager', wait: 10 });
		let st = r.sc;
		if (st.status === 'running' && st.command_id) st = (await until(s, st.command_id, { secs: 5 })).sc || st;
		t.eq(st.status, 'awaiting_input', 'seq 1 500 | less → awaiting_input', st);
		t.check(typeof st.prompt === 'string' && /:|END|More|less/i.test(st.prompt), 'prompt is the pager\'s (":" / "(END)")', J(st));
		const q = await s.call('send_input', { command_id: r.sc.command_id, keys: ['q'] }, { timeout: 20000 });
		t.check(!q.err && !q.res.isError, 'send_input keys ["q"] → accepted', show(q));
		const u = await until(s, r.sc.command_id, { secs: 10 });
		t.check(u.sc?.status === 'completed' && u.sc.exit_code === 0, 'less quits: completed, exit_code 0', show(u));
		const a = await ex(s, 'echo after-less', { session: 'pager' });
		t.eq(a.out, 'after-less\n', 'the session works after the pager', a.sc);
	} },

	{ name: 'sudo', timeout: 90, run: async (t, { server: s }) => {
		if (process.env.MCP_SUDO !== '1') { t.skip('sudo scenarios', 'no sudo rules in this fixture'); return; }
		let r = await ex(s, 'sudo /usr/bin/id -u', { session: 'sudo-np' });
		t.check(r.sc.status === 'completed' && r.out === '0\n' && r.sc.exit_code === 0, 'NOPASSWD sudo id -u → 0', show(r));
		r = await done(s, await ex(s, 'sudo /usr/bin/whoami', { session: 'sudo-pw', sudo_password: T_PASS, wait: 20 }));
		t.check(r.sc.status === 'completed' && r.sc.exit_code === 0, 'sudo whoami with sudo_password → completed, 0', show(r));
		t.check(lines(r.out).split('\n').pop() === 'root', 'its output ends with root', J(r.sc));
		t.notContains(J(r.res, Infinity), T_PASS, 'the sudo password is nowhere in the result');
		const a = await ex(s, 'sudo /usr/bin/whoami', { session: 'sudo-ask', wait: 10 });
		let st = a.sc;
		if (st.status === 'running' && st.command_id) st = (await until(s, st.command_id, { secs: 5 })).sc || st;
		t.eq(st.status, 'awaiting_input', 'sudo without sudo_password → awaiting_input', st);
		t.match(st.prompt || '', /password/i, 'prompt is sudo\'s password question', st);
		await s.call('send_input', { command_id: a.sc.command_id, text: T_PASS, secret: true }, { timeout: 20000 });
		const u = await until(s, a.sc.command_id, { secs: 15 });
		const full = await s.call('get_command_status', { command_id: a.sc.command_id, offset: 0 });
		t.check(u.sc?.status === 'completed' && /root\n$/.test(full.sc.output || ''), 'password typed as secret input → root', show(full));
		t.notContains([J(u.res, Infinity), J(full.res, Infinity)].join(), T_PASS, 'the typed password is nowhere in the results');
		const lc = await s.call('list_commands', {});
		t.notContains(J(lc.res, Infinity), T_PASS, 'nor in list_commands');
	} },

	{ name: 'python REPL', timeout: 90, run: async (t, { server: s }) => {
		let r = await ex(s, 'python3 -q', { session: 'py', wait: 10 });
		t.check(['completed', 'awaiting_input'].includes(r.sc.status), 'python3 -q → completed or awaiting_input', show(r));
		t.check((r.sc.prompt || '').includes('>>>') || r.sc.status === 'completed', 'prompt >>> (when awaiting input)', J(r.sc));
		t.match(r.sc.mode || '', /py|repl/i, 'mode reflects python', r.sc);
		r = await done(s, await ex(s, 'print(6*7)', { session: 'py', wait: 10 }));
		t.eq(lines(r.out).trim(), '42', 'print(6*7) → 42 (no echo, no >>>)', r.sc);
		t.check(['completed', 'awaiting_input'].includes(r.sc.status), 'the REPL line is done', show(r));
		r = await done(s, await ex(s, 'x = 5\nprint(x * 2)', { session: 'py', wait: 10 }));
		t.contains(r.out, '10', 'REPL state carries over between calls', r.sc);
		r = await done(s, await ex(s, 'exit()', { session: 'py', wait: 10 }));
		t.eq(r.sc.mode, 'shell', 'exit() → back to the shell (mode shell)', r.sc);
		r = await ex(s, 'echo $?', { session: 'py' });
		t.check(r.sc.status === 'completed' && r.sc.exit_code === 0 && r.out === '0\n', 'echo $? → 0, exit_code a number again', show(r));
		r = await ex(s, '(exit 3)', { session: 'py' });
		t.eq(r.sc.exit_code, 3, 'sentinel exit codes resume in the shell', r.sc);
	} },

	{ name: 'streaming commands', timeout: 60, run: async (t, { server: s }) => {
		// top and watch are full-screen programs: screens (tests/53), no longer refused
		for (const cmd of ['tail -f /etc/hostname', 'ping 127.0.0.1', 'journalctl -f']) {
			const r = await ex(s, cmd, { session: 'stream', wait: 5 });
			t.check(r.res && r.res.isError === true && /^SSHMCP_ERR_/.test(errCode(r) || ''), `${cmd} → refused (isError, SSHMCP_ERR_*)`, show(r));
			t.match(J(r.res), /wait/, `${cmd}: the refusal hints at wait: 0`, r.res);
		}
		for (const cmd of ['tail -n 1 /etc/hostname', 'ping -c 1 127.0.0.1 || true', 'top -b -n 1 | head -n 3']) {
			const r = await ex(s, cmd, { session: 'stream', wait: 10 });
			t.check(r.res && !r.res.isError && r.sc.status === 'completed', `${cmd} → runs (bounded)`, show(r));
		}
		const r = await ex(s, 'tail -f /etc/hostname', { session: 'stream-bg', wait: 0, timeout: 20 });
		t.check(r.res && !r.res.isError && r.sc.status === 'running' && typeof r.sc.command_id === 'string',
			'tail -f with wait: 0 → running in the background', show(r));
		if (typeof r.sc.command_id === 'string') {
			const i = await s.call('interrupt_command', { command_id: r.sc.command_id }, { timeout: 20000 });
			t.check(!i.err && !i.res.isError, 'and it can be interrupted', show(i));
		}
	} },

	{ name: 'progress and logging', timeout: 60, run: async (t, { server: s }) => {
		const got = [];
		const r = await s.call('execute_command', { host: HOST, command: 'for i in 1 2 3 4; do echo p$i; sleep 1; done', session: 'prog', wait: 20 },
			{ onprogress: (p) => got.push(p), timeout: 40000 });
		t.check(r.sc.status === 'completed' && r.sc.output === 'p1\np2\np3\np4\n', 'the command completes with its output', show(r));
		t.check(got.length >= 1, 'progress notifications arrive for a request with a progressToken', `got ${got.length}`);
		const l = await s.request('logging/setLevel', { level: 'debug' });
		t.check(!l.err, 'logging/setLevel → ok', l.err);
		const p = await s.request('ping');
		t.check(!p.err, 'ping → ok', p.err);
	} },

	{ name: 'connection errors', timeout: 90, run: async (t, { server: s }) => {
		let r = await ex(s, 'true', { host: 'dead' });
		t.check(r.res && r.res.isError && /^SSHMCP_ERR_/.test(errCode(r) || ''), 'a closed port → isError SSHMCP_ERR_*', show(r));
		const txt = ((r.res && r.res.content) || []).find((c) => c.type === 'text');
		t.check(txt && txt.text.trim() && !txt.text.trim().includes('\n'), 'a one-line message', J(r.res));
		r = await ex(s, 'true', { host: 'unknown-key' });
		t.check(r.res && r.res.isError && /^SSHMCP_ERR_/.test(errCode(r) || ''), 'an unknown host key (no elicitation) → isError', show(r));
		t.match(J(r.res), /SHA256:/, 'the refusal names the key fingerprint', r.res);
		r = await ex(s, 'true', { host: 'no-such-host.invalid' });
		t.check(r.res && r.res.isError && /^SSHMCP_ERR_/.test(errCode(r) || ''), 'an unresolvable host → isError', show(r));
		if (T_PASS) {
			r = await ex(s, 'whoami', { host: 'pwh', password: T_PASS, session: 'pw-auth' });
			t.check(r.sc.status === 'completed' && r.out === `${T_USER}\n`, 'password auth from the tool argument', show(r));
			t.notContains(J(r.res, Infinity), T_PASS, 'the password is not in the result');
			r = await ex(s, 'whoami', { host: 'pwh', password: 'wrong-password', session: 'pw-bad' });
			t.check(r.res && r.res.isError && /^SSHMCP_ERR_/.test(errCode(r) || ''), 'a wrong password → isError', show(r));
		}
	} },

	{ name: 'execute_on_hosts', timeout: 60, run: async (t, { server: s }) => {
		if (!s.tools.has('execute_on_hosts')) { t.fail('execute_on_hosts is listed', [...s.tools.keys()].join(', ')); return; }
		const r = await s.call('execute_on_hosts', { hosts: [HOST, 'dead'], command: 'echo fan-$((6*7))', timeout: 20 }, { timeout: 60000 });
		t.check(!r.err && r.res && r.sc, 'execute_on_hosts h,dead → a result', show(r));
		const list = listOf(r.sc) || [];
		const h = list.find((x) => x && x.host === HOST), d = list.find((x) => x && x.host === 'dead');
		t.check(list.length === 2, 'one result per host', J(r.sc));
		t.check(h && h.exit_code === 0 && J(h).includes('fan-42'), 'h: exit_code 0, output fan-42', J(h));
		t.check(d && (d.error || d.exit_code !== 0), 'dead: an error for that host only', J(d));
		const r2 = await s.call('execute_on_hosts', { hosts: `${HOST},${HOST}`, command: 'true' }, { timeout: 60000 });
		t.check(!r2.err && r2.res && !r2.res.isError, 'hosts as a hostlist string', show(r2));
	} },

	{ name: 'list and close', timeout: 60, run: async (t, { server: s }) => {
		await ex(s, 'cd /tmp', { session: 'closeme' });
		const ls = await s.call('list_sessions', {});
		const list = listOf(ls.sc);
		if (!t.check(list, 'list_sessions → a list', show(ls))) return;
		const e = list.find((x) => x && x.session === 'closeme');
		t.check(e && e.host === HOST && e.user === T_USER && typeof e.state === 'string',
			'an entry with host, user, session, state', J(list).slice(0, 800));
		t.check(e && typeof e.mode === 'string' && typeof e.idle_s === 'number', 'and mode, idle_s', J(e));
		const c = await s.call('close_session', { host: HOST, session: 'closeme' });
		t.check(!c.err && !c.res.isError, 'close_session → ok', show(c));
		const ls2 = await s.call('list_sessions', {});
		const gone2 = !(listOf(ls2.sc) || []).some((x) => x && x.session === 'closeme' && !/clos|dead/i.test(x.state || ''));
		t.check(gone2, 'the closed session is no longer listed as open', show(ls2));
		const r = await ex(s, 'pwd', { session: 'closeme' });
		t.check(r.sc.status === 'completed' && r.out !== '/tmp\n', 'the next call opens a fresh session (cwd reset)', show(r));
		const bad = await s.call('close_session', { host: HOST, session: 'never-opened' });
		t.check(bad.res && (bad.res.isError ? /^SSHMCP_ERR_/.test(errCode(bad) || '') : true), 'closing an unknown session: a result, not a crash', show(bad));
	} },

	{ name: '100 MB of output', timeout: 260, run: async (t, { server: s }) => {
		const base = rssKb(s.pid);
		let max = base || 0;
		const timer = setInterval(() => { const v = rssKb(s.pid); if (v && v > max) max = v; }, 50);
		const t0 = Date.now();
		let r;
		try {
			r = await done(s, await ex(s, "head -c 100000000 /dev/zero | tr '\\0' a", { session: 'big', timeout: 240, wait: 50 }), 200);
		} finally { clearInterval(timer); }
		const secs = Math.round((Date.now() - t0) / 1000);
		t.note(`100 MB in ${secs} s; server RSS ${base} kB before, ${max} kB at most`);
		t.check(r.sc.status === 'completed' && r.sc.exit_code === 0, '100 MB of output → completed, exit_code 0', show(r));
		t.check(r.sc.truncated === true && r.sc.dropped_bytes > 0, 'truncated true, dropped_bytes reported', J(r.sc).slice(0, 400));
		t.eq(r.sc.total_bytes, 100000000, 'total_bytes = 100000000', J(r.sc).slice(0, 400));
		t.check(Buffer.byteLength(r.sc.output || '') <= 65536 && /^a+$/.test(r.sc.output || ''), 'the returned output: ≤ 64 KiB of "a"', J(r.sc).slice(0, 300));
		if (/asan|san\b/i.test(process.env.SSHMCP || '')) t.skip('server RSS stays under 64 MB', 'sanitizer build: RSS means nothing');
		else t.check(max > 0 && max < 64 * 1024, `server RSS stays under 64 MB (max ${Math.round(max / 1024)} MB)`, `${max} kB`);
		const a = await ex(s, 'echo after-big', { session: 'big' });
		t.eq(a.out, 'after-big\n', 'the session works afterwards', a.sc);
	} },

	{ name: 'exit', timeout: 60, run: async (t, { server: s }) => {
		await ex(s, 'echo hi', { session: 'ex' });
		let r = await ex(s, 'exit', { session: 'ex', wait: 10 });
		t.check(r.res && !r.err, 'execute_command exit → a result', show(r));
		// what the result says, field names aside ("exit_code" must not count as saying it)
		const said = [...((r.res && r.res.content) || []).map((c) => c.text || ''),
			...Object.entries(r.sc).filter(([k, v]) => typeof v === 'string' && k !== 'output' && k !== 'command_id').map(([, v]) => v),
			J(r.sc.error || ''), J(r.sc.note || '')].join(' | ');
		t.match(said, /clos|ended|exited|terminat|logout|logged out|gone/i, 'the result says the session ended', r.res);
		r = await ex(s, 'echo back', { session: 'ex' });
		t.check(r.sc.status === 'completed' && r.out === 'back\n', 'the next call reconnects and works', show(r));
		r = await ex(s, 'exit 3', { session: 'ex', wait: 10 });
		t.eq(r.sc.exit_code, 3, 'exit 3 → exit_code 3 (the shell\'s real status)', r.res);
		r = await ex(s, 'echo back2', { session: 'ex' });
		t.eq(r.out, 'back2\n', 'and reconnects again', r.sc);
	} },

	{ name: 'session lost', timeout: 120, run: async (t, { server: s }) => {
		if (!MAIN_PID) { t.skip('session lost', 'MAIN_PID not set'); return; }
		// kill the sshd processes serving a session (the shell's parent chain below the listener)
		const killChain = (shellPid) => {
			const chain = [];
			for (let p = ppidOf(shellPid); p && p !== MAIN_PID && p > 1; p = ppidOf(p)) chain.push(p);
			const under = descendants(MAIN_PID).map((x) => x.pid);
			const victims = chain.filter((p) => under.includes(p));
			for (const p of victims) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
			try { process.kill(shellPid, 'SIGKILL'); } catch { /* gone */ }
			return victims;
		};
		await ex(s, 'cd /tmp && export LOSTVAR=1', { session: 'lost' });
		const p = await ex(s, 'echo $$', { session: 'lost' });
		const pid = Number(lines(p.out));
		if (!t.check(pid > 1, 'the session\'s shell PID', show(p))) return;
		const v = killChain(pid);
		t.check(v.length > 0, 'killed the sshd serving the session', `chain from ${pid}: ${v}`);
		await sleep(1500);
		let r = await ex(s, 'pwd', { session: 'lost', wait: 15 });
		const lost = J(r.res, Infinity).includes('SSHMCP_ERR_SESSION_LOST');
		t.check(lost && (r.res.isError || r.sc.status === 'failed'), 'the next call → SSHMCP_ERR_SESSION_LOST', show(r));
		t.match(J(r.res), /\/tmp|cwd|directory/i, 'the error names what was lost (the working directory)', r.res);
		r = await ex(s, 'echo reconnected', { session: 'lost', wait: 15 });
		if (r.res && r.res.isError) r = await ex(s, 'echo reconnected', { session: 'lost', wait: 15 });
		t.check(r.sc.status === 'completed' && r.out === 'reconnected\n', 'the call after reconnects and works', show(r));
		// mid-command
		const mark = `sleep 30.${TAG}4`;
		const m = await ex(s, `echo $$; ${mark}`, { session: 'lost2', wait: 2 });
		const pid2 = Number((/^(\d+)$/m.exec(m.out) || [])[1]);
		t.check(m.sc.status === 'running' && pid2 > 1, 'a command is running', show(m));
		if (pid2 > 1) killChain(pid2);
		killRemote(mark);
		let st = null;
		if (typeof m.sc.command_id === 'string') st = await until(s, m.sc.command_id, { secs: 20 });
		const stj = st ? J(st.res, Infinity) : '';
		t.check(st && (st.sc?.status === 'failed' || (st.res && st.res.isError)) && stj.includes('SSHMCP_ERR_SESSION_LOST'),
			'the running command ends: failed / SSHMCP_ERR_SESSION_LOST', st ? show(st) : 'no command_id');
		r = await ex(s, 'echo again', { session: 'lost2', wait: 15 });
		if (r.res && r.res.isError) r = await ex(s, 'echo again', { session: 'lost2', wait: 15 });
		t.check(r.sc.status === 'completed' && r.out === 'again\n', 'the session reconnects afterwards', show(r));
	} },

	{ name: 'elicitation', timeout: 90, run: async (t, ctx) => {
		if (!KNOWN_HOSTS || !OTHER_PORT) { t.skip('elicitation', 'MCP_KNOWN_HOSTS / OTHER_PORT not set'); return; }
		const asked = [];
		const fill = (schema) => {   // an "accept" answer for whatever the server asks
			const out = {};
			for (const [k, v] of Object.entries((schema && schema.properties) || {})) {
				if (v.type === 'boolean') out[k] = true;
				else if (Array.isArray(v.enum)) out[k] = v.enum.find((x) => /accept|yes|trust|add|always/i.test(String(x))) ?? v.enum[0];
				else if (v.type === 'number' || v.type === 'integer') out[k] = 1;
				else out[k] = 'yes';
			}
			return out;
		};
		const start = (action) => SdkServer.start({ capabilities: { elicitation: {} }, setup: (c, sdk) =>
			c.setRequestHandler(sdk.types.ElicitRequestSchema, async (req) => {
				asked.push(req.params);
				return action === 'accept' ? { action, content: fill(req.params.requestedSchema) } : { action };
			}) });
		const khBefore = readFileSync(KNOWN_HOSTS, 'utf8');
		const d = await start('decline');
		ctx.servers.push(d);
		let r = await ex(d, 'echo never', { host: 'unknown-key', session: 'eli' });
		t.check(asked.length > 0, 'an unknown host key → the server asks the client (elicitation/create)', show(r));
		t.match(J(asked[0] || ''), /SHA256:/, 'the question shows the key fingerprint', asked[0]);
		t.check(r.res && r.res.isError && /^SSHMCP_ERR_/.test(errCode(r) || ''), 'declined → isError, not connected', show(r));
		t.eq(readFileSync(KNOWN_HOSTS, 'utf8'), khBefore, 'declined → known_hosts unchanged');
		await d.stop();
		const a = await start('accept');
		ctx.servers.push(a);
		const n = asked.length;
		r = await ex(a, 'echo trusted', { host: 'unknown-key', session: 'eli' });
		t.check(asked.length > n, 'asked again by the new server', `${asked.length} questions`);
		t.check(r.sc.status === 'completed' && r.out === 'trusted\n', 'accepted → the command runs', show(r));
		// plain or hashed (Debian's ssh_config says HashKnownHosts yes): ssh-keygen -F finds both
		const found = sh('ssh-keygen', ['-F', `[127.0.0.1]:${OTHER_PORT}`, '-f', KNOWN_HOSTS]);
		t.check(/ssh-|ecdsa-/.test(found), 'accepted → the key is added to known_hosts', readFileSync(KNOWN_HOSTS, 'utf8'));
		await a.stop();
	} },

	{ name: 'read-only and allow-host', timeout: 60, run: async (t, ctx) => {
		const p = await SdkServer.start({ args: ['serve', '--read-only', '--allow-host', 'h'] });
		ctx.servers.push(p);
		let r = await ex(p, 'ls /', { session: 'pol' });
		t.check(r.sc.status === 'completed' && /\bproc\b/.test(r.out), '--read-only: ls / runs', show(r));
		r = await ex(p, 'cat /etc/hostname', { session: 'pol' });
		t.check(r.sc.status === 'completed', '--read-only: cat runs', show(r));
		for (const cmd of ['rm -rf /tmp/sshmcp-none', 'ls; rm -rf /tmp/sshmcp-none', 'ls && touch /tmp/x', 'ls $(touch /tmp/x)', 'echo hi > /tmp/x']) {
			r = await ex(p, cmd, { session: 'pol' });
			t.check(r.res && r.res.isError && /^SSHMCP_ERR_/.test(errCode(r) || ''), `--read-only: ${cmd} → refused`, show(r));
		}
		r = await ex(p, 'ls', { host: 'pwh', password: T_PASS || 'x', session: 'pol' });
		t.check(r.res && r.res.isError && /^SSHMCP_ERR_/.test(errCode(r) || ''), '--allow-host h: host pwh → refused', show(r));
		await p.stop();
	} },

	{ name: 'audit and log', timeout: 90, run: async (t, ctx) => {
		const audit = `${FIX}/audit.jsonl`, log = `${FIX}/serve.log`;
		const q = await SdkServer.start({ args: ['serve', '--audit', audit, '--log', log, '-v'] });
		ctx.servers.push(q);
		await ex(q, 'ls /', { session: 'aud' });
		await ex(q, '(exit 3)', { session: 'aud' });
		// secrets given as arguments and typed: never in the audit log or the log
		if (T_PASS) await ex(q, 'whoami', { host: 'pwh', password: T_PASS, session: 'sec' });
		if (process.env.MCP_SUDO === '1') await ex(q, 'sudo /usr/bin/whoami', { sudo_password: T_PASS, session: 'sec2' });
		const w = await ex(q, "read -s -p 'Password: ' x; echo; echo ${#x}", { session: 'sec3', wait: 10 });
		if (w.sc.command_id) {
			await q.call('send_input', { command_id: w.sc.command_id, text: SECRET, secret: true });
			await until(q, w.sc.command_id, { secs: 10 });
		}
		await q.stop();
		let st = null;
		try { st = statSync(audit); } catch { /* missing */ }
		t.check(st && (st.mode & 0o777) === 0o600, 'the audit log exists with mode 0600', st ? (st.mode & 0o777).toString(8) : 'missing');
		const recs = [];
		for (const l of (st ? readFileSync(audit, 'utf8') : '').split('\n').filter(Boolean)) { try { recs.push(JSON.parse(l)); } catch { recs.push(null); } }
		t.check(recs.length >= 3 && recs.every((x) => x && typeof x === 'object'), 'one JSON object per line, a line per command', `${recs.length} lines`);
		const want = ['time', 'host', 'user', 'session', 'command', 'status', 'exit_code', 'bytes', 'duration_ms'];
		const ls = recs.find((x) => x && x.command === 'ls /' && x.status !== 'started');
		t.check(ls && want.every((k) => k in ls) && Object.keys(ls).some((k) => /req|id/i.test(k)),
			`an audit line has ${want.join(', ')} and the request id`, J(ls || recs.slice(0, 2)));
		const e3 = recs.find((x) => x && x.command === '(exit 3)' && x.status !== 'started');
		t.check(e3 && e3.exit_code === 3 && e3.host === HOST && e3.user === T_USER && e3.session === 'aud', 'its values: exit_code 3, host, user, session', J(e3));
		const files = [audit, log].filter((f) => existsSync(f)).map((f) => [f, readFileSync(f, 'utf8')]);
		t.check(files.length === 2 && files.every(([, x]) => x.length > 0), 'the audit log and the log were written', files.map(([f, x]) => `${f}: ${x.length}`).join(', '));
		for (const [f, x] of files)
			for (const sec of [SECRET, ...(T_PASS ? [T_PASS] : [])]) t.notContains(x, sec, `${f.replace(FIX + '/', '')} never holds a secret (${sec === SECRET ? 'typed' : 'password'})`);
	} },

	{ name: 'keepalive', timeout: 60, run: async (t, { server: s }) => {
		if (!MAIN_PID) { t.skip('keepalive', 'MAIN_PID not set'); return; }
		// host "ka": ServerAliveInterval 1, CountMax 2. Freeze the sshd serving it: the TCP
		// link stays up but nothing answers, as when a link goes down.
		const p = await ex(s, 'echo $$', { host: 'ka', session: 'ka' });
		const pid = Number(lines(p.out));
		if (!t.check(pid > 1, 'a session on host ka (ServerAliveInterval 1, CountMax 2)', show(p))) return;
		const mark = `sleep 60.${TAG}6`;
		const m = await ex(s, mark, { host: 'ka', session: 'ka', wait: 1 });
		const chain = [];
		for (let q = ppidOf(pid); q && q !== MAIN_PID && q > 1; q = ppidOf(q)) chain.push(q);
		const frozen = chain.filter((q) => descendants(MAIN_PID).some((x) => x.pid === q));
		for (const q of frozen) { try { process.kill(q, 'SIGSTOP'); } catch { /* gone */ } }
		const t0 = Date.now();
		let st = null;
		try {
			if (typeof m.sc.command_id === 'string') st = await until(s, m.sc.command_id, { secs: 20 });
		} finally {
			for (const q of frozen) { try { process.kill(q, 'SIGKILL'); } catch { /* gone */ } }
			killRemote(mark);
		}
		const took = Date.now() - t0;
		t.check(st && J(st.res, Infinity).includes('SSHMCP_ERR_SESSION_LOST') && took < 12000,
			'a dead link is noticed by keepalives within a few seconds: SSHMCP_ERR_SESSION_LOST', `froze sshd ${frozen.join(',') || '(none found)'}; ${took} ms; ${st ? show(st) : 'no command_id'}`);
		let r = await ex(s, 'echo ka-back', { host: 'ka', session: 'ka', wait: 15 });
		if (r.res && r.res.isError) r = await ex(s, 'echo ka-back', { host: 'ka', session: 'ka', wait: 15 });
		t.eq(r.out, 'ka-back\n', 'and the session reconnects', r.sc);
	} },

	{ name: 'close_all_sessions', timeout: 60, run: async (t, { server: s }) => {
		await ex(s, 'true', { session: 'ca1' });
		const before = MAIN_PID ? descendants(MAIN_PID).length : 0;
		const c = await s.call('close_all_sessions', {});
		t.check(!c.err && !c.res.isError, 'close_all_sessions → ok', show(c));
		const ls = await s.call('list_sessions', {});
		const open = (listOf(ls.sc) || []).filter((x) => x && !/clos|dead/i.test(x.state || ''));
		t.check(listOf(ls.sc) && open.length === 0, 'list_sessions shows no open session', show(ls));
		if (MAIN_PID) {
			let n = descendants(MAIN_PID).length;
			for (let i = 0; i < 50 && n > 0; i++) { await sleep(100); n = descendants(MAIN_PID).length; }
			t.check(before > 0 && n === 0, 'the SSH connections are really closed (no sshd children left)',
				`before ${before}, after ${n}:\n${descendants(MAIN_PID).map((x) => `${x.pid} ${x.ppid} ${x.user} ${x.args}`).join('\n')}`);
		}
		const r = await ex(s, 'echo fresh');
		t.eq(r.out, 'fresh\n', 'a new call after close_all works', r.sc);
	} },
];

// ============================================================ whole-run checks ===
export async function after(t, ctx) {
	const res = ctx.servers.flatMap((s) => s.results || []);
	const cmdTools = new Set(['execute_command', 'get_command_status', 'send_input', 'interrupt_command']);
	const shapeBad = [], crlf = [], illFormed = [], leaks = [];
	for (const { tool, args, sc, isError } of res) {
		if (!cmdTools.has(tool) || isError || !sc || sc.error) continue;
		const probs = [];
		if (typeof sc.command_id !== 'string') probs.push('command_id');
		if (!STATUSES.includes(sc.status)) probs.push(`status=${J(sc.status)}`);
		if (!(sc.exit_code === null || Number.isInteger(sc.exit_code))) probs.push('exit_code');
		if (typeof sc.output !== 'string') probs.push('output');
		for (const k of ['offset', 'next_offset', 'total_bytes', 'dropped_bytes', 'duration_ms'])
			if (!(typeof sc[k] === 'number' && sc[k] >= 0)) probs.push(k);
		if (typeof sc.truncated !== 'boolean') probs.push('truncated');
		if (!(sc.prompt === null || typeof sc.prompt === 'string')) probs.push('prompt');
		if (typeof sc.mode !== 'string') probs.push('mode');
		if (typeof sc.host !== 'string' || typeof sc.session !== 'string') probs.push('host/session');
		if (sc.status === 'running' && sc.exit_code !== null) probs.push('exit_code set while running');
		if (probs.length) shapeBad.push(`${tool}: ${probs.join(',')} in ${J(sc, 300)}`);
		if (typeof sc.output === 'string') {
			if (sc.output.includes('\r\n')) crlf.push(`${tool} ${J(args.command || args.command_id)}`);
			if (!sc.output.isWellFormed()) illFormed.push(`${tool} ${J(args.command || args.command_id)}`);
			const cmd = String(args.command || '');
			if (!/sshmcp/i.test(cmd) && /sshmcp(?!t)/i.test(sc.output)) leaks.push(`${J(cmd)} → ${J(sc.output, 200)}`);
		}
	}
	if (res.length === 0) t.skip('every command result has the SPEC fields and types', 'no results');
	else t.check(shapeBad.length === 0, `every command result has the SPEC fields and types (${res.length} results)`, shapeBad.slice(0, 6).join('\n'));
	t.check(crlf.length === 0, 'no output carries \\r\\n', crlf.slice(0, 6).join('\n'));
	t.check(illFormed.length === 0, 'every output is well-formed Unicode', illFormed.slice(0, 6).join('\n'));
	t.check(leaks.length === 0, 'no output shows sshmcp\'s own markers (sentinels, wrapper)', leaks.slice(0, 6).join('\n'));
	const schema = ctx.servers.flatMap((s) => s.schemaViolations || []);
	t.check(schema.length === 0, 'every structuredContent matches its tool\'s outputSchema (the SDK\'s callTool would reject it otherwise)',
		schema.slice(0, 6).join('\n'));
	const terr = ctx.servers.flatMap((s) => s.transportErrors || []);
	t.check(terr.length === 0, 'the SDK saw only valid JSON-RPC on stdout', terr.slice(0, 6).join('\n'));
	const bad8 = ctx.servers.filter((s) => s.badUtf8 !== null);
	t.check(bad8.length === 0, 'stdout is valid UTF-8', bad8.map((s) => `at byte ${s.badUtf8}`).join(', '));
	const stderr = ctx.servers.map((s) => s.stderrAll || '').join('\n');
	const secrets = [SECRET, ...(T_PASS ? [T_PASS] : [])].filter((x) => stderr.includes(x));
	t.check(secrets.length === 0, 'the server\'s log (stderr) never shows a secret', `found: ${secrets.join(', ')}`);
	t.check(!ctx.deaths, 'the server never died during the run', `${ctx.deaths} deaths`);
	// stdin EOF: the server closes its sessions and exits 0 within 2 s
	const s = ctx.server;
	if (s && s.alive) {
		const before = MAIN_PID ? descendants(MAIN_PID).length : 0;
		await ex(s, 'true', { session: 'last' });
		const t0 = Date.now();
		s.transport._process?.stdin?.end();
		const e = await s.waitExit(2000);
		t.check(e && e.code === 0, 'stdin EOF → exit 0 within 2 s (with sessions open)', e ? `${J(e)} after ${e.at - t0} ms` : 'still running');
		if (MAIN_PID) {
			let n = descendants(MAIN_PID).length;
			for (let i = 0; i < 30 && n > 0; i++) { await sleep(100); n = descendants(MAIN_PID).length; }
			t.check(n === 0, 'and its SSH sessions are gone', `sshd children: ${before} before, ${n} after`);
		}
	}
}
