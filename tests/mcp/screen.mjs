// tests/mcp/screen.mjs — scenarios for tests/53-screen-tools.sh: full-screen programs through
// `sshmcp serve` (issue 18, SPEC §4). execute_command of vi, top, less, whiptail and nano
// returns status "screen" with the session's screen; send_keys drives them with named keys and
// returns the screen once it settled or wait_for matched; read_screen reads it; when the
// program exits the same session's next command has its exact exit code. Screens are compared
// with tmux running the same program at the same size; a policy refuses them.
import { writeFileSync } from 'node:fs';
import { J, sleep, sh, SdkServer } from './client.mjs';

const HOST = process.env.MCP_HOST || 'h';
const FIX = process.env.MCP_FIX || '/tmp';
const SDIR = process.env.MCP_SDIR || '/tmp';           // a directory of the remote user's
const TAG = `${process.pid}`;
const show = (r) => r.err ? `protocol error: ${r.err}` : J(r.res, 1500);
const errCode = (r) => r.sc && r.sc.error && r.sc.error.code;

async function ex(s, command, extra = {}) {
	const r = await s.call('execute_command', { host: HOST, command, wait: 20, ...extra });
	r.out = typeof r.sc.output === 'string' ? r.sc.output : '';
	return r;
}
const keys = (s, id, extra) => s.call('send_keys', { command_id: id, ...extra }, { timeout: 30000 });
// quit(s, id, extra): send_keys that end the program; its screen may come back (quiet) before
// the shell's prompt does, so then the command's end is long-polled: {sc} of the final status
async function quit(s, id, extra) {
	const k = await keys(s, id, extra);
	let r = k;
	for (let i = 0; i < 100 && !r.err && !r.res.isError && ['screen', 'running'].includes(r.sc.status); i++) {
		await sleep(100);     // a screen status answers a long-poll at once: poll
		r = await s.call('get_command_status', { command_id: id }, { timeout: 30000 });
	}
	return r;
}
const rowsOf = (r) => (r.sc && (r.sc.screen ? r.sc.screen.rows : r.sc.rows)) || [];
const has = (r, re) => rowsOf(r).some((l) => re.test(l));

// tmux, the reference terminal: COMMAND at COLSxROWS, its screen once drawn (rows, trimmed)
async function tmuxScreen(name, cols, rows, command) {
	const sock = `sshmcp-53-${TAG}-${name}`;
	sh('tmux', ['-L', sock, '-f', '/dev/null', 'new-session', '-d', '-x', `${cols}`, '-y', `${rows}`,
		`env TERM=xterm-256color LANG=C.UTF-8 ${command}`]);
	await sleep(1500);
	const out = sh('tmux', ['-L', sock, 'capture-pane', '-p']);
	sh('tmux', ['-L', sock, 'kill-server']);
	const lines = out.replace(/\n$/, '').split('\n').map((l) => l.trimEnd());
	while (lines.length < rows) lines.push('');
	return lines.slice(0, rows);
}
function sameScreen(t, ours, ref, desc) {
	const a = ours.map((l) => l.trimEnd()), diff = [];
	for (let i = 0; i < Math.max(a.length, ref.length); i++)
		if ((a[i] ?? '') !== (ref[i] ?? '')) diff.push(`row ${i}: model ${J(a[i])} tmux ${J(ref[i])}`);
	t.check(diff.length === 0, desc, diff.slice(0, 6).join('\n'));
}

