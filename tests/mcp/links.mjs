// tests/mcp/links.mjs — serve-mode dead links for tests/18-connectivity.sh: a server frozen with
// SIGSTOP, a veth taken down, an sshd killed mid-command. The session goes dead, its running
// command ends with SSHMCP_ERR_SESSION_LOST in the expected time, a session on another server
// keeps answering meanwhile, and the next call reconnects. Hosts (from ~/.ssh/config):
// stall (MAIN, ServerAliveInterval 1, CountMax 3), other (OTHER), link (namespace LINK,
// ServerAliveInterval 1, CountMax 3), hkill (MAIN, no keepalive).
import { J, sleep, sh, ppidOf, descendants } from './client.mjs';

const MAIN_PID = Number(process.env.MAIN_PID || 0);
const T_USER = process.env.T_USER || 'sshmcpt';
const LINK_HV = process.env.LINK_HV || '';
const TAG = process.env.TAG || String(process.pid);

async function ex(s, host, session, command, extra = {}) {
	const r = await s.call('execute_command', { host, session, command, wait: 15, ...extra });
	r.out = typeof r.sc.output === 'string' ? r.sc.output : '';
	return r;
}
const show = (r) => r.err ? `protocol error: ${r.err}` : J(r.res, 1500);
const lost = (r) => r && r.res && J(r.res, Infinity).includes('SSHMCP_ERR_SESSION_LOST');
function killRemote(pattern) {
	for (const p of sh('pgrep', ['-u', T_USER, '-f', pattern]).split('\n').filter(Boolean).map(Number)) {
		try { process.kill(p, 'SIGKILL'); } catch { /* gone */ }
	}
}
// the sshd processes between a remote shell and the listener
function chain(shellPid, listener) {
	const c = [];
	for (let p = ppidOf(shellPid); p && p !== listener && p > 1; p = ppidOf(p)) c.push(p);
	const under = new Set(descendants(listener).map((x) => x.pid));
	return c.filter((p) => under.has(p));
}
// poll a running command until it is not running; {r, ms}
async function finish(s, id, secs) {
	const t0 = Date.now();
	let r = null;
	while (Date.now() - t0 < secs * 1000) {
		r = await s.call('get_command_status', { command_id: id, wait: 1 }, { timeout: 15000 });
		if (r.err || r.res.isError || r.sc.status !== 'running') break;
		if (r.ms < 200) await sleep(200);
	}
	return { r, ms: Date.now() - t0 };
}
// the call after a loss: either it reports the loss (naming what was lost) and the one after
// works, or it works at once; returns [first, working]
async function reconnect(s, host, session, cmd) {
	const a = await ex(s, host, session, cmd);
	if (a.res && !a.res.isError && a.sc.status === 'completed') return [a, a];
	return [a, await ex(s, host, session, cmd)];
}
const state = async (s, session) => {
	const l = await s.call('list_sessions', {});
	const arr = Array.isArray(l.sc.sessions) ? l.sc.sessions : (Object.values(l.sc).find(Array.isArray) || []);
	return (arr.find((x) => x && x.session === session) || {}).state;
};

