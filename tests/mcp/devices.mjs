// tests/mcp/devices.mjs — scenarios for tests/51-devices.sh: an MCP client (the official SDK)
// works on fake network devices (tests/fakedev/, one sshd each) through `sshmcp serve`:
// execute_command with device_type (and without: detection), outputs equal to the emulator's
// --dump text, exit_code null, modes from the prompt, device errors as SSHMCP_ERR_DEVICE,
// pagers off or advanced, enable/super with enable_password, confirmations through send_input,
// `exit` closing the session, quirky devices, list_sessions, and secrets kept out of every
// result and the server log. Each platform has its own scenario and sessions.
//
// Environment (from 51-devices.sh): FAKEDEV (the emulator, for --dump), MCP_SERVER_LOG,
// IOS_PW ASA_PW EOS_PW VRP_PW HP_PW (the devices' enable passwords), MCP_LINUX_HOST (an alias
// of a plain sshd). Devices are the ssh_config aliases ios iosq asa junos junosq eos vrp ros hp
// pan (iosq, junosq: the quirky twins; ros waits 20 s for its cursor query's answer, ros1 1 s;
// far is ios behind a 200 ms round trip).
import { execFileSync } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import { J, sleep } from './client.mjs';

const env = process.env;
const FAKEDEV = env.FAKEDEV || '';
const PW = { ios: env.IOS_PW || 'Ios-En4ble-p9x', asa: env.ASA_PW || 'Asa-En4ble-p9x',
	eos: env.EOS_PW || 'Eos-En4ble-p9x', vrp: env.VRP_PW || 'Vrp-Sup3r-p9x', hp: env.HP_PW || 'Hp-En4ble-p9x' };