export const scenarios = [
	{ name: 'vi: insert, save, quit', timeout: 90, run: async (t, { server: s }) => {
		const f = `${SDIR}/vi-${TAG}.txt`;
		await ex(s, `printf 'one\\ntwo\\n' > ${f}`, { session: 'vi' });
		const cmd = `vim -u NONE -N -i NONE -n ${f}`;   // -n: no swap file, tmux opens it too
		const r = await ex(s, cmd, { session: 'vi', cols: 80, rows: 24, wait: 10 });
		t.eq(r.sc.status, 'screen', 'vi → status screen', r.sc);
		t.check(r.sc.screen && r.sc.screen.cols === 80 && r.sc.screen.lines === 24 && r.sc.screen.alternate === true,
			'the screen is 80x24, on the alternate screen', show(r));
		t.check(r.sc.output === '', 'no byte stream with a screen', J(r.sc.output));
		t.check(has(r, /^one$/) && has(r, /^two$/), 'the file shows', show(r));
		sameScreen(t, rowsOf(r), await tmuxScreen('vi', 80, 24, cmd), 'vi\'s first screen is tmux\'s, row by row');
		let k = await keys(s, r.sc.command_id, { keys: ['G', 'o'], wait_for: 'INSERT' });
		t.check(!k.res.isError && has(k, /-- INSERT --/), 'send_keys G o → insert mode (wait_for INSERT)', show(k));
		k = await keys(s, r.sc.command_id, { text: 'three', wait_for: '^three$' });
		t.check(!k.res.isError && has(k, /^three$/) && k.sc.status === 'screen', 'text "three" → shows, wait_for matched', show(k));
		t.check(k.sc.cursor && k.sc.cursor.row === 2 && k.sc.cursor.col === 5, 'the cursor is after "three" (row 2, col 5)', J(k.sc.cursor));
		k = await quit(s, r.sc.command_id, { keys: ['esc', ':', 'w', 'q', 'enter'] });
		t.check(!k.res.isError && k.sc.status === 'completed' && k.sc.exit_code === 0, 'esc :wq → completed, exit_code 0', show(k));
		const c = await ex(s, `cat ${f}`, { session: 'vi' });
		t.eq(c.out, 'one\ntwo\nthree\n', 'the file was saved with the new line', c.sc);
		const e = await ex(s, 'false', { session: 'vi' });
		t.check(e.sc.status === 'completed' && e.sc.exit_code === 1, 'then false on the same session → exit_code 1', show(e));
	} },

	{ name: 'top: visible, q quits', timeout: 60, run: async (t, { server: s }) => {
		const r = await ex(s, 'top', { session: 'top', wait: 10 });
		t.eq(r.sc.status, 'screen', 'top → status screen (no longer refused)', r.sc);
		t.check(has(r, /load average/) && has(r, /PID/), 'its screen shows the load and the process table', show(r));
		const rd = await s.call('read_screen', { host: HOST, session: 'top' });
		t.check(!rd.res.isError && rd.sc.command_id === undefined && has(rd, /load average/), 'read_screen by host+session', show(rd));
		const k = await quit(s, r.sc.command_id, { keys: ['q'] });
		t.check(k.sc.status === 'completed' && k.sc.exit_code === 0, 'q → completed, exit_code 0', show(k));
		const e = await ex(s, 'false', { session: 'top' });
		t.eq(e.sc.exit_code, 1, 'false afterwards → 1', e.sc);
	} },

	{ name: 'less: search', timeout: 60, run: async (t, { server: s }) => {
		const f = `${SDIR}/less-${TAG}.txt`;
		await ex(s, `seq 1 1000 > ${f}`, { session: 'less' });
		const cmd = `less ${f}`;
		const r = await ex(s, cmd, { session: 'less', cols: 80, rows: 24, wait: 10 });
		t.check(['screen', 'awaiting_input'].includes(r.sc.status), 'less → screen (or its ":" question)', show(r));
		const rd = await s.call('read_screen', { command_id: r.sc.command_id });
		t.check(has(rd, /^23$/) && rd.sc.changed === (r.sc.status !== 'screen'), 'read_screen: the first page; changed only if not yet read', show(rd));
		sameScreen(t, rowsOf(rd), await tmuxScreen('less', 80, 24, cmd), 'less\'s first page is tmux\'s, row by row');
		const again = await s.call('read_screen', { command_id: r.sc.command_id });
		t.eq(again.sc.changed, false, 'read again at once: changed false', again.sc);
		const k = await keys(s, r.sc.command_id, { text: '/777', keys: ['enter'], wait_for: '^778$' });
		t.check(rowsOf(k)[0] === '777' && has(k, /^778$/), 'search /777 → 777 at the top', show(k));
		const q = await quit(s, r.sc.command_id, { keys: ['q'] });
		t.check(q.sc.status === 'completed' && q.sc.exit_code === 0, 'q → completed, 0', show(q));
	} },

	{ name: 'whiptail menu with arrow keys', timeout: 60, run: async (t, { server: s }) => {
		const f = `${SDIR}/wt-${TAG}.txt`;
		const r = await ex(s, `whiptail --menu 'Pick one' 15 40 4 a Alpha b Beta c Gamma 2>${f}; echo "choice=$(cat ${f})"`,
			{ session: 'menu', cols: 80, rows: 24, wait: 10 });
		t.eq(r.sc.status, 'screen', 'whiptail → status screen', r.sc);
		t.check(has(r, /Pick one/) && has(r, /Gamma/), 'the menu shows', show(r));
		const k = await quit(s, r.sc.command_id, { keys: ['down', 'down', 'enter'] });
		t.check(k.sc.status === 'completed' && k.sc.exit_code === 0, 'down down enter → completed, 0', show(k));
		const st = await s.call('get_command_status', { command_id: r.sc.command_id, offset: 0 });
		t.check(/choice=c\n$/.test(st.sc.output || ''), 'the third entry was chosen (choice=c)', J(st.sc.output));
		const e = await ex(s, 'false', { session: 'menu' });
		t.eq(e.sc.exit_code, 1, 'false afterwards → 1', e.sc);
	} },

	{ name: 'nano: write and exit', timeout: 60, run: async (t, { server: s }) => {
		const f = `${SDIR}/nano-${TAG}.txt`;
		const r = await ex(s, `nano ${f}`, { session: 'nano', wait: 10 });
		t.eq(r.sc.status, 'screen', 'nano → status screen', r.sc);
		t.check(has(r, /GNU nano/), 'its title bar shows', show(r));
		let k = await keys(s, r.sc.command_id, { text: 'hello nano', keys: ['ctrl-o'], wait_for: 'File Name to Write' });
		t.check(has(k, /File Name to Write/), 'ctrl-o asks for the file name', show(k));
		k = await keys(s, r.sc.command_id, { keys: ['enter'], wait_for: 'Wrote 1 line' });
		t.check(has(k, /Wrote 1 line/), 'enter writes it', show(k));
		k = await quit(s, r.sc.command_id, { keys: ['ctrl-x'] });
		t.check(k.sc.status === 'completed' && k.sc.exit_code === 0, 'ctrl-x → completed, 0', show(k));
		const c = await ex(s, `cat ${f}`, { session: 'nano' });
		t.eq(c.out, 'hello nano\n', 'the file holds the text', c.sc);
	} },

	{ name: 'size and queries', timeout: 60, run: async (t, { server: s }) => {
		let r = await ex(s, 'stty size', { session: 'size', cols: 100, rows: 30 });
		t.eq(r.out, '30 100\n', 'cols 100 rows 30 → stty size 30 100', r.sc);
		r = await ex(s, 'stty size', { session: 'size', cols: 90, rows: 20 });
		t.eq(r.out, '20 90\n', 'a resize of a live session (window change) → 20 90', r.sc);
		const rd = await s.call('read_screen', { host: HOST, session: 'size' });
		t.check(rd.sc.cols === 90 && rd.sc.lines === 20 && rd.sc.rows.length === 20, 'read_screen has the new size', show(rd));
		t.check(!J(rd.res, Infinity).match(/__SSHMCP_[0-9a-f]{16}/), 'the prompt\'s nonce never shows on the screen', J(rd.sc.rows));
		// a cursor position report: the shell asks, the screen answers where the cursor is
		r = await ex(s, "printf '\\033[5;7H\\033[6n'; IFS= read -rs -t 3 -d R a; printf '\\n%s\\n' \"${a#??}\"", { session: 'size' });
		t.check(/\n5;7\n$/.test(r.out), 'ESC[6n at row 5 col 7 is answered 5;7', J(r.out));
		r = await ex(s, 'top', { session: 'stream', wait: 5 });
		t.eq(r.sc.status, 'screen', 'top is a screen', r.sc);
		await quit(s, r.sc.command_id, { keys: ['q'] });
		for (const cmd of ['tail -f /etc/hostname', 'ping 127.0.0.1']) {
			const x = await ex(s, cmd, { session: 'stream', wait: 5 });
			t.check(x.res.isError && /wait/.test(J(x.res)), `${cmd} keeps its streaming hint`, show(x));
		}
		const bad = await s.call('send_keys', { command_id: r.sc.command_id, keys: ['hyper-q'] });
		t.check(bad.res.isError && errCode(bad) === 'SSHMCP_ERR_USAGE', 'an unknown key name → usage error', show(bad));
	} },

	{ name: 'policy: no way around it', timeout: 60, noServer: true, run: async (t, ctx) => {
		const conf = `${FIX}/scr-policy.conf`;
		writeFileSync(conf, 'DenyCommand ^rm( |$)\n');
		const s = await SdkServer.start({ args: ['serve', '--config', conf] });
		ctx.servers.push(s);
		for (const cmd of ['vi /tmp/x', 'top', 'nano /tmp/x']) {
			const r = await ex(s, cmd, { session: 'pol', wait: 5 });
			t.check(r.res.isError, `under a policy ${cmd} is refused`, show(r));
		}
		const r = await ex(s, 'sleep 30', { session: 'pol', wait: 0 });
		const k = await keys(s, r.sc.command_id, { keys: ['ctrl-c'] });
		t.check(k.res.isError && errCode(k) === 'SSHMCP_ERR_POLICY', 'send_keys under a policy → SSHMCP_ERR_POLICY', show(k));
		await s.call('interrupt_command', { command_id: r.sc.command_id });
	} },
];