export const scenarios = [
	{ name: 'frozen server', timeout: 90, run: async (t, { server: s }) => {
		const o = await ex(s, 'other', 'o1', 'echo warm');
		t.eq(o.out, 'warm\n', 'a session on OTHER works', o.sc);
		await ex(s, 'stall', 'st', 'cd /tmp');
		const p = await ex(s, 'stall', 'st', 'echo $$');
		const pid = Number(p.out.trim());
		if (!t.check(pid > 1, 'a session on stall (MAIN, ServerAliveInterval 1, CountMax 3)', show(p))) return;
		const mark = `sleep 84.${TAG}`;
		const m = await ex(s, 'stall', 'st', mark, { wait: 1 });
		if (!t.check(m.sc.status === 'running' && typeof m.sc.command_id === 'string', 'a long command is running', show(m))) return;
		const frozen = chain(pid, MAIN_PID);
		if (!t.check(frozen.length > 0, 'found the sshd processes of the session', `shell ${pid}`)) return;
		for (const q of frozen) { try { process.kill(q, 'SIGSTOP'); } catch { /* gone */ } }
		const t0 = Date.now();
		let f;
		try {
			const fp = finish(s, m.sc.command_id, 20);
			await sleep(500);
			const o2 = await ex(s, 'other', 'o1', 'echo still-here', { wait: 10 });
			const otherMs = Date.now() - t0 - 500;
			t.check(o2.out === 'still-here\n' && otherMs < 3000, `while MAIN is frozen, the OTHER session answers at once (${otherMs} ms)`, show(o2));
			const o3 = await ex(s, 'other', 'o2', 'echo new-session', { wait: 10 });
			t.eq(o3.out, 'new-session\n', 'and a new session to OTHER opens meanwhile', o3.sc);
			f = await fp;
		} finally {
			for (const q of frozen) { try { process.kill(q, 'SIGKILL'); } catch { /* gone */ } }
			killRemote(mark);
		}
		const took = Date.now() - t0;
		t.check(lost(f.r), 'the running command ends with SSHMCP_ERR_SESSION_LOST', f.r ? show(f.r) : 'no answer');
		t.check(took >= 1500 && took <= 4000, `…detected in ${took} ms (expected ≤ 1×3+0.5 s, + polling)`, `${took} ms`);
		const st = await state(s, 'st');
		t.match(String(st), /dead|lost|closed|disconnected/i, `list_sessions: the session is dead (${st})`);
		const [a, b] = await reconnect(s, 'stall', 'st', 'pwd');
		if (a !== b) {
			t.check(lost(a), 'the next call says the session was lost', show(a));
			t.match(J(a.res), /\/tmp|cwd|directory/i, '…naming what was lost (the working directory /tmp)', a.res);
		} else t.ok('the next call reconnected directly (the loss was already reported)');
		t.check(b.sc.status === 'completed' && /^\//.test(b.out), 'and the session reconnects', show(b));
	} },

	{ name: 'link down', timeout: 90, run: async (t, { server: s }) => {
		if (!LINK_HV) { t.skip('link down', 'LINK_HV not set'); return; }
		const p = await ex(s, 'link', 'ln', 'cd /tmp && echo ok');
		if (!t.eq(p.out, 'ok\n', 'a session on the namespaced host "link"', p.sc)) return;
		const mark = `sleep 85.${TAG}`;
		const m = await ex(s, 'link', 'ln', mark, { wait: 1 });
		if (!t.check(m.sc.status === 'running', 'a long command is running', show(m))) return;
		sh('ip', ['link', 'set', LINK_HV, 'down']);
		const t0 = Date.now();
		let f;
		try {
			const fp = finish(s, m.sc.command_id, 20);
			const o = await ex(s, 'other', 'o3', 'echo unaffected', { wait: 10 });
			t.check(o.out === 'unaffected\n' && Date.now() - t0 < 3000, 'while the link is down, OTHER answers', show(o));
			f = await fp;
		} finally {
			sh('ip', ['link', 'set', LINK_HV, 'up']);
			killRemote(mark);
		}
		const took = Date.now() - t0;
		t.check(lost(f.r), 'the running command ends with SSHMCP_ERR_SESSION_LOST', f.r ? show(f.r) : 'no answer');
		t.check(took >= 1500 && took <= 4000, `…detected in ${took} ms (expected ≤ 3.5 s + polling)`, `${took} ms`);
		await sleep(1000);
		const [a, b] = await reconnect(s, 'link', 'ln', 'echo back');
		if (a !== b) t.check(lost(a), 'the next call says the session was lost', show(a));
		t.eq(b.out, 'back\n', 'link up: the session reconnects', b.sc);
	} },

	{ name: 'sshd killed mid-command', timeout: 60, run: async (t, { server: s }) => {
		const p = await ex(s, 'hkill', 'kl', 'echo $$');
		const pid = Number(p.out.trim());
		if (!t.check(pid > 1, 'a session on hkill (no keepalive)', show(p))) return;
		const mark = `sleep 86.${TAG}`;
		const m = await ex(s, 'hkill', 'kl', mark, { wait: 1 });
		const victims = chain(pid, MAIN_PID);
		if (!t.check(victims.length > 0 && m.sc.status === 'running', 'a command runs; found its sshd', show(m))) return;
		for (const q of victims) { try { process.kill(q, 'SIGKILL'); } catch { /* gone */ } }
		const t0 = Date.now();
		const f = await finish(s, m.sc.command_id, 15);
		const took = Date.now() - t0;
		killRemote(mark);
		t.check(lost(f.r), 'the running command ends with SSHMCP_ERR_SESSION_LOST', f.r ? show(f.r) : 'no answer');
		t.check(took <= 2500, `a closed connection is noticed at once (${took} ms)`, `${took} ms`);
		const [, b] = await reconnect(s, 'hkill', 'kl', 'echo again');
		t.eq(b.out, 'again\n', 'and the session reconnects', b.sc);
	} },
];
