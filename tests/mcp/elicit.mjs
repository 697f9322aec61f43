// tests/mcp/elicit.mjs — serve mode for tests/19-auth-more.sh: an unknown host key is offered to
// a client that declares `capabilities.elicitation` (elicitation/create with a boolean `trust`);
// accept+trust → the key is recorded (OpenSSH accepts the line) and the call proceeds;
// accept+false / decline / cancel → SSHMCP_ERR_HOSTKEY_UNKNOWN; a client without the capability
// is never asked and refused at once. Tool arguments: `passphrase` for an encrypted key,
// `password` for a keyboard-interactive-only sshd. Hosts eli1..eli6 are sshds whose keys are unknown.
import { readFileSync } from 'node:fs';
import { J, sh, SdkServer } from './client.mjs';

const E = process.env;
const KH = E.KNOWN_HOSTS;
const show = (r) => r.err ? `protocol error: ${r.err}` : J(r.res, 1500);
const code = (r) => r.sc && r.sc.error && r.sc.error.code;
const kh = () => readFileSync(KH, 'utf8');
async function ex(s, host, command, extra = {}) {
	const r = await s.call('execute_command', { host, command, session: `s-${host}`, wait: 20, ...extra }, { timeout: 150000 });
	r.out = typeof r.sc.output === 'string' ? r.sc.output : '';
	return r;
}
// a server whose client declares elicitation and answers every question with answer(params)
async function eliServer(ctx, answer) {
	const asked = [];
	const s = await SdkServer.start({ capabilities: { elicitation: {} }, setup: (c, sdk) =>
		c.setRequestHandler(sdk.types.ElicitRequestSchema, async (req) => { asked.push(req.params); return answer(req.params); }) });
	ctx.servers.push(s);
	s.asked = asked;
	return s;
}
function refusedUnknown(t, r, what) {
	t.check(r.res && r.res.isError && code(r) === 'SSHMCP_ERR_HOSTKEY_UNKNOWN', `${what} → isError, SSHMCP_ERR_HOSTKEY_UNKNOWN`, show(r));
}

