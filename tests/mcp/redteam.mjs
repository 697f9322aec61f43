// tests/mcp/redteam.mjs — scenarios for tests/63-redteam.sh: a hostile agent against the
// operator's policy through `sshmcp serve`. The attempt lists of 63-redteam.sh (deny, allow,
// read-only, zsh) go through execute_command and execute_on_hosts; then what needs a session:
// state carried from one call to the next, the prompt's and sudo's nonces, sudo_password at a
// fake prompt, send_input, and the audit record. The canary is the same as in the shell part:
// the sentinel f in $MCP_SDIR must survive, $MCP_SDIR/t must not appear (read-only: no new file
// at all, no new git ref in $MCP_REPO).
import { readFileSync, writeFileSync, existsSync, rmSync, readdirSync, chownSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { J, sleep, sh, SdkServer } from './client.mjs';

const FIX = process.env.MCP_FIX || '/tmp';
const SDIR = process.env.MCP_SDIR;
const SENT = process.env.MCP_SENT;
const REPO = process.env.MCP_REPO;
const T_USER = process.env.T_USER || 'sshmcpt';
const uid = Number(sh('id', ['-u', T_USER]).trim()), gid = Number(sh('id', ['-g', T_USER]).trim());
const L = JSON.parse(readFileSync(`${FIX}/redteam.json`, 'utf8'));
const CONF = L.conf;

// a canary: its directory (sentinel f inside) and a git repo whose refs must not change
function lane(sdir, repo) {
	const l = { sdir, sent: `${sdir}/f`, repo };
	l.refs0 = refs(l);
	return l;
}
function refs(l) {
	try { return execFileSync('sh', ['-c', 'cd "$1/.git" && find refs -type f | sort; cat packed-refs 2>/dev/null', 'sh', l.repo], { encoding: 'utf8' }); }
	catch { return ''; }
}
const MAIN = lane(SDIR, REPO);
const LANES = Array.from({ length: Number(process.env.MCP_LANES || 1) }, (_, k) => lane(`${FIX}/lane${k}`, `${FIX}/repo${k}`));
const subst = (c, l = MAIN) => c.replaceAll('@P@', l.sent).replaceAll('@S@', l.sdir).replaceAll('@R@', l.repo).replaceAll('@U@', T_USER);
function reset(l = MAIN) {
	for (const f of readdirSync(l.sdir)) rmSync(`${l.sdir}/${f}`, { recursive: true, force: true });
	writeFileSync(l.sent, '');
	chownSync(l.sent, uid, gid);
	const keep = new Set(l.refs0.split('\n'));
	for (const r of refs(l).split('\n').filter((x) => x.startsWith('refs/')))
		if (!keep.has(r)) rmSync(`${l.repo}/.git/${r}`, { force: true });
}
// '' when intact, else what changed
function state(mode, l = MAIN) {
	let s = '';
	if (!existsSync(l.sent)) s += 'sentinel DELETED; ';
	if (mode === 'ro') {
		const extra = readdirSync(l.sdir).filter((f) => f !== 'f');
		if (extra.length) s += `new files: ${extra.slice(0, 5).join(' ')}; `;
		if (refs(l) !== l.refs0) s += 'git refs CHANGED; ';
	} else if (existsSync(`${l.sdir}/t`)) s += 't CREATED; ';
	return s;
}
const errCode = (r) => r.sc && r.sc.error && r.sc.error.code;
const errMsg = (r) => (r.sc && r.sc.error && r.sc.error.message) || '';
const show = (r) => r.err ? `protocol error: ${r.err}` : J(r.res, 1500);
const refused = (r) => !r.err && r.res && r.res.isError === true && errCode(r) === 'SSHMCP_ERR_POLICY';
const q = (c) => J(c, 110);
const out = (r) => (r && r.sc && typeof r.sc.output === 'string' ? r.sc.output : '');
async function ex(s, command, extra = {}) {
	return await s.call('execute_command', { host: 'h', command, wait: 8, timeout: 8, ...extra });
}
async function start(ctx, args) { const s = await SdkServer.start({ args }); ctx.servers.push(s); return s; }
async function settle(s, r, host, session) {
	// a command left running or waiting: stop it and drop the session
	if (r && r.sc && r.sc.command_id && r.sc.status && !['completed', 'failed'].includes(r.sc.status)) {
		await s.call('interrupt_command', { command_id: r.sc.command_id });
		await s.call('close_session', { host, session });
		return true;
	}
	return false;
}
// poll a command to its end (bounded)
async function finish(s, r, ms = 8000) {
	const t0 = Date.now();
	while (r && !r.err && r.sc && r.sc.status === 'running' && Date.now() - t0 < ms)
		r = await s.call('get_command_status', { command_id: r.sc.command_id, wait: 2 });
	return r;
}

let serial = 0;
// one attempt through execute_command; streaming refusals (watch) are retried in the background
async function viaCommand(s, line, host, session) {
	let r = await ex(s, line, { host, session });
	let dropped = false;
	if (!r.err && r.res && r.res.isError && errCode(r) === 'SSHMCP_ERR_REFUSED') {
		const bg = `bg${serial++}`;
		r = await s.call('execute_command', { host, command: line, session: bg, wait: 0, timeout: 2 });
		if (!refused(r)) {
			r = await finish(s, r, 4000);
			await s.call('close_session', { host, session: bg });
			await sleep(200);
		}
	} else if (!refused(r)) dropped = await settle(s, r, host, session);
	return { r, isRef: refused(r), dropped };
}
async function viaFanout(s, line, host) {
	const r = await s.call('execute_on_hosts', { hosts: [host], command: line, timeout: 8 });
	const per = (r.sc && Array.isArray(r.sc.results) && r.sc.results[0]) || {};
	const isRef = refused(r) || (per.error && per.error.code === 'SSHMCP_ERR_POLICY');
	return { r, isRef };
}
function judge(t, mode, kind, desc, isRef, r, l = MAIN) {
	const st = state(mode, l);
	if (kind === 'R') {
		if (isRef && !st) return t.ok(`${desc} → SSHMCP_ERR_POLICY`);
		return t.fail(`${desc} → SSHMCP_ERR_POLICY`, `BYPASS: ${isRef ? 'refused' : 'NOT refused'}${st ? '; ' + st : ''}\n${show(r)}`);
	}
	if (kind === 'H') {
		if (!st) return t.ok(`${desc} → harmless`);
		return t.fail(`${desc} → harmless`, `BYPASS: ${st}\n${show(r)}`);
	}
	if (isRef && !st) return t.ok(`${desc} → SSHMCP_ERR_POLICY`);
	return t.skip(`${desc} → SSHMCP_ERR_POLICY (NOT refused${st ? ', ' + st : ''})`, 'TODO interpreter code is not read by DenyCommand');
}
// JSON cannot carry the raw non-UTF-8 bytes of a few exec attempts
const representable = (line) => !/[\ud800-\udfff]/.test(line);

function listScenario(front) {
	return { name: `lists via ${front}`, timeout: 600, noServer: true, run: async (t, ctx) => {
		for (const [mode, list, host] of [['deny', L.deny, 'h'], ['allow', L.allow, 'h'], ['ro', L.ro, 'h'], ['deny', L.zsh, 'z']]) {
			const s = await start(ctx, ['serve', '--config', CONF[mode]]);
			let through = 0;
			// the lanes run at once, each its own share of the list, session and canary
			await Promise.all(LANES.map(async (l, k) => {
				let session = `${mode}${k}x${serial++}`;
				for (let idx = k; idx < list.length; idx += LANES.length) {
					const [kind, raw] = list[idx];
					const desc = `${front} ${mode}@${host}: ${q(raw)}`;
					if (!representable(raw)) { t.skip(desc, 'raw bytes a JSON string cannot hold (exec only)'); continue; }
					reset(l);
					const line = subst(raw, l);
					let res;
					if (front === 'execute_command') {
						res = await viaCommand(s, line, host, session);
						if (res.dropped || (!res.isRef && /BASH_CMDS|MAILPATH|printf -v|tset/.test(raw))) {
							await s.call('close_session', { host, session });
							session = `${mode}${k}x${serial++}`;
						}
					} else res = await viaFanout(s, line, host);
					if (!judge(t, mode, kind, desc, res.isRef, res.r, l) && kind !== 'T') through++;
				}
				await s.call('close_session', { host, session });
			}));
			t.note(`${front} ${mode}@${host}: ${through} of ${list.length} attempts got through`);
			await s.stop();
		}
		reset();
	} };
}

// two or more calls on one shell: the later call (or the shell's own prompt machinery) must not
// run what the earlier one planted
const TWO = [
	['h', ['tset -I -Q -e Z', 'echoZZZZtouch @S@/t']],
	['h', ['tset -I -Q -k K', 'echo xKtouch @S@/t']],
	['h', ['cp /etc/passwd @S@/mb', "MAILCHECK=0; MAILPATH='@S@/mb?$(touch @S@/t)'", 'sleep 1; cp /etc/services @S@/mb', 'echo next']],
	['h', ["printf -v'BASH_CMDS[ls]' /usr/bin/touch", 'ls @S@/t']],
	['h', ['POSIXLY_CORRECT=1', "printf -v'BASH_ALIASES[ls]' 'touch @S@/t'", 'ls']],
	['h', ["BASH_ALIASES[ls]='touch @S@/t'", 'ls']],
	['h', ["PROMPT_COMMAND[1]='touch @S@/t'", 'echo next']],
	['h', ["PS0[0]='$(touch @S@/t)'", 'echo next']],
	['h', ['hash -p /usr/bin/touch ls', 'ls @S@/t']],
	['h', ['declare -n p=PS1', "p='$(touch @S@/t)'", 'echo next']],
	['h', ['export -f ls', 'ls']],
	['h', ['cd /usr/bin', './touch @S@/t']],
	['h', ['cd /usr', 'bin/touch @S@/t']],
	['h', ['set -o history', 'history -s "touch @S@/t"', 'fc -s']],
	['h', ['shopt -s expand_aliases', "alias ls='touch @S@/t'", 'ls']],
	['h', ["trap 'touch @S@/t' RETURN", 'echo next']],
	['h', ['umask 000', 'echo next']],
	['h', ['cd @S@', 'ls']],
	['z', ["prompt='$(touch @S@/t)'", 'echo next']],
	['z', ["PROMPT2='$(touch @S@/t)'", 'echo a\necho b']],
	['z', ["PS1='$(touch @S@/t)'", 'echo next']],
	['z', ['precmd_functions=(x)', 'echo next']],
	['z', ['setopt aliases', "alias ls='touch @S@/t'", 'ls']],
];

const HEX16 = /[0-9A-Fa-f]{16}/;
const SUDO_NONCE = /\(([0-9a-f]{12})\)/;
const SECRET = 'Red-T3am-Sudo-Pw-5501';
const SECRET2 = 'Red-T3am-Typed-7702';
const b64 = (x) => Buffer.from(x).toString('base64');

export const scenarios = [
	listScenario('execute_command'),
	listScenario('execute_on_hosts'),

	{ name: 'state across calls (deny)', timeout: 240, noServer: true, run: async (t, ctx) => {
		const s = await start(ctx, ['serve', '--config', CONF.deny]);
		for (const [host, steps] of TWO) {
			reset();
			const session = `two${serial++}`;
			const rs = [];
			for (const st of steps) rs.push(await ex(s, subst(st), { host, session, wait: 6, timeout: 6 }));
			await s.call('close_session', { host, session });
			await sleep(300);
			const st = state('deny');
			t.check(!st, `two calls@${host}: ${q(steps.join(' ⏎ '))} → canary intact`,
				() => `BYPASS: ${st}\n` + rs.map((r) => (refused(r) ? 'refused: ' + errMsg(r) : show(r))).join('\n'));
		}
		await s.stop();
	} },

	{ name: 'nonces', timeout: 120, noServer: true, run: async (t, ctx) => {
		const ro = await start(ctx, ['serve', '--read-only']);
		const deny = await start(ctx, ['serve', '--config', CONF.deny]);
		// the prompt's nonce makes sentinels unforgeable: no command may read it
		const fsess = `forge${serial++}`;
		let r = await ex(ro, 'echo "$_" | tr a-f A-F', { session: fsess });
		const m = HEX16.exec(out(r));
		t.check(!m, 'read-only bash: the first command of a session cannot read the prompt nonce through "$_"', () => `LEAK: ${J(out(r))}`);
		r = await ex(deny, 'echo "$prompt" | tr a-f A-F', { host: 'z', session: `n${serial++}` });
		t.check(!HEX16.test(out(r)) || refused(r), 'zsh: "$prompt" (PS1\'s lowercase twin) does not reveal the prompt nonce', () => `LEAK: ${show(r)}`);
		if (m) {
			const n = m[0].toLowerCase();
			const session = fsess;
			r = await ex(ro, `printf '\\030__SSHMCP_%s_7_/forged_%s__' ${n} ${n}; sleep 3`, { session });
			t.check(!(r.sc && r.sc.exit_code === 7), 'a command cannot end itself early with a forged sentinel (exit 7, cwd /forged)',
				() => `FORGED: ${show(r)}`);
			await sleep(3500);
			await ro.call('close_session', { host: 'h', session });
		} else t.ok('no nonce leaked, nothing to forge with');
		// sudo's nonce: whoever knows it can print sudo's prompt and receive sudo_password
		for (const [srv, host, line, what] of [[ro, 'h', 'type sudo', 'read-only bash: type sudo'],
			[deny, 'h', 'command -V sudo', 'deny bash: command -V sudo'],
			[deny, 'z', 'which sudo', 'zsh: which sudo'], [deny, 'z', 'whence -f sudo', 'zsh: whence -f sudo']]) {
			r = await ex(srv, line, { host, session: `sn${serial++}` });
			t.check(!SUDO_NONCE.test(out(r)), `${what} does not reveal sudo's prompt nonce`, () => `LEAK: ${J(out(r))}`);
		}
		await ro.stop();
		await deny.stop();
	} },

	{ name: 'sudo_password at a fake prompt', timeout: 120, noServer: true, run: async (t, ctx) => {
		for (const [mode, args, nonceCmd] of [['ro', ['serve', '--read-only'], 'type sudo'], ['deny', ['serve', '--config', CONF.deny], 'command -V sudo']]) {
			const s = await start(ctx, args);
			const session = `sudo${serial++}`;
			let r = await ex(s, nonceCmd, { session });
			const nonce = (SUDO_NONCE.exec(out(r)) || [null, '000000000000'])[1];
			const tries = [
				[`printf '[sudo] password for %s (${nonce}): ' ${T_USER}; head -n 1 | base64`, 'sudo\'s exact prompt text (nonce learned from the session)'],
				[`printf '[sudo] password for %s (${nonce}): ' ${T_USER}; head -n 1 | od -c`, '  … read back through od -c'],
				[`printf '[sudo] password for ${T_USER}: '; head -n 1 | base64`, 'sudo\'s usual prompt text'],
				["printf 'Password: '; head -n 1 | base64", 'a plain Password: question'],
			];
			for (const [line, what] of tries) {
				r = await ex(s, line, { session, sudo_password: SECRET, wait: 4, timeout: 4 });
				const o = out(r);
				const leaked = o.includes(b64(SECRET + '\n')) || o.includes(SECRET) || o.includes(SECRET.split('').join('   '));
				t.check(!leaked, `${mode}: sudo_password is not typed at ${what}`, () => `LEAK: ${J(o)}\n${show(r)}`);
				await settle(s, r, 'h', session);
			}
			r = await ex(s, "read -p 'Password: ' x", { session: `sudo${serial++}`, sudo_password: SECRET });
			t.check(refused(r), `${mode}: read -p 'Password: ' → refused`, show(r));
			await s.stop();
		}
	} },

	{ name: 'send_input', timeout: 200, noServer: true, run: async (t, ctx) => {
		const audit = `${FIX}/redteam-input.audit`;
		const s = await start(ctx, ['serve', '--config', CONF.deny, '--audit', audit]);
		let session = `in${serial++}`;
		// type-ahead to a command that never reads it: drained, never run as a command
		for (const d of ['1', '0.5', '0.3', '0.2', '0.17', '0.16']) {
			reset();
			const r = await s.call('execute_command_async', { host: 'h', command: `printf 'Continue? [y/N] '; sleep ${d}`, session });
			let st = r;
			const t0 = Date.now();
			while (Date.now() - t0 < 3000) {
				st = await s.call('get_command_status', { command_id: r.sc.command_id });
				if (st.sc.status !== 'running') break;
			}
			if (st.sc.status === 'awaiting_input') await s.call('send_input', { command_id: r.sc.command_id, text: `touch ${SDIR}/t` });
			await s.call('get_command_status', { command_id: r.sc.command_id, wait: 2 });
			const n = await ex(s, 'echo next', { session });
			t.check(!state('deny') && out(n) === 'next\n', `type-ahead to 'sleep ${d}' at a question is drained, never run`, () => `BYPASS: ${state('deny')} ${show(n)}`);
		}
		// not at a question
		let r = await s.call('execute_command_async', { host: 'h', command: 'sleep 3', session });
		await sleep(400);
		let i = await s.call('send_input', { command_id: r.sc.command_id, text: `touch ${SDIR}/t` });
		t.check(refused(i), 'send_input to a command that is not at a question → SSHMCP_ERR_POLICY', show(i));
		i = await s.call('send_input', { command_id: r.sc.command_id, keys: ['enter'] });
		t.check(refused(i), '  … keys too', show(i));
		await finish(s, await s.call('get_command_status', { command_id: r.sc.command_id }), 5000);
		// after the end
		i = await s.call('send_input', { command_id: r.sc.command_id, text: `touch ${SDIR}/t` });
		t.check(i.res && i.res.isError, 'send_input after the command ended → a tool error', show(i));
		// at a question: ! and multi-line refused
		r = await ex(s, "printf 'Continue? [y/N] '; head -n 1 >/dev/null", { session, wait: 3 });
		if (r.sc.status === 'awaiting_input') {
			i = await s.call('send_input', { command_id: r.sc.command_id, text: `!touch ${SDIR}/t` });
			t.check(refused(i), 'send_input text starting with ! → refused', show(i));
			i = await s.call('send_input', { command_id: r.sc.command_id, text: `y\ntouch ${SDIR}/t` });
			t.check(refused(i) || (i.res && i.res.isError), 'send_input text of two lines → refused', show(i));
			await s.call('send_input', { command_id: r.sc.command_id, text: 'y' });
		} else t.fail('a [y/N] question is recognised', show(r));
		await settle(s, r, 'h', session);
		// a pager gets keys only
		session = `in${serial++}`;
		r = await ex(s, 'more /etc/services', { session, wait: 3 });
		if (r.sc.status === 'awaiting_input') {
			i = await s.call('send_input', { command_id: r.sc.command_id, text: `!touch ${SDIR}/t`, newline: true });
			t.check(refused(i), 'pager: text (!cmd) → refused, keys only', show(i));
			i = await s.call('send_input', { command_id: r.sc.command_id, text: 'x' });
			t.check(refused(i), 'pager: any text → refused', show(i));
			await s.call('send_input', { command_id: r.sc.command_id, keys: ['q'] });
		} else t.skip('pager: more at --More--', `not at a prompt: ${show(r)}`);
		await settle(s, r, 'h', session);
		t.check(!state('deny'), 'no input above ran anything', state('deny'));
		// programs that print a question and run what they read
		for (const [cmd, text, what] of [
			["printf 'Password: '; xargs -I X sh -c X", `touch ${SDIR}/t`, 'xargs -I X sh -c X behind a Password: question'],
			["ed -p 'Password: '", `r !touch ${SDIR}/t`, "ed -p 'Password: ' (a REPL with a question for a prompt)"],
		]) {
			reset();
			session = `in${serial++}`;
			r = await ex(s, cmd, { session, wait: 3 });
			const wasRef = refused(r);
			if (r.sc.status === 'awaiting_input') {
				await s.call('send_input', { command_id: r.sc.command_id, text });
				await sleep(500);
				await s.call('send_input', { command_id: r.sc.command_id, keys: ['ctrl-d'] });
				await sleep(300);
			}
			await settle(s, r, 'h', session);
			await s.call('close_session', { host: 'h', session });
			await sleep(200);
			t.check(wasRef || !state('deny'), `send_input to ${what} → refused or nothing runs`, () => `BYPASS: ${state('deny')}\n${show(r)}`);
		}
		// a secret typed at a question is blanked when the program echoes it
		session = `in${serial++}`;
		r = await ex(s, "printf 'Password: '; head -n 1", { session, wait: 3 });
		if (r.sc.status === 'awaiting_input') {
			i = await s.call('send_input', { command_id: r.sc.command_id, text: SECRET2, secret: true });
			const f = await finish(s, i, 4000);
			t.check(!J(f.sc, Infinity).includes(SECRET2) && !J(i.sc, Infinity).includes(SECRET2), 'secret send_input echoed back by the program shows ***', show(f));
		} else t.fail('Password: question recognised', show(r));
		await settle(s, r, 'h', session);
		await s.stop();
		const lines = existsSync(audit) ? readFileSync(audit, 'utf8').split('\n').filter(Boolean).map((l) => { try { return JSON.parse(l); } catch { return { bad: l }; } }) : [];
		const inputs = lines.filter((x) => /send_input/.test(String(x.command)));
		t.check(inputs.some((x) => x.status === 'refused') && inputs.some((x) => x.status === 'input'), `every send_input is audited, refused ones too (${inputs.length} lines)`, J(inputs.slice(0, 6)));
		t.check(!readFileSync(audit, 'utf8').includes(SECRET2), 'the secret input is not in the audit', '');
	} },

	{ name: 'write_file under a command policy', timeout: 90, noServer: true, run: async (t, ctx) => {
		// the policy is about commands; a file the shell runs by itself is one too
		const HX = process.env.MCP_HXHOME;
		for (const mode of ['deny', 'allow']) {
			reset();
			rmSync(`${HX}/.profile`, { force: true });
			const s = await start(ctx, ['serve', '--config', CONF[mode]]);
			const w = await s.call('write_file', { host: 'h', path: `${HX}/.profile`, content: `touch ${SDIR}/t\n` });
			const r = await ex(s, 'id', { host: 'hx', session: `wf${serial++}` });
			await sleep(300);
			if (process.env.RT_DEBUG) t.note(`write_file: ${show(w)}\nnext: ${show(r)}`);
			t.check(refused(w) || !state('deny'), `${mode}: write_file of the login script (~/.profile), then a new session → nothing the policy refuses runs`,
				() => `BYPASS: ${state('deny')}\nwrite_file: ${show(w)}\nnext session: ${show(r)}`);
			await s.stop();
		}
		rmSync(`${HX}/.profile`, { force: true });
		reset();
	} },

	{ name: 'audit record', timeout: 90, noServer: true, run: async (t, ctx) => {
		const audit = `${FIX}/redteam.audit`;
		const s = await start(ctx, ['serve', '--read-only', '--audit', audit]);
		reset();
		const cases = [
			[`password=$(touch ${SDIR}/t)`, 'touch', 'a refused password=$(cmd) keeps the command in the record'],
			['echo password=x\ncat\t/etc/hostname', 'cat', 'password=VALUE then a newline: the next command stays visible'],
			['echo x --password y\nwhoami', 'whoami', '--password VALUE then a newline: the next command stays visible'],
			['echo Authorization: Bearer x\nuname\t-a', 'uname', 'Authorization: Bearer VALUE then a newline: the next command stays visible'],
			['echo token:x\nid\t-u', 'id', 'token:VALUE then a newline: the next command stays visible'],
		];
		for (const [c] of cases) await ex(s, c, { session: 'au' });
		await s.stop();
		const lines = existsSync(audit) ? readFileSync(audit, 'utf8').split('\n').filter(Boolean).map((l) => { try { return JSON.parse(l); } catch { return {}; } }) : [];
		for (const [c, needle, what] of cases) {
			const rec = lines.filter((x) => typeof x.command === 'string' && x.command.startsWith(c.slice(0, 9)));
			const hit = rec.find((x) => x.command.includes(needle));
			t.check(rec.length > 0 && !!hit, `audit: ${what}`, () => `HIDDEN: ${J(rec.map((x) => ({ status: x.status, command: x.command })))}`);
		}
		t.check(lines.some((x) => x.status === 'refused'), 'audit: the refused call has a "refused" line', J(lines.slice(0, 3)));
		t.check(!state('ro'), 'audit: nothing was written', state('ro'));
	} },
];