const WRONG_PW = 'Wr0ng-En4ble-p9x';   // never a device's: must not show anywhere either
const SECRETS = [...Object.values(PW), WRONG_PW];
const STATUSES = ['completed', 'running', 'awaiting_input', 'timeout', 'interrupted', 'failed'];
const BIG = 1048576;                      // max_bytes for the 5,000-line outputs
const LINUX = env.MCP_LINUX_HOST || '';   // a plain sshd, for the device_type "linux" checks
const ESC_RE = /\x1b\[[0-9;?]*[A-Za-z]/g;
// what a pager prints, on any of the platforms
const PAGER_RE = /--More--|<--- More --->|---\(more|---- More ----|-- \[Q quit|-- MORE --|^lines \d+-\d+/m;

// =================================================================== helpers ===
// dump(platform, output): the exact text the device prints (fakedev.py --dump), ANSI removed
const dumps = new Map();
function dump(platform, output) {
	const k = `${platform}/${output}`;
	if (!dumps.has(k)) {
		let text = null;
		if (FAKEDEV && existsSync(FAKEDEV)) {
			try {
				text = execFileSync('python3', [FAKEDEV, '--platform', platform, '--dump', output],
					{ encoding: 'utf8', timeout: 30000, maxBuffer: 8 << 20 }).replace(ESC_RE, '');
			} catch { text = null; }
		}
		dumps.set(k, text);
	}
	return dumps.get(k);
}
const show = (r) => r.err ? `protocol error: ${r.err}` : J(r.res, 1500);
const errCode = (r) => r.sc && r.sc.error && r.sc.error.code;
const errMsg = (r) => (r.sc && r.sc.error && typeof r.sc.error.message === 'string') ? r.sc.error.message : '';
const norm = (s) => String(s).replace(/\n+$/, '\n');   // equal "modulo a trailing newline"
function listOf(sc) {
	if (Array.isArray(sc)) return sc;
	for (const k of ['sessions', 'commands', 'items', 'results']) if (Array.isArray(sc && sc[k])) return sc[k];
	return null;
}

// same(t, got, want, desc, r): text equality (modulo trailing newlines); a failure names the
// first differing line and whether only trailing blanks or a pager differ
function same(t, got, want, desc, r) {
	if (want === null) return t.fail(desc, `no --dump text (FAKEDEV=${FAKEDEV})`);
	if (typeof got === 'string' && norm(got) === norm(want)) return t.ok(desc);
	got = typeof got === 'string' ? got : '';
	const g = got.split('\n'), w = want.split('\n');
	let i = 0;
	while (i < g.length && i < w.length && g[i] === w[i]) i++;
	const hints = [];
	if (g.map((l) => l.trimEnd()).join('\n').trimEnd() === w.map((l) => l.trimEnd()).join('\n').trimEnd()) hints.push('equal but for trailing blanks');
	if (PAGER_RE.test(got)) hints.push('a pager is in the output');
	if (got.includes('\r')) hints.push('CR in the output');
	if (/\x1b/.test(got)) hints.push('ESC in the output');
	const diff = [];
	for (let k = 0; k < Math.max(g.length, w.length); k++) if (g[k] !== w[k]) diff.push(k + 1);
	if (diff.length) hints.push(`${diff.length} lines differ: ${diff.slice(0, 12).join(' ')}${diff.length > 12 ? ' …' : ''}`);
	const sc = r && r.sc ? { ...r.sc, output: `(${got.length} chars)` } : {};
	return t.fail(desc, `${g.length} lines (${got.length} chars), want ${w.length} (${want.length} chars)` +
		(hints.length ? ` — ${hints.join(', ')}` : '') + `\nfirst difference at line ${i + 1}:\n got: ${J(g[i] ?? null, 300)}\n` +
		`want: ${J(w[i] ?? null, 300)}\n got before: ${J(g.slice(Math.max(0, i - 2), i).join('\n'), 300)}\nresult: ${J(r && r.err ? r.err : sc, 800)}`);
}

// dev(s, host, session, device_type): a device session; d.run(command, extra) → r with r.out
function dev(s, host, session, deviceType) {
	return {
		host, session,
		async run(command, extra = {}) {
			const args = { host, session, command, wait: 30, ...extra };
			if (deviceType && !('device_type' in extra)) args.device_type = deviceType;
			const r = await s.call('execute_command', args, { timeout: ((args.wait || 30) + 30) * 1000 });
			r.out = typeof r.sc.output === 'string' ? r.sc.output : '';
			return r;
		},
	};
}
// settle(s, id, secs): long-poll get_command_status until the command is not running; then
// its whole output from offset 0 (max_bytes 1 MiB) as r.out
async function settle(s, id, secs = 30) {
	const deadline = Date.now() + secs * 1000;
	let r;
	for (;;) {
		const left = Math.ceil((deadline - Date.now()) / 1000);
		r = await s.call('get_command_status', { command_id: id, wait: Math.max(1, Math.min(10, left)), max_bytes: 1 }, { timeout: 30000 });
		if (r.err || !r.res || r.sc.status !== 'running' || Date.now() >= deadline) break;
		if (r.ms < 200) await sleep(200);
	}
	if (r.err || !r.res) return { ...r, out: '' };
	const all = await s.call('get_command_status', { command_id: id, offset: 0, max_bytes: BIG }, { timeout: 30000 });
	if (all.err || !all.res) return { ...r, out: '' };
	all.out = typeof all.sc.output === 'string' ? all.sc.output : '';
	return all;
}
// answer(s, r, input): send_input to the command of r (awaiting_input), then its final state
async function answer(s, r, input) {
	const id = r.sc.command_id;
	const si = await s.call('send_input', { command_id: id, ...input }, { timeout: 30000 });
	if (si.err || !si.res || si.res.isError) return { ...si, out: '', sent: si };
	const f = await settle(s, id);
	f.sent = si;
	return f;
}

// checks shared by the platforms ---------------------------------------------------------
// done(t, r, desc, {out, mode, contains}): completed, exit_code null, not isError, and more
function done(t, r, desc, want = {}) {
	const good = !r.err && r.res && !r.res.isError && r.sc.status === 'completed' && r.sc.exit_code === null;
	if (!t.check(good, `${desc}: completed, exit_code null`, show(r))) return false;
	if ('out' in want) t.eq(norm(r.out), norm(want.out), `${desc}: output`, r.sc);
	if ('mode' in want) t.eq(r.sc.mode, want.mode, `${desc}: mode ${want.mode}`, r.sc);
	if ('contains' in want) t.contains(r.out, want.contains, `${desc}: output holds ${J(want.contains, 60)}`, r.sc);
	return true;
}
// rejected(t, r, desc, line): failed / isError / SSHMCP_ERR_DEVICE, message holds the device's line
function rejected(t, r, desc, line) {
	const good = !r.err && r.res && r.res.isError === true && r.sc.status === 'failed' && errCode(r) === 'SSHMCP_ERR_DEVICE';
	if (!t.check(good, `${desc} → failed, isError, SSHMCP_ERR_DEVICE`, show(r))) return false;
	t.contains(errMsg(r), line, `${desc}: the message holds the device's error line`, r.sc);
	t.check(r.sc.exit_code === null || r.sc.exit_code === undefined, `${desc}: exit_code null`, J(r.sc));
	return true;
}
// asks(t, r, desc, re): status awaiting_input, prompt the whole question line
function asks(t, r, desc, re) {
	const good = !r.err && r.res && !r.res.isError && r.sc.status === 'awaiting_input';
	if (!t.check(good, `${desc} → awaiting_input`, show(r))) return false;
	return t.match(r.sc.prompt, re, `${desc}: prompt is the question`, r.sc);
}
// authFail(t, r, desc): the enable password was wrong
function authFail(t, r, desc) {
	return t.check(!r.err && r.res && r.res.isError === true && errCode(r) === 'SSHMCP_ERR_AUTH',
		`${desc} → isError, SSHMCP_ERR_AUTH`, show(r));
}
// closes(t, r, desc): the device hung up: completed, exit_code null, session_closed
function closes(t, r, desc) {
	const good = !r.err && r.res && !r.res.isError && r.sc.status === 'completed' && r.sc.exit_code === null;
	t.check(good, `${desc} → completed, exit_code null`, show(r));
	t.eq(r.sc.session_closed, true, `${desc}: session_closed true`, r.sc);
}
// bigSame(t, d, cmd, platform, desc): a 5,000-line output equal to the dump, not truncated
async function bigSame(t, d, cmd, platform, desc, extra = {}, output = 'running_config') {
	const r = await d.run(cmd, { max_bytes: BIG, wait: 90, ...extra });
	if (!done(t, r, `${desc}: ${cmd}`)) return r;
	t.check(r.sc.truncated === false && r.sc.dropped_bytes === 0, `${desc}: not truncated`, J({ ...r.sc, output: undefined }));
	same(t, r.out, dump(platform, output), `${desc}: ${cmd} = --dump ${output}`, r);
	return r;
}

// ================================================================ scenarios ===
export const scenarios = [
	{ name: 'cisco_ios', timeout: 150, run: async (t, { server: s }) => {
		const d = dev(s, 'ios', 'ios', 'cisco_ios');
		let r = await d.run('show version');
		if (!done(t, r, 'login + show version', { mode: 'user' })) return;
		same(t, r.out, dump('cisco_ios', 'version'), 'show version = --dump version (no echo, prompt, MOTD, CR)', r);
		t.check(r.sc.prompt === null || r.sc.prompt === undefined, 'prompt null when not awaiting input', J(r.sc));
		t.check(r.sc.host === 'ios' && r.sc.session === 'ios' && typeof r.sc.command_id === 'string', 'host, session, command_id', J(r.sc));
		t.check(r.sc.offset === 0 && r.sc.next_offset === r.sc.total_bytes && r.sc.total_bytes === Buffer.byteLength(r.out),
			'offset 0, next_offset = total_bytes = the output\'s bytes', J({ ...r.sc, output: undefined }));
		rejected(t, await d.run('show bogus'), 'show bogus', "% Invalid input detected at '^' marker.");
		done(t, await d.run('show clock'), 'the session works after the error', { out: '*12:00:00.000 UTC Mon Mar 1 1993\n', mode: 'user' });
		rejected(t, await d.run('show'), 'show (incomplete)', '% Incomplete command.');
		// IOS ping sends 5 and stops: not the shell's endless ping
		done(t, await d.run('ping 192.0.2.1'), 'ping 192.0.2.1 (output in three bursts)',
			{ contains: '!!!!!\nSuccess rate is 100 percent (5/5), round-trip min/avg/max = 1/1/2 ms\n' });
		// enable typed by the agent, no enable_password known: the password prompt comes back
		r = await d.run('enable');
		if (asks(t, r, 'enable without an enable_password', /^Password: ?$/)) {
			const f = await answer(s, r, { text: PW.ios, secret: true });
			done(t, f, 'the password typed with send_input {secret}', { mode: 'privileged' });
		}
		done(t, await d.run('show privilege'), 'then', { out: 'Current privilege level is 15\n', mode: 'privileged' });
		await bigSame(t, d, 'show running-config', 'cisco_ios', 'pager off at login');
		done(t, await d.run('terminal length 24'), 'terminal length 24 (the pager back on)', { out: '' });
		await bigSame(t, d, 'show running-config', 'cisco_ios', 'pager on (--More-- every 23 lines)');
		r = await d.run('show interfaces', { max_bytes: BIG });
		if (done(t, r, 'show interfaces, paged')) same(t, r.out, dump('cisco_ios', 'interfaces'), 'show interfaces through the pager = --dump', r);
		done(t, await d.run('terminal length 0'), 'terminal length 0');
		// config mode and sub-modes
		done(t, await d.run('configure terminal'), 'configure terminal',
			{ mode: 'config', out: 'Enter configuration commands, one per line.  End with CNTL/Z.\n' });
		done(t, await d.run('interface GigabitEthernet0/1'), 'interface GigabitEthernet0/1', { mode: 'config-if', out: '' });
		done(t, await d.run('description uplink'), 'description in config-if', { mode: 'config-if', out: '' });
		done(t, await d.run('router ospf 1'), 'router ospf 1 (a config command from config-if)', { mode: 'config-router' });
		done(t, await d.run('line vty 0 4'), 'line vty 0 4', { mode: 'config-line' });
		rejected(t, await d.run('bogus-keyword 1'), 'an invalid line in config-line', '% Invalid input');
		done(t, await d.run('end'), 'end', { mode: 'privileged', out: '' });
		// several lines in one command: typed one by one, each waiting for the prompt
		r = await d.run('configure terminal\ninterface GigabitEthernet0/2\ndescription two lines\nend');
		done(t, r, 'four lines in one command (config, interface, description, end)', { mode: 'privileged' });
		r = await d.run('configure terminal\nbogus-keyword here\nhostname NEVER\nend');
		rejected(t, r, 'four lines, the second rejected', '% Invalid input');
		done(t, await d.run('end'), 'end after the stopped lines');
		done(t, await d.run('show running-config | include hostname'), 'the lines after the rejected one never ran',
			{ out: 'hostname R1\n', mode: 'privileged' });
		// confirmations: nothing is answered for the agent
		r = await d.run('copy running-config startup-config');
		if (asks(t, r, 'copy running-config startup-config', /^Destination filename \[startup-config\]\? ?$/)) {
			const f = await answer(s, r, { keys: ['enter'] });
			done(t, f, 'Enter takes the default', { contains: 'Building configuration...\n[OK]\n', mode: 'privileged' });
			t.notContains(f.out, 'R1#', 'no prompt in the answered command\'s output', f.sc);
		}
		r = await d.run('write erase');
		if (asks(t, r, 'write erase', /^Erasing the nvram filesystem will remove all configuration files! Continue\? \[confirm\]$/)) {
			const f = await answer(s, r, { keys: ['enter'] });
			done(t, f, 'Enter confirms', { contains: 'Erase of nvram: complete', mode: 'privileged' });
		}
		done(t, await d.run('configure terminal'), 'configure terminal again', { mode: 'config' });
		r = await d.run('crypto key generate rsa');
		if (asks(t, r, 'crypto key generate rsa', /^% Do you really want to replace them\? \[yes\/no\]: ?$/)) {
			const f = await answer(s, r, { text: 'no' });
			done(t, f, '"no" keeps the keys', { mode: 'config' });
		}
		done(t, await d.run('end'), 'end', { mode: 'privileged' });
		r = await d.run('exit');
		closes(t, r, 'exit in privileged mode');
		done(t, await d.run('show privilege'), 'the next call logs in again', { out: 'Current privilege level is 1\n', mode: 'user' });
		closes(t, await d.run('exit'), 'exit in user mode');
	} },

	{ name: 'cisco_ios enable_password', timeout: 60, run: async (t, { server: s }) => {
		const d = dev(s, 'ios', 'ios-en', 'cisco_ios');
		let r = await d.run('show privilege', { enable_password: WRONG_PW });
		authFail(t, r, 'a wrong enable_password');
		t.notContains(J(r.res, Infinity), WRONG_PW, 'the wrong password is not in the result', r.sc);
		done(t, await d.run('show privilege'), 'the session stays usable, in user mode', { out: 'Current privilege level is 1\n', mode: 'user' });
		r = await d.run('show privilege', { enable_password: PW.ios });
		done(t, r, 'the right enable_password: escalated before the command', { out: 'Current privilege level is 15\n', mode: 'privileged' });
		done(t, await d.run('show privilege'), 'the next command stays privileged',
			{ out: 'Current privilege level is 15\n', mode: 'privileged' });
		r = await dev(s, 'ios', 'ios-bad', null).run('show clock', { device_type: 'cisco_foo' });
		t.check(!r.err && r.res && r.res.isError && errCode(r) === 'SSHMCP_ERR_USAGE', 'device_type "cisco_foo" → SSHMCP_ERR_USAGE', show(r));
		const a = await s.call('execute_command_async', { host: 'ios', session: 'ios-async', device_type: 'cisco_ios',
			enable_password: PW.ios, command: 'show running-config' });
		if (t.check(!a.err && a.res && !a.res.isError && typeof a.sc.command_id === 'string', 'execute_command_async with device_type → a command_id', show(a))) {
			const f = await settle(s, a.sc.command_id, 60);
			done(t, f, 'async show running-config', { mode: 'privileged' });
			same(t, f.out, dump('cisco_ios', 'running_config'), 'its output from offset 0 = --dump running_config', f);
		}
	} },

	{ name: 'cisco_asa', timeout: 120, run: async (t, { server: s }) => {
		const d = dev(s, 'asa', 'asa', 'cisco_asa');
		let r = await d.run('show version');
		if (!done(t, r, 'login + show version', { mode: 'user' })) return;
		same(t, r.out, dump('cisco_asa', 'version'), 'show version = --dump version', r);
		rejected(t, await d.run('show bogus'), 'show bogus', "ERROR: % Invalid input detected at '^' marker.");
		done(t, await d.run('show clock'), 'the session works after the error', { out: '12:00:00.000 UTC Mon Mar 1 1993\n' });
		authFail(t, await d.run('show clock', { enable_password: WRONG_PW }), 'a wrong enable_password');
		done(t, await d.run('show clock'), 'the session stays usable, in user mode', { mode: 'user' });
		r = await bigSame(t, d, 'show running-config', 'cisco_asa', 'the right enable_password, pager off at login', { enable_password: PW.asa });
		t.eq(r.sc.mode, 'privileged', 'escalated: mode privileged', r.sc);
		done(t, await d.run('terminal pager 24'), 'terminal pager 24');
		await bigSame(t, d, 'show running-config', 'cisco_asa', 'pager on (<--- More --->)');
		done(t, await d.run('terminal pager 0'), 'terminal pager 0');
		done(t, await d.run('configure terminal'), 'configure terminal', { mode: 'config' });
		done(t, await d.run('interface GigabitEthernet1/1'), 'interface GigabitEthernet1/1', { mode: 'config-if' });
		done(t, await d.run('nameif outside'), 'nameif in the sub-mode', { mode: 'config-if', out: '' });
		done(t, await d.run('exit'), 'exit from config-if', { mode: 'config' });
		done(t, await d.run('end'), 'end', { mode: 'privileged' });
		r = await d.run('write erase');
		if (asks(t, r, 'write erase', /^Erase configuration in flash memory\? \[confirm\]$/)) done(t, await answer(s, r, { keys: ['enter'] }), 'Enter confirms', { contains: '[OK]' });
		r = await d.run('exit');
		closes(t, r, 'exit');
		t.contains(r.out, 'Logoff', 'the output says Logoff', r.sc);
	} },

	{ name: 'juniper_junos', timeout: 120, run: async (t, { server: s }) => {
		const d = dev(s, 'junos', 'junos', 'juniper_junos');
		let r = await d.run('show version');
		if (!done(t, r, 'login + show version', { mode: 'operational' })) return;
		same(t, r.out, dump('juniper_junos', 'version'), 'show version = --dump version', r);
		rejected(t, await d.run('bogus'), 'bogus', 'unknown command.');
		rejected(t, await d.run('show bogus'), 'show bogus', 'syntax error, expecting <command>: bogus');
		done(t, await d.run('show system uptime'), 'the session works after the errors', { contains: 'Current time: 1993-03-01 12:00:00 UTC' });
		done(t, await d.run('ping 192.0.2.1 count 1'), 'ping 192.0.2.1 count 1', { contains: '1 packets transmitted, 1 packets received' });
		await bigSame(t, d, 'show configuration', 'juniper_junos', 'pager off at login');
		done(t, await d.run('set cli screen-length 24'), 'set cli screen-length 24', { out: 'Screen length set to 24\n' });
		await bigSame(t, d, 'show configuration', 'juniper_junos', 'pager on (---(more NN%)---)');
		r = await d.run('show interfaces', { max_bytes: BIG });
		if (done(t, r, 'show interfaces, paged')) same(t, r.out, dump('juniper_junos', 'interfaces'), 'show interfaces through the pager = --dump', r);
		done(t, await d.run('set cli screen-length 0'), 'set cli screen-length 0');
		// "[edit ...]" before each config prompt belongs to the prompt, not the output.
		done(t, await d.run('configure'), 'configure', { mode: 'config', out: 'Entering configuration mode\n' });
		done(t, await d.run('edit interfaces ge-0/0/1'), 'edit interfaces ge-0/0/1', { mode: 'config', out: '' });
		r = await d.run('set description uplink');
		done(t, r, 'set at that level', { mode: 'config', out: '' });
		t.notContains(r.out, 'admin@R1', 'no prompt in the output', r.sc);
		rejected(t, await d.run('bogus'), 'bogus in configuration mode', 'unknown command.');
		done(t, await d.run('up'), 'up', { mode: 'config' });
		done(t, await d.run('up'), 'up again: [edit]', { mode: 'config' });
		r = await d.run('exit');
		if (asks(t, r, 'exit with uncommitted changes', /^Exit with uncommitted changes\? \[yes,no\] \(yes\) ?$/))
			done(t, await answer(s, r, { text: 'no' }), '"no" stays', { mode: 'config' });
		done(t, await d.run('commit'), 'commit', { contains: 'commit complete', mode: 'config' });
		done(t, await d.run('exit'), 'exit after commit', { mode: 'operational' });
		r = await d.run('request system reboot');
		if (asks(t, r, 'request system reboot', /^Reboot the system \? \[yes,no\] \(no\) ?$/))
			done(t, await answer(s, r, { keys: ['enter'] }), 'Enter takes the default (no)', { mode: 'operational' });
		closes(t, await d.run('exit'), 'exit in operational mode');
		// `top` is Junos' "to the top of the hierarchy" here, not the Linux full-screen one
		const e = dev(s, 'junos', 'junos-top', 'juniper_junos');
		done(t, await e.run('configure'), 'configure (another session)', { mode: 'config' });
		done(t, await e.run('edit interfaces ge-0/0/2'), 'edit interfaces ge-0/0/2', { mode: 'config' });
		if (done(t, await e.run('top'), 'top (Junos: back to [edit])', { mode: 'config' }))
			done(t, await e.run('exit'), 'exit from [edit], nothing changed', { mode: 'operational' });
		await s.call('close_session', { host: 'junos', session: 'junos-top' });
	} },

	{ name: 'arista_eos', timeout: 120, run: async (t, { server: s }) => {
		const d = dev(s, 'eos', 'eos', 'arista_eos');
		let r = await d.run('show version');
		if (!done(t, r, 'login + show version', { mode: 'user' })) return;
		same(t, r.out, dump('arista_eos', 'version'), 'show version = --dump version', r);
		rejected(t, await d.run('show bogus'), 'show bogus', '% Invalid input');
		rejected(t, await d.run('show'), 'show (incomplete)', '% Incomplete command');
		authFail(t, await d.run('show clock', { enable_password: WRONG_PW }), 'a wrong enable_password');
		done(t, await d.run('show clock'), 'the session stays usable, in user mode', { mode: 'user', contains: 'Timezone: UTC' });
		r = await bigSame(t, d, 'show running-config', 'arista_eos', 'the right enable_password, pager off at login', { enable_password: PW.eos });
		t.eq(r.sc.mode, 'privileged', 'escalated: mode privileged', r.sc);
		done(t, await d.run('terminal length 24'), 'terminal length 24', { out: 'Pagination set to 24 lines.\n' });
		await bigSame(t, d, 'show running-config', 'arista_eos', 'pager on (--More--)');
		done(t, await d.run('terminal length 0'), 'terminal length 0', { out: 'Pagination disabled.\n' });
		done(t, await d.run('configure terminal'), 'configure terminal', { mode: 'config' });
		done(t, await d.run('interface Ethernet1'), 'interface Ethernet1 (R1(config-if-Et1)#)', { mode: 'config-if' });
		done(t, await d.run('description uplink'), 'description', { mode: 'config-if', out: '' });
		done(t, await d.run('end'), 'end', { mode: 'privileged' });
		r = await d.run('write erase');
		if (asks(t, r, 'write erase', /^Proceed with erasing startup configuration\? \[confirm\]$/)) done(t, await answer(s, r, { keys: ['enter'] }), 'Enter confirms', { mode: 'privileged' });
		closes(t, await d.run('exit'), 'exit');
	} },

	{ name: 'huawei_vrp', timeout: 120, run: async (t, { server: s }) => {
		const d = dev(s, 'vrp', 'vrp', 'huawei_vrp');
		let r = await d.run('display version');
		if (!done(t, r, 'login + display version', { mode: 'user' })) return;
		same(t, r.out, dump('huawei_vrp', 'version'), 'display version = --dump version', r);
		rejected(t, await d.run('dis foo'), 'dis foo', "Error: Unrecognized command found at '^' position.");
		done(t, await d.run('display clock'), 'the session works after the error', { contains: '1993-03-01 12:00:00' });
		done(t, await d.run('system-view'), 'system-view ([R1])', { mode: 'config', contains: 'Enter system view' });
		done(t, await d.run('interface GigabitEthernet0/0/1'), 'interface GigabitEthernet0/0/1 ([R1-GigabitEthernet0/0/1])', { mode: 'config-sub', out: '' });
		done(t, await d.run('description uplink'), 'description', { mode: 'config-sub', out: '' });
		done(t, await d.run('quit'), 'quit', { mode: 'config' });
		done(t, await d.run('return'), 'return', { mode: 'user' });
		authFail(t, await d.run('display clock', { enable_password: WRONG_PW }), 'super with a wrong enable_password');
		done(t, await d.run('display clock'), 'the session stays usable, in user mode', { mode: 'user' });
		r = await bigSame(t, d, 'display current-configuration', 'huawei_vrp', 'super with the right one, pager off at login', { enable_password: PW.vrp });
		t.eq(r.sc.mode, 'privileged', 'after super: mode privileged (the prompt <R1> does not change)', r.sc);
		done(t, await d.run('screen-length 24 temporary'), 'screen-length 24 temporary');
		await bigSame(t, d, 'display current-configuration', 'huawei_vrp', 'pager on (---- More ----, ESC[42D erase)');
		done(t, await d.run('screen-length 0 temporary'), 'screen-length 0 temporary');
		r = await d.run('save');
		if (asks(t, r, 'save', /^Warning: The current configuration will be written to the device\. Continue\? \[Y\/N\]: ?$/))
			done(t, await answer(s, r, { text: 'y' }), '"y" saves', { contains: 'Info: Save the configuration successfully.' });
		closes(t, await d.run('quit'), 'quit in user view');
	} },

	{ name: 'mikrotik_routeros', timeout: 150, run: async (t, { server: s }) => {
		const d = dev(s, 'ros', 'ros', 'mikrotik_routeros');
		const t0 = Date.now();
		let r = await d.run('/system resource print');
		if (!done(t, r, 'login + /system resource print', { mode: 'operational' })) return;
		t.check(Date.now() - t0 < 10000, 'the cursor position query is answered: login does not wait out the device\'s 20 s', `${Date.now() - t0} ms`);
		same(t, r.out, dump('mikrotik_routeros', 'version'), '/system resource print = --dump version', r);
		rejected(t, await d.run('/foo'), '/foo', 'bad command name foo (line 1 column 2)');
		done(t, await d.run('/system identity print'), 'the session works after the error', { out: '  name: R1\n' });
		r = await d.run('/interface print', { max_bytes: BIG });
		if (done(t, r, '/interface print (33 lines, paged)'))
			same(t, r.out, dump('mikrotik_routeros', 'interfaces'), 'through the pager, colours gone = --dump interfaces', r);
		await bigSame(t, d, '/export', 'mikrotik_routeros', 'no pager-off command: pager on');
		await bigSame(t, d, '/export without-paging', 'mikrotik_routeros', 'without-paging');
		done(t, await d.run('/interface'), '/interface (a menu)', { mode: 'operational', out: '' });
		r = await d.run('print without-paging', { max_bytes: BIG });
		if (done(t, r, 'print relative to the menu')) same(t, r.out, dump('mikrotik_routeros', 'interfaces'), 'print in /interface = --dump interfaces', r);
		done(t, await d.run('..'), '.. goes up', { mode: 'operational' });
		r = await d.run('/system reboot');
		if (asks(t, r, '/system reboot', /^Reboot, yes\? \[y\/N\]: ?$/)) done(t, await answer(s, r, { keys: ['n'] }), '"n" cancels', { mode: 'operational' });
		closes(t, await d.run('/quit'), '/quit');
	} },

	{ name: 'hp_procurve', timeout: 90, run: async (t, { server: s }) => {
		const d = dev(s, 'hp', 'hp', 'hp_procurve');
		let r = await d.run('show version');
		if (!done(t, r, 'login past "Press any key to continue" + show version', { mode: 'user' })) return;
		t.eq(norm(r.out), 'Image stamp:    /ws/swbuildm/rel_ukiah_qaoff/code/build/lvm(swbuildm_rel_ukiah_qaoff_rel_ukiah)\n' +
			'                Mar 1 1993 12:00:00\n                WB.16.10.0009\n                2009\nBoot Image:     Primary\n\n' +
			'Boot ROM Version:    WB.16.03\nActive Boot ROM:     Primary\n', 'show version: the device\'s lines', r.sc);
		rejected(t, await d.run('show bogus'), 'show bogus', 'Invalid input: bogus');
		r = await bigSame(t, d, 'show running-config', 'hp_procurve', 'enable_password, pager off at login', { enable_password: PW.hp });
		t.eq(r.sc.mode, 'privileged', 'escalated: mode privileged', r.sc);
		done(t, await d.run('configure terminal'), 'configure terminal', { mode: 'config' });
		done(t, await d.run('end'), 'end', { mode: 'privileged' });
		r = await d.run('exit');
		if (asks(t, r, 'exit', /^Do you want to log out \[y\/n\]\? ?$/)) closes(t, await answer(s, r, { keys: ['y'] }), '"y" logs out');
	} },

	{ name: 'paloalto_panos', timeout: 90, run: async (t, { server: s }) => {
		const d = dev(s, 'pan', 'pan', 'paloalto_panos');
		let r = await d.run('show system info');
		if (!done(t, r, 'login + show system info', { mode: 'operational' })) return;
		t.eq(norm(r.out), '\nhostname: PA-VM\nip-address: 192.0.2.1\nmodel: PA-VM\nserial: FAKEDEV0001\nsw-version: 10.2.4\n',
			'show system info: the device\'s lines', r.sc);
		await bigSame(t, d, 'show config running', 'paloalto_panos', 'pager off at login');
		done(t, await d.run('set cli pager on'), 'set cli pager on');
		await bigSame(t, d, 'show config running', 'paloalto_panos', 'pager on (lines N-M)');
		done(t, await d.run('set cli pager off'), 'set cli pager off');
		done(t, await d.run('configure'), 'configure', { mode: 'config' });
		done(t, await d.run('exit'), 'exit', { mode: 'operational' });
		rejected(t, await d.run('bogus'), 'bogus', 'Unknown command: bogus');
		closes(t, await d.run('exit'), 'exit');
	} },

	{ name: 'detection', timeout: 120, run: async (t, { server: s }) => {
		// no device_type: the shell setup gets no answer, the prompt (and banner) tell the device
		const cases = [['ios', 'cisco_ios', 'show version', 'version', 'user'],
			['junos', 'juniper_junos', 'show version', 'version', 'operational'],
			['vrp', 'huawei_vrp', 'display version', 'version', 'user'],
			['ros1', 'mikrotik_routeros', '/system resource print', 'version', 'operational'],
			// this one waits 20 s for the answer to its cursor query: answered during detection too
			['ros', 'mikrotik_routeros', '/system resource print', 'version', 'operational'],
			['iosq', 'cisco_ios', 'show version', 'version', 'user'],
			['junosq', 'juniper_junos', 'show version', 'version', 'operational']];
		for (const [host, type, cmd, output, mode] of cases) {
			const d = dev(s, host, 'auto', null);
			const t0 = Date.now();
			const r = await d.run(cmd);
			const ms = Date.now() - t0, quirky = host.endsWith('q');
			t.note(`${host}: first call without device_type in ${ms} ms`);
			if (!done(t, r, `${host} without device_type: ${cmd}`, { mode })) continue;
			same(t, r.out, dump(type, output), `${host}: the output = --dump ${output}`, r);
			// the shell setup's silence, then ~1-2 s of detection; tiny delayed chunks take longer
			t.check(ms < (quirky ? 8000 : 6000), `${host}: login + detection + command < ${quirky ? 8 : 6} s`, `${ms} ms`);
		}
		const ls = await s.call('list_sessions', {});
		const list = listOf(ls.sc) || [];
		for (const [host, type] of cases) {
			const e = list.find((x) => x && x.host === host && x.session === 'auto');
			t.check(e && e.device_type === type, `list_sessions: ${host}/auto has device_type ${type}`, J(e || list, 800));
		}
		const r = await dev(s, 'ios', 'auto', null).run('show bogus');
		rejected(t, r, 'a detected device reports errors as a device', '% Invalid input');
	} },

	{ name: 'quirks', timeout: 120, run: async (t, { server: s }) => {
		// ANSI around the prompt, 1-40 byte writes 15 ms apart, MOTDs holding "R1#", "Router>", "admin@R1>"
		const i = dev(s, 'iosq', 'q', 'cisco_ios');
		let r = await i.run('show version');
		if (done(t, r, 'iosq: show version', { mode: 'user' })) same(t, r.out, dump('cisco_ios', 'version'), 'iosq: = --dump version', r);
		rejected(t, await i.run('show bogus'), 'iosq: show bogus', '% Invalid input');
		r = await i.run('show running-config', { enable_password: PW.ios, max_bytes: BIG, wait: 90 });
		if (done(t, r, 'iosq: enable + show running-config', { mode: 'privileged' }))
			same(t, r.out, dump('cisco_ios', 'running_config'), 'iosq: = --dump running_config', r);
		done(t, await i.run('configure terminal'), 'iosq: configure terminal', { mode: 'config' });
		done(t, await i.run('interface GigabitEthernet0/1'), 'iosq: interface', { mode: 'config-if', out: '' });
		done(t, await i.run('end'), 'iosq: end', { mode: 'privileged', out: '' });
		done(t, await i.run('show clock'), 'iosq: show clock', { out: '*12:00:00.000 UTC Mon Mar 1 1993\n' });
		const j = dev(s, 'junosq', 'q', 'juniper_junos');
		r = await j.run('show version');
		if (done(t, r, 'junosq: show version', { mode: 'operational' })) same(t, r.out, dump('juniper_junos', 'version'), 'junosq: = --dump version', r);
		rejected(t, await j.run('bogus'), 'junosq: bogus', 'unknown command.');
		await bigSame(t, j, 'show configuration', 'juniper_junos', 'junosq');
		done(t, await j.run('configure'), 'junosq: configure', { mode: 'config' });
		done(t, await j.run('exit'), 'junosq: exit', { mode: 'operational' });
	} },

	{ name: 'far link', timeout: 120, run: async (t, { server: s }) => {
		// IOS behind a ProxyCommand that holds every chunk 100 ms each way (RTT 200 ms): the prompt
		// already on screen when a line is typed is not the end of that line's command
		const clock = '*12:00:00.000 UTC Mon Mar 1 1993\n';
		const d = dev(s, 'far', 'far', 'cisco_ios');
		let r = await d.run('show clock', { wait: 60 });
		done(t, r, 'RTT 200 ms: login + show clock', { out: clock, mode: 'user' });
		r = await d.run('show version');
		if (done(t, r, 'show version')) same(t, r.out, dump('cisco_ios', 'version'), 'show version = --dump version', r);
		done(t, await d.run('show privilege\nshow clock'), 'two lines in one command', { out: `Current privilege level is 1\n${clock}` });
		rejected(t, await d.run('show bogus'), 'show bogus', '% Invalid input');
		done(t, await d.run('show clock'), 'the session works after the error', { out: clock });
		r = await d.run('show running-config', { enable_password: PW.ios, max_bytes: BIG, wait: 90 });
		if (done(t, r, 'enable_password + show running-config', { mode: 'privileged' }))
			same(t, r.out, dump('cisco_ios', 'running_config'), 'show running-config = --dump', r);
		done(t, await d.run('terminal length 24'), 'terminal length 24', { out: '' });
		r = await d.run('show interfaces', { max_bytes: BIG });
		if (done(t, r, 'show interfaces, 9 pages across the link'))
			same(t, r.out, dump('cisco_ios', 'interfaces'), 'show interfaces = --dump', r);
		done(t, await d.run('configure terminal'), 'configure terminal', { mode: 'config' });
		done(t, await d.run('end'), 'end', { mode: 'privileged', out: '' });
		r = await dev(s, 'far', 'far-auto', null).run('show clock', { wait: 60 });
		done(t, r, 'without device_type: detected across the link', { out: clock, mode: 'user' });
		closes(t, await d.run('exit'), 'exit');
		await s.call('close_session', { host: 'far', session: 'far-auto' });
	} },

	{ name: 'list_sessions', timeout: 90, run: async (t, { server: s }) => {
		const want = [['ios', 'cisco_ios', ['configure terminal'], 'config', { enable_password: PW.ios }],
			['junos', 'juniper_junos', ['configure'], 'config', {}],
			['vrp', 'huawei_vrp', ['system-view', 'interface GigabitEthernet0/0/2'], 'config-sub', {}],
			['ros', 'mikrotik_routeros', ['/system identity print'], 'operational', {}],
			['eos', 'arista_eos', ['show clock'], 'user', {}]];
		for (const [host, type, cmds, mode, extra] of want) {
			const d = dev(s, host, 'ls', type);
			let r;
			for (const [k, c] of cmds.entries()) r = await d.run(c, k === 0 ? extra : {});
			done(t, r, `${host}: ${cmds.join(', ')}`, { mode });
		}
		const ls = await s.call('list_sessions', {});
		const list = listOf(ls.sc);
		if (!t.check(list, 'list_sessions → a list', show(ls))) return;
		for (const [host, type, , mode] of want) {
			const e = list.find((x) => x && x.host === host && x.session === 'ls');
			t.check(e && e.device_type === type && e.mode === mode, `list_sessions: ${host}/ls has device_type ${type}, mode ${mode}`, J(e || list, 800));
		}
		// a Linux host beside them: still a shell, found without device_type or with "linux"
		if (LINUX) {
			const a = await s.call('execute_command', { host: LINUX, session: 'ls', command: 'echo shell-$((6*7))', wait: 20 });
			t.check(!a.err && a.sc.status === 'completed' && a.sc.exit_code === 0 && a.sc.output === 'shell-42\n' && a.sc.mode === 'shell',
				'a Linux host without device_type: a shell (exit_code 0, mode shell)', show(a));
			const b = await s.call('execute_command', { host: LINUX, session: 'ls-linux', device_type: 'linux', command: 'false', wait: 20 });
			t.check(!b.err && b.sc.status === 'completed' && b.sc.exit_code === 1, 'device_type "linux": a shell (false → exit_code 1)', show(b));
			const ls2 = await s.call('list_sessions', {});
			const e = (listOf(ls2.sc) || []).filter((x) => x && x.host === LINUX);
			t.check(e.length === 2 && e.every((x) => x.device_type === 'linux' && x.mode === 'shell'), 'list_sessions: device_type "linux", mode shell',
				J(e, 800));
			for (const session of ['ls', 'ls-linux']) await s.call('close_session', { host: LINUX, session });
		}
		for (const [host] of want) await s.call('close_session', { host, session: 'ls' });
	} },
];

// ============================================================ whole-run checks ===
export async function after(t, ctx) {
	const res = ctx.servers.flatMap((s) => s.results || []);
	const cmdTools = new Set(['execute_command', 'execute_command_async', 'get_command_status', 'send_input']);
	const shape = [], codes = [], cr = [], esc = [], pager = [], echo = [], prompts = [];
	const PROMPT_RE = /^(R1|asa|HP-2920-24G)(\([\w-]+\))?[>#] ?$|^(admin@(R1|PA-VM))[>#] ?$|^<R1>$|^\[R1(-[\w/]+)?\]$|^\[admin@R1\] [/\w ]*> ?$/m;
	for (const { tool, args, sc } of res) {
		if (!cmdTools.has(tool) || !sc || typeof sc !== 'object') continue;
		if (LINUX && args.host === LINUX) continue;
		const what = `${tool} ${J(args.command || args.command_id, 80)}`;
		if (typeof sc.command_id === 'string' && !STATUSES.includes(sc.status)) shape.push(`${what}: status ${J(sc.status)}`);
		if ('exit_code' in sc && sc.exit_code !== null) codes.push(`${what}: exit_code ${J(sc.exit_code)}`);
		if (typeof sc.output !== 'string') continue;
		if (sc.output.includes('\r')) cr.push(what);
		if (sc.output.includes('\x1b')) esc.push(what);
		if (PAGER_RE.test(sc.output)) pager.push(what);
		const m = PROMPT_RE.exec(sc.output);
		if (m) prompts.push(`${what}: ${J(m[0])}`);
		const first = String(args.command || '').split('\n')[0];
		if (first.length >= 2 && sc.output.split('\n')[0].trimEnd() === first) echo.push(what);
	}
	if (res.length === 0) { t.skip('device results', 'no results'); return; }
	t.check(shape.length === 0, `every command result has a known status (${res.length} results)`, shape.slice(0, 6).join('\n'));
	t.check(codes.length === 0, 'exit_code is null in every device result', codes.slice(0, 6).join('\n'));
	t.check(cr.length === 0, 'no output carries \\r', cr.slice(0, 6).join('\n'));
	t.check(esc.length === 0, 'no output carries ESC (ANSI)', esc.slice(0, 6).join('\n'));
	t.check(pager.length === 0, 'no output carries pager text', pager.slice(0, 6).join('\n'));
	t.check(prompts.length === 0, 'no output carries a prompt line', prompts.slice(0, 6).join('\n'));
	t.check(echo.length === 0, 'no output starts with the command\'s echo', echo.slice(0, 6).join('\n'));
	const leaks = [];
	for (const { tool, sc } of res) for (const x of SECRETS) if (J(sc, Infinity).includes(x)) leaks.push(`${tool}: ${x}`);
	t.check(leaks.length === 0, 'no enable password (right or wrong) in any result', leaks.slice(0, 6).join('\n'));
	const stderr = ctx.servers.map((s) => s.stderrAll || '').join('\n');
	let log = '';
	try { log = env.MCP_SERVER_LOG ? readFileSync(env.MCP_SERVER_LOG, 'utf8') : ''; } catch { /* none */ }
	const inLog = SECRETS.filter((x) => stderr.includes(x) || log.includes(x));
	t.check(inLog.length === 0, 'the server\'s log never shows an enable password', `found: ${inLog.join(', ')}`);
	const schema = ctx.servers.flatMap((s) => s.schemaViolations || []);
	t.check(schema.length === 0, 'every structuredContent matches its tool\'s outputSchema', schema.slice(0, 6).join('\n'));
	const terr = ctx.servers.flatMap((s) => s.transportErrors || []);
	t.check(terr.length === 0, 'the SDK saw only valid JSON-RPC on stdout', terr.slice(0, 6).join('\n'));
	t.check(!ctx.deaths, 'the server never died during the run', `${ctx.deaths} deaths`);
	const s = ctx.server;
	if (s && s.alive) {
		const t0 = Date.now();
		s.transport._process?.stdin?.end();
		const e = await s.waitExit(3000);
		t.check(e && e.code === 0, 'stdin EOF → exit 0 with device sessions open', e ? `${J(e)} after ${e.at - t0} ms` : 'still running');
	}
}