export const scenarios = [
	{ name: 'elicitation accept', timeout: 150, noServer: true, run: async (t, ctx) => {
		const s = await eliServer(ctx, () => ({ action: 'accept', content: { trust: true } }));
		const before = kh();
		const r = await ex(s, 'eli1', 'echo trusted');
		t.eq(s.asked.length, 1, 'an unknown host key → one elicitation/create', s.asked);
		const q = s.asked[0] || {};
		t.check(typeof q.message === 'string' && /SHA256:[A-Za-z0-9+/]{43}/.test(q.message),
			'the message shows the SHA256 fingerprint', q);
		t.check(typeof q.message === 'string' && q.message.includes(E.U1_PORT), 'the message names the host/port', q.message);
		const rs = q.requestedSchema || {};
		t.check(rs.type === 'object' && rs.properties && rs.properties.trust && rs.properties.trust.type === 'boolean',
			'requestedSchema is {type: object, properties: {trust: {type: boolean}}}', rs);
		t.check(r.sc.status === 'completed' && r.out === 'trusted\n', 'accept + trust:true → the command runs', show(r));
		const added = kh().slice(before.length);
		t.check(/\S/.test(added) && added.split('\n').filter(Boolean).length >= 1, 'the key is appended to known_hosts', J(added));
		const found = sh('ssh-keygen', ['-F', `[127.0.0.1]:${E.U1_PORT}`, '-f', KH]);
		t.check(found.length > 0, 'ssh-keygen -F finds [127.0.0.1]:port in the line written', J(added));
		const strict = sh('ssh', ['-F', E.SSH_CONFIG, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', 'eli1', 'echo', 'SSH-OK']);
		t.eq(strict.trim(), 'SSH-OK', 'OpenSSH (strict) accepts the recorded key');
		const r2 = await ex(s, 'eli1', 'echo again', { session: 'second' });
		t.check(r2.out === 'again\n' && s.asked.length === 1, 'a new session to the same host: not asked again (remembered)',
			`${s.asked.length} questions; ${show(r2)}`);
		await s.stop();
		const s2 = await eliServer(ctx, () => ({ action: 'decline' }));
		const r3 = await ex(s2, 'eli1', 'echo restart');
		t.check(r3.out === 'restart\n' && s2.asked.length === 0, 'a new server process: known now, not asked', show(r3));
		await s2.stop();
	} },

	{ name: 'elicitation refusals', timeout: 150, noServer: true, run: async (t, ctx) => {
		const cases = [['eli2', 'accept + trust:false', { action: 'accept', content: { trust: false } }],
			['eli3', 'decline', { action: 'decline' }], ['eli4', 'cancel', { action: 'cancel' }]];
		for (const [host, what, ans] of cases) {
			const s = await eliServer(ctx, () => ans);
			const before = kh();
			const r = await ex(s, host, 'echo never');
			t.eq(s.asked.length, 1, `${what}: asked once`, s.asked);
			refusedUnknown(t, r, what);
			t.check(r.out === '' && !/never/.test(J(r.res)), `${what}: the command did not run`, show(r));
			t.eq(kh(), before, `${what}: known_hosts unchanged`);
			const r2 = await ex(s, host, 'echo never2', { session: 'again' });
			t.check(s.asked.length === 2 && r2.res && r2.res.isError, `${what}: not remembered — asked again next time, refused again`,
				`${s.asked.length} questions; ${show(r2)}`);
			await s.stop();
		}
	} },

	{ name: 'no elicitation capability', timeout: 60, noServer: true, run: async (t, ctx) => {
		const s = await SdkServer.start({ capabilities: {} });
		ctx.servers.push(s);
		const before = kh();
		const t0 = Date.now();
		const r = await ex(s, 'eli5', 'echo never');
		const ms = Date.now() - t0;
		refusedUnknown(t, r, 'a client without elicitation');
		t.check(ms < 15000, `…at once (${ms} ms), not after waiting for an answer`, `${ms} ms`);
		t.match(J(r.res), /SHA256:/, 'the refusal shows the fingerprint', r.res);
		t.eq(kh(), before, 'known_hosts unchanged');
		await s.stop();
		// a client that declares elicitation but never answers: bounded (the server waits 120 s)
	} },

	{ name: 'tool-argument credentials', timeout: 120, run: async (t, { server: s }) => {
		let r = await ex(s, 'enc', 'whoami', { passphrase: E.T_PASSPHRASE });
		t.check(r.sc.status === 'completed' && r.out === `${E.T_USER}\n`, 'passphrase argument unlocks the encrypted key', show(r));
		r = await ex(s, 'enc', 'whoami', { passphrase: 'wrong passphrase', session: 'wrongpp' });
		t.check(r.res && r.res.isError && /^SSHMCP_ERR_AUTH/.test(code(r) || ''), 'a wrong passphrase → isError SSHMCP_ERR_AUTH…', show(r));
		t.check(!J(r.res).includes('wrong passphrase'), '…and the passphrase is not echoed back', show(r));
		if (E.KBD_OK !== '1') { t.skip('password over keyboard-interactive', 'no kbd-interactive sshd'); return; }
		r = await ex(s, 'kbdpw', 'whoami', { password: E.T_PASS });
		t.check(r.sc.status === 'completed' && r.out === `${E.T_USER}\n`, 'password argument answers keyboard-interactive', show(r));
		r = await ex(s, 'kbdpw', 'whoami', { password: 'not the password', session: 'badkbd' });
		t.check(r.res && r.res.isError && /^SSHMCP_ERR_AUTH/.test(code(r) || ''), 'wrong password over keyboard-interactive → SSHMCP_ERR_AUTH…', show(r));
		t.check(!J(r.res).includes('not the password'), '…not echoed back', show(r));
	} },
];
