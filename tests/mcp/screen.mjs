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

// tmux, the reference terminal: COMMAND at COLSxROWS, its screen once drawn (rows, trimmed);
// READY (a regex over the whole pane), when given, is waited for (15 s at most) first
async function tmuxScreen(name, cols, rows, command, ready) {
	const sock = `sshmcp-53-${TAG}-${name}`;
	sh('tmux', ['-L', sock, '-f', '/dev/null', 'new-session', '-d', '-x', `${cols}`, '-y', `${rows}`,
		`env TERM=xterm-256color LANG=C.UTF-8 ${command}`]);
	await sleep(1500);
	for (let i = 0; ready && i < 50 && !ready.test(sh('tmux', ['-L', sock, 'capture-pane', '-p'])); i++)
		await sleep(300);
	const out = sh('tmux', ['-L', sock, 'capture-pane', '-p']);
	sh('tmux', ['-L', sock, 'kill-server']);
	const lines = out.replace(/\n$/, '').split('\n').map((l) => l.trimEnd());
	while (lines.length < rows) lines.push('');
	return lines.slice(0, rows);
}
// tmux running COMMAND at COLSxROWS, then its window resized to each [cols, rows] of SIZES
// in turn: the screen after each (rows, trimmed)
async function tmuxResized(name, cols, rows, command, sizes) {
	const sock = `sshmcp-53-${TAG}-${name}`, shots = [];
	sh('tmux', ['-L', sock, '-f', '/dev/null', 'new-session', '-d', '-x', `${cols}`, '-y', `${rows}`,
		`env TERM=xterm-256color LANG=C.UTF-8 ${command}`]);
	await sleep(1500);
	for (const [c, r] of sizes) {
		sh('tmux', ['-L', sock, 'resize-window', '-x', `${c}`, '-y', `${r}`]);
		await sleep(1000);
		const lines = sh('tmux', ['-L', sock, 'capture-pane', '-p']).replace(/\n$/, '').split('\n').map((l) => l.trimEnd());
		while (lines.length < r) lines.push('');
		shots.push(lines.slice(0, r));
	}
	sh('tmux', ['-L', sock, 'kill-server']);
	return shots;
}
// until the command is over (a running status answers a long-poll only when it moves)
async function settled(s, id) {
	let r = await s.call('get_command_status', { command_id: id, wait: 20 }, { timeout: 30000 });
	for (let i = 0; i < 100 && !r.err && ['screen', 'running'].includes(r.sc.status); i++) {
		await sleep(100);
		r = await s.call('get_command_status', { command_id: id, wait: 5 }, { timeout: 30000 });
	}
	return r;
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
		t.check(!k.res.isError && has(k, /-- INSERT --/) && k.sc.wait_for_matched === true, 'send_keys G o → insert mode (wait_for INSERT matched)', show(k));
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

	{ name: 'a program that resizes', timeout: 90, run: async (t, { server: s }) => {
		// less redraws on SIGWINCH: send_keys cols/rows resize the session's terminal mid-run
		const f = `${SDIR}/rs-${TAG}.txt`;
		await ex(s, `seq -f 'line %03g: resize me, the text should follow the window' 1 200 > ${f}`, { session: 'rs' });
		const cmd = `less ${f}`;
		const r = await ex(s, cmd, { session: 'rs', cols: 80, rows: 24, wait: 10 });
		t.eq(r.sc.status, 'screen', 'less at 80x24 → screen', r.sc);
		const ref = await tmuxResized('rs', 80, 24, cmd, [[60, 20], [100, 30]]);
		let k = await keys(s, r.sc.command_id, { cols: 60, rows: 20 });
		t.check(!k.res.isError && k.sc.cols === 60 && k.sc.lines === 20 && rowsOf(k).length === 20,
			'send_keys cols 60 rows 20 → the screen is 60x20', show(k));
		sameScreen(t, rowsOf(k), ref[0], 'less redrawn at 60x20 is tmux\'s resized the same way, row by row');
		k = await keys(s, r.sc.command_id, { cols: 100, rows: 30 });
		t.check(!k.res.isError && k.sc.cols === 100 && k.sc.lines === 30, 'then cols 100 rows 30 → 100x30', show(k));
		sameScreen(t, rowsOf(k), ref[1], 'less redrawn at 100x30 is tmux\'s, row by row');
		const q = await quit(s, r.sc.command_id, { keys: ['q'] });
		t.check(q.sc.status === 'completed' && q.sc.exit_code === 0, 'q → completed, 0', show(q));
		let e = await ex(s, 'stty size', { session: 'rs' });
		t.eq(e.out, '30 100\n', 'the session keeps the new size (stty size 30 100)', e.sc);
		// a program that asks the terminal to resize itself (xterm's CSI 8;rows;cols t): tmux
		// ignores it, and so does the session: the PTY and the screen keep their size
		const ask = "printf '\\033[8;30;100t'; stty size";
		e = await ex(s, ask, { session: 'winop', cols: 80, rows: 24 });
		const tm = (await tmuxScreen('winop', 80, 24, `sh -c "${ask.replace(/"/g, '\\"')}; sleep 5"`))[0];
		t.check(e.sc.status === 'completed' && e.out === `${tm}\n` && tm === '24 80',
			'CSI 8;30;100 t: the size stays 24 80, as in tmux', `ours ${J(e.out)} tmux ${J(tm)}`);
		const rd = await s.call('read_screen', { host: HOST, session: 'winop' });
		t.check(rd.sc.cols === 80 && rd.sc.lines === 24, 'read_screen: still 80x24', show(rd));
		// a program that reacts to SIGWINCH (a trap): it sees the new size; its exit code comes back
		// (its own process: the foreground process group gets SIGWINCH, not the shell; it says
		// "ready" once its trap is set, and the window changes only then)
		await ex(s, 'true', { session: 'winch', cols: 80, rows: 24 });
		const w = await ex(s, "bash -c 'trap \"echo winch \\$(stty size); exit 5\" WINCH; echo ready; while :; do sleep 0.1; done'",
			{ session: 'winch', wait: 1 });
		let ready = w;
		for (let i = 0; i < 100 && !/ready/.test(ready.sc.output || '') && ready.sc.status === 'running'; i++) {
			await sleep(100);
			ready = await s.call('get_command_status', { command_id: w.sc.command_id, offset: 0, wait: 0 });
		}
		t.check(ready.sc.status === 'running' && /ready/.test(ready.sc.output || ''), 'a SIGWINCH trap waits (running, ready)', show(ready));
		k = await keys(s, w.sc.command_id, { cols: 70, rows: 22, wait: 2 });
		t.check(!k.res.isError && k.sc.cols === 70 && k.sc.lines === 22, 'send_keys cols 70 rows 22 on a running command', show(k));
		const st = await settled(s, w.sc.command_id);
		t.check(st.sc.status === 'completed' && st.sc.exit_code === 5 && /^winch 22 70$/m.test(st.sc.output || ''),
			'SIGWINCH: it printed the new size (22 70) and exited 5', show(st));
		e = await ex(s, 'false', { session: 'winch' });
		t.eq(e.sc.exit_code, 1, 'false afterwards → 1', e.sc);
	} },

	{ name: 'htop: visible, q and F10 quit', timeout: 90, run: async (t, { server: s }) => {
		if (!sh('sh', ['-c', 'command -v htop'])) { t.check(true, 'htop: not installed # SKIP'); return; }
		const cmd = 'env LANG=C.UTF-8 htop -d 300';     // tmux's side runs in C.UTF-8 too
		const r = await ex(s, cmd, { session: 'htop', cols: 100, rows: 30, wait: 10 });
		t.eq(r.sc.status, 'screen', 'htop → status screen', r.sc);
		let rd = await s.call('read_screen', { command_id: r.sc.command_id });
		for (let i = 0; i < 50 && !(has(rd, /PID USER/) && has(rd, /F10Quit/)); i++) {    // drawn
			await sleep(300);
			rd = await s.call('read_screen', { command_id: r.sc.command_id });
		}
		const ours = rowsOf(rd), ref = await tmuxScreen('htop', 100, 30, cmd, /PID USER[^]*F10Quit/);
		const hdr = (rows) => rows.findIndex((l) => /^\s*PID USER/.test(l));
		t.check(hdr(ours) > 0 && ours.length === 30, 'its process table shows (the PID USER header)', show(rd));
		// meters and processes move; the table's header and the function key bar do not
		t.check(hdr(ours) === hdr(ref) && ours[hdr(ours)] === ref[hdr(ref)],
			'the header row is tmux\'s, at the same row', `model ${hdr(ours)} ${J(ours[hdr(ours)])}\ntmux ${hdr(ref)} ${J(ref[hdr(ref)])}`);
		t.eq(ours[29].trimEnd(), ref[29], 'the function key bar (last row) is tmux\'s', rd.sc);
		let k = await quit(s, r.sc.command_id, { keys: ['q'] });
		t.check(k.sc.status === 'completed' && k.sc.exit_code === 0, 'q → completed, exit_code 0', show(k));
		const r2 = await ex(s, cmd, { session: 'htop', wait: 10 });
		t.eq(r2.sc.status, 'screen', 'htop again → screen', r2.sc);
		k = await quit(s, r2.sc.command_id, { keys: ['f10'] });
		t.check(k.sc.status === 'completed' && k.sc.exit_code === 0, 'F10 → completed, exit_code 0', show(k));
		const e = await ex(s, '(exit 7)', { session: 'htop' });
		t.eq(e.sc.exit_code, 7, 'then (exit 7) on the same session → 7', e.sc);
	} },

	{ name: 'send_keys wait_for', timeout: 60, run: async (t, { server: s }) => {
		const f = `${SDIR}/wf-${TAG}.txt`;
		await ex(s, `seq 1 500 > ${f}`, { session: 'wf' });
		const r = await ex(s, `less ${f}`, { session: 'wf', cols: 80, rows: 24, wait: 10 });
		t.check(['screen', 'awaiting_input'].includes(r.sc.status), 'less → screen', show(r));
		let k = await keys(s, r.sc.command_id, { keys: ['space'], wait_for: '^46$' });
		t.check(!k.res.isError && k.sc.wait_for_matched === true && has(k, /^46$/), 'space, wait_for ^46$ → matched', show(k));
		const t0 = Date.now();
		k = await keys(s, r.sc.command_id, { keys: ['space'], wait_for: '^never-on-this-screen$', wait: 2 });
		t.check(!k.res.isError && k.sc.wait_for_matched === false && has(k, /^69$/) && k.sc.status === 'screen',
			'a wait_for that never matches → the screen after wait, wait_for_matched false', show(k));
		t.check(/wait_for did not match/.test(k.res.content[0].text), 'its text says wait_for did not match', show(k));
		t.check(Date.now() - t0 < 15000, 'answered once wait (2 s) was over, not at the call\'s timeout', `${Date.now() - t0} ms`);
		const bad = await keys(s, r.sc.command_id, { keys: ['g'], wait_for: 'a(b' });
		t.check(bad.res.isError && errCode(bad) === 'SSHMCP_ERR_USAGE' && /wait_for.*regular expression/.test(J(bad.res)),
			'an invalid ERE → usage error naming wait_for', show(bad));
		const rd = await s.call('read_screen', { command_id: r.sc.command_id });
		t.check(has(rd, /^69$/) && !has(rd, /^1$/), 'nothing was typed for it (g would go to the top)', show(rd));
		const q = await quit(s, r.sc.command_id, { keys: ['q'] });
		t.check(q.sc.status === 'completed' && q.sc.exit_code === 0, 'q → completed, 0', show(q));
	} },

	{ name: 'progress bars: output, not a screen', timeout: 90, run: async (t, { server: s }) => {
		// apt's fancy progress (apt-pkg/install-progress.cc, PackageManagerFancy; also apt-get
		// -o Dpkg::Progress-Fancy=1): Start → SetupTerminalScrollArea(rows): "\n" ESC 7
		// ESC[0;rows-1 r ESC 8 ESC[1A; each step DrawStatusLine: ESC 7 ESC[rows;0f ESC[42m
		// ESC[30m "Progress: [ 30%]" ESC[49m ESC[39m " [###...] " ESC 8; Stop →
		// SetupTerminalScrollArea(rows + 1) and ESC[J. dpkg's lines scroll above the bar.
		const apt = [
			'r=$(stty size | cut -d" " -f1)',
			"printf '\\n\\0337\\033[0;%dr\\0338\\033[1A' $((r - 1))",
			'for i in 1 2 3; do echo "Unpacking pkg$i (1.0) ..."; ' +
			"printf '\\0337\\033[%d;0f\\033[42m\\033[30mProgress: [%3d%%]\\033[49m\\033[39m [%s] \\0338' \"$r\" $((i * 30)) '###.......'; " +
			'sleep 0.5; echo "Setting up pkg$i (1.0) ..."; done',
			"printf '\\n\\0337\\033[0;%dr\\0338\\033[1A\\033[J' \"$r\"",
			'(exit 3)',
		].join('\n');
		let r = await ex(s, apt, { session: 'bar' });
		const lines = (r.out || '').split('\n').filter((l) => l !== '');
		t.check(r.sc.status === 'completed' && r.sc.exit_code === 3 && r.sc.screen === undefined,
			'apt\'s fancy progress → completed, exit_code 3, no screen', show(r));
		t.eq(lines.join('|'), [1, 2, 3].map((i) => `Unpacking pkg${i} (1.0) ...|Setting up pkg${i} (1.0) ...`).join('|'),
			'its output is dpkg\'s lines, in order, without the bar', r.sc);
		// progress on one line, repainted after CR: pip (rich's LiveRender: CR ESC[2K, then the
		// bar), wget (progress.c: "\r" and the bar image, "\n" at the end), curl (-#: "\r" and
		// the bar; its meter likewise)
		const cr = [
			"printf '\\033[?25l'; for p in 1 2 3; do printf '\\r\\033[2K   %s %d.0/3.0 MB' '━━━━━━━━' $p; sleep 0.3; done; printf '\\033[?25h\\n'",
			"echo 'Successfully installed pkg-1.0'",
			"for p in 10 50 100; do printf '\\rfile.tar.gz      %3d%%[=====>      ]  1.00M  --.-KB/s' $p; sleep 0.3; done; printf '\\n\\n'",
			"for p in 10 100; do printf '\\r%-20s %5.1f%%' '#####' $p; sleep 0.3; done; echo",
			'(exit 4)',
		].join('\n');
		r = await ex(s, cr, { session: 'bar' });
		t.check(r.sc.status === 'completed' && r.sc.exit_code === 4, 'pip, wget and curl style bars → completed, exit_code 4', show(r));
		t.eq(r.out, '   ━━━━━━━━ 3.0/3.0 MB\nSuccessfully installed pkg-1.0\nfile.tar.gz      100%[=====>      ]  1.00M  --.-KB/s\n\n' +
			'#####                100.0%\n', 'each bar leaves its last state, one line', r.sc);
		r = await ex(s, "printf 'abcdef\\rXY\\n'; printf 'h\\303\\251h\\303\\251\\rab\\n'", { session: 'bar' });
		t.eq(r.out, 'XYcdef\nabh\u00e9\n', 'CR overwrites as a terminal does (a character it cuts goes whole)', r.sc);
		// full-screen programs still are
		r = await ex(s, 'top -d 30', { session: 'bar', wait: 5 });
		t.eq(r.sc.status, 'screen', 'top is still a screen', r.sc);
		await quit(s, r.sc.command_id, { keys: ['q'] });
		r = await ex(s, "printf '\\0337\\033[1;1Hsaved, never restored\\033[5;1Hrow 5\\033[6;1Hrow 6'; sleep 1", { session: 'bar', wait: 5 });
		t.eq(r.sc.status, 'screen', 'cursor addressing after a save never restored → screen', r.sc);
		await settled(s, r.sc.command_id);
		const e = await ex(s, 'false', { session: 'bar' });
		t.eq(e.sc.exit_code, 1, 'false afterwards → 1', e.sc);
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
