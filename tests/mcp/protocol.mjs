// tests/mcp/protocol.mjs — scenarios for tests/20-mcp-protocol.sh: the wire, by hand.
// JSON-RPC lines go to `sshmcp serve` exactly as written here (no SDK in between), so
// malformed input, odd ids and huge lines reach the server as they are. SPEC §2.
import { RawServer, J, sleep, descendants } from './client.mjs';

export const mode = 'raw';
const HOST = process.env.MCP_HOST || 'h';
const MAIN_PID = Number(process.env.MAIN_PID || 0);

const TOOLS = {   // SPEC §2 "Tools": name → [required inputs, all inputs]
	execute_command: [['host', 'command'], ['host', 'command', 'username', 'port', 'password', 'key_filename',
		'passphrase', 'timeout', 'wait', 'session', 'sudo_password', 'enable_password', 'device_type',
		'max_bytes']],
	execute_command_async: [['host', 'command'], ['host', 'command', 'username', 'port', 'password', 'key_filename',
		'passphrase', 'timeout', 'session', 'sudo_password', 'enable_password', 'device_type',
		'max_bytes']],
	get_command_status: [['command_id'], ['command_id', 'offset', 'wait']],
	send_input: [['command_id'], ['command_id', 'text', 'keys', 'secret', 'newline']],
	interrupt_command: [['command_id'], ['command_id']],
	list_commands: [[], ['host', 'running_only']],
	list_sessions: [[], []],
	close_session: [['host'], ['host', 'session']],
	close_all_sessions: [[], []],
	read_file: [['host', 'path'], ['host', 'path', 'offset', 'length', 'sudo', 'sudo_password']],
	write_file: [['host', 'path', 'content'], ['host', 'path', 'content', 'encoding', 'mode', 'append', 'sudo',
		'sudo_password', 'create_dirs']],
	execute_on_hosts: [['hosts', 'command'], ['hosts', 'command', 'timeout', 'max_parallel']],
};
const KEYS = ['enter', 'space', 'tab', 'esc', 'ctrl-c', 'ctrl-d', 'q', 'y', 'n', 'up', 'down'];

const all = [];   // every server started, for the stdout checks at the end
function raw(args = ['serve']) { const s = new RawServer(args); all.push(s); return s; }
async function ready(t, args) {   // a server that answered initialize, or null (reported)
	const s = raw(args);
	const r = await s.initialize();
	if (!r || !r.result) { t.fail('server answers initialize', r ? J(r) : `no answer; stderr: ${s.stderrTail.slice(-800)}`); await s.stop(); return null; }
	return s;
}
const isErr = (r, code) => r && r.error && r.error.code === code;
const errDetail = (r, s) => r ? J(r) : `no response in time (alive: ${s.alive}, exit: ${J(s.exit)})`;
function childCount() { return MAIN_PID ? descendants(MAIN_PID).length : 0; }

export const scenarios = [
	{ name: 'initialize', timeout: 60, run: async (t) => {
		for (const [ask, want] of [['2025-11-25', '2025-11-25'], ['2025-06-18', '2025-06-18'],
			['2025-03-26', '2025-03-26'], ['1999-01-01', '2025-11-25']]) {
			const s = raw();
			const r = await s.initialize(ask);
			const res = r && r.result;
			t.eq(res && res.protocolVersion, want, `protocolVersion ${ask} → ${want}`, r || s.stderrTail.slice(-500));
			if (ask === '2025-11-25') {
				t.eq(r && r.id, 'init', 'the initialize response carries the request id', r);
				t.check(res && res.capabilities && typeof res.capabilities.tools === 'object', 'capabilities.tools declared', J(r));
				t.check(res && res.capabilities && typeof res.capabilities.logging === 'object', 'capabilities.logging declared', J(r));
				t.check(res && res.serverInfo && typeof res.serverInfo.name === 'string' && typeof res.serverInfo.version === 'string',
					'serverInfo has name and version', J(r));
			}
			await s.stop();
		}
		// plain `sshmcp` (no subcommand) is the server too
		const s = raw([]);
		const r = await s.initialize();
		t.check(r && r.result && r.result.protocolVersion, 'plain `sshmcp` (no subcommand) serves MCP on stdio', errDetail(r, s) + s.stderrTail.slice(-300));
		await s.stop();
	} },

	{ name: 'basics', timeout: 60, run: async (t) => {
		const s = await ready(t); if (!s) return;
		let r = await s.rpc({ jsonrpc: '2.0', id: 1, method: 'ping' });
		t.eq(r && r.result, {}, 'ping → {}', r);
		t.eq(r && r.jsonrpc, '2.0', 'responses carry jsonrpc "2.0"', r);
		r = await s.rpc({ jsonrpc: '2.0', id: 2, method: 'logging/setLevel', params: { level: 'debug' } });
		t.check(r && r.result && !r.error, 'logging/setLevel debug → a result', errDetail(r, s));
		// notifications get no answer: the next line is the ping's
		s.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
		s.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 424242, reason: 'test' } });
		s.send({ jsonrpc: '2.0', method: 'notifications/no-such-thing', params: {} });
		s.send({ jsonrpc: '2.0', method: 'no/such/method' });   // unknown method, but a notification
		s.send({ jsonrpc: '2.0', id: 'after', method: 'ping' });
		const m = await s.next(5000);
		t.eq(m && m.msg && m.msg.id, 'after', 'notifications (no id) get no response: the next line answers the ping', m && m.line);
		// ids come back with their type
		for (const id of ['7', 7, 0, 'abc-ü ✓', 1234567890123, -3]) {
			r = await s.rpc({ jsonrpc: '2.0', id, method: 'ping' });
			t.check(r && r.id === id, `id ${J(id)} (${typeof id}) echoed as the same ${typeof id}`, errDetail(r, s));
		}
		r = await s.rpc('{"jsonrpc":"2.0","id":"7","method":"ping"}');
		const m2 = s.lines.length ? s.lines[s.lines.length - 1].toString('utf8') : '';
		t.match(m2, /"id"\s*:\s*"7"/, 'id "7" is written as a JSON string on the wire');
		await s.stop();
	} },

	{ name: 'errors', timeout: 90, run: async (t) => {
		const s = await ready(t); if (!s) return;
		const cases = [
			['not json at all', -32700, 'garbage → -32700'],
			['{"jsonrpc":"2.0","id":1,', -32700, 'truncated JSON → -32700'],
			['{"jsonrpc":"2.0","id":1,"method":"ping",}', -32700, 'trailing comma → -32700'],
		];
		for (const [line, code, desc] of cases) {
			const r = await s.rpc(line);
			t.check(isErr(r, code) && r.id === null, `${desc}, id null`, errDetail(r, s));
		}
		const bad = [
			['[]', 'empty batch []'],
			['{"foo":1}', '{"foo":1}'],
			['"hello"', 'a JSON string'],
			['42', 'a JSON number'],
			['null', 'JSON null'],
			['{"jsonrpc":"2.0","id":{},"method":"ping"}', 'an object id'],
		];
		for (const [line, desc] of bad) {
			const r = await s.rpc(line);
			t.check(isErr(r, -32600) && r.id === null, `not a request: ${desc} → -32600, id null`, errDetail(r, s));
		}
		const badWithId = [
			['{"id":3,"method":"ping"}', 3, 'jsonrpc missing'],
			['{"jsonrpc":"1.0","id":4,"method":"ping"}', 4, 'jsonrpc "1.0"'],
			['{"jsonrpc":"2.0","id":5,"method":7}', 5, 'method not a string'],
		];
		for (const [line, id, desc] of badWithId) {
			const r = await s.rpc(line);
			t.check(isErr(r, -32600) && (r.id === id || r.id === null), `not a request: ${desc} → -32600`, errDetail(r, s));
		}
		let r = await s.rpc({ jsonrpc: '2.0', id: 9, method: 'no/such/method' });
		t.check(isErr(r, -32601) && r.id === 9, 'unknown method → -32601 with the id', errDetail(r, s));
		r = await s.rpc({ jsonrpc: '2.0', id: 10, method: 'tools/call', params: { name: 'no_such_tool', arguments: {} } });
		t.check(isErr(r, -32602) && r.id === 10, 'tools/call of an unknown tool → -32602', errDetail(r, s));
		r = await s.rpc({ jsonrpc: '2.0', id: 11, method: 'tools/call', params: {} });
		t.check(r && r.error && r.id === 11, 'tools/call without a name → an error', errDetail(r, s));
		// invalid UTF-8 inside a request line
		r = await s.rpc(Buffer.concat([Buffer.from('{"jsonrpc":"2.0","id":12,"method":"ping","params":{"x":"'),
			Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}}\n')]));
		t.check(r && r.error && (r.error.code === -32700 || r.error.code === -32600), 'invalid UTF-8 in a request → -32700/-32600', errDetail(r, s));
		r = await s.rpc({ jsonrpc: '2.0', id: 13, method: 'ping' });
		t.eq(r && r.result, {}, 'after invalid UTF-8 the server still answers', errDetail(r, s));
		// a 5 MB line (over the 4 MiB message limit), then the next line still works
		const pad = 'x'.repeat(5 * 1024 * 1024);
		s.send(`{"jsonrpc":"2.0","id":14,"method":"ping","params":{"pad":"${pad}"}}\n`);
		r = (await s.response(20000))?.msg;
		t.check(r && r.error && (r.error.code === -32600 || r.error.code === -32700) && (r.id === 14 || r.id === null),
			'a 5 MB line → -32600/-32700', errDetail(r, s));
		r = await s.rpc({ jsonrpc: '2.0', id: 15, method: 'ping' }, 10000);
		t.check(r && r.id === 15 && r.result, 'after the 5 MB line the next request is answered', errDetail(r, s));
		// 3 MB is under the limit: a normal request
		s.send(`{"jsonrpc":"2.0","id":16,"method":"ping","params":{"pad":"${'y'.repeat(3 * 1024 * 1024)}"}}\n`);
		r = (await s.response(20000))?.msg;
		t.check(r && r.id === 16 && r.result, 'a 3 MB request (under 4 MiB) is answered normally', errDetail(r, s));
		t.check(s.alive, 'the server is still running after all the bad input', J(s.exit) + s.stderrTail.slice(-500));
		await s.stop();
	} },

	{ name: 'tools/list', timeout: 30, run: async (t) => {
		const s = await ready(t); if (!s) return;
		const r = await s.rpc({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} });
		const tools = r && r.result && Array.isArray(r.result.tools) ? r.result.tools : null;
		if (!t.check(tools, 'tools/list returns a tools array', errDetail(r, s))) { await s.stop(); return; }
		const by = new Map(tools.map((x) => [x.name, x]));
		for (const [name, [req, inputs]] of Object.entries(TOOLS)) {
			const tool = by.get(name);
			if (!t.check(tool, `${name} is listed`, `tools: ${[...by.keys()].join(', ')}`)) continue;
			const is = tool.inputSchema || {}, os = tool.outputSchema;
			t.check(is.type === 'object' && typeof is.properties === 'object' || (is.type === 'object' && inputs.length === 0),
				`${name}: inputSchema is an object schema`, J(is));
			const missing = inputs.filter((k) => !(is.properties && k in is.properties));
			t.check(missing.length === 0, `${name}: inputSchema has every SPEC input`, `missing: ${missing.join(', ')}`);
			const reqMissing = req.filter((k) => !(Array.isArray(is.required) && is.required.includes(k)));
			const extraReq = (is.required || []).filter((k) => !req.includes(k));
			t.check(reqMissing.length === 0 && extraReq.length === 0, `${name}: required = ${J(req)}`, `required: ${J(is.required)}`);
			t.check(os && os.type === 'object', `${name}: outputSchema is an object schema`, J(os));
			t.check(tool.annotations && typeof tool.annotations === 'object', `${name}: annotations present`, J(tool));
			t.check(typeof tool.description === 'string' && tool.description.length > 0, `${name}: has a description`, J(tool));
		}
		const ro = (n) => by.get(n)?.annotations?.readOnlyHint;
		for (const n of ['list_sessions', 'list_commands', 'get_command_status', 'read_file'])
			t.eq(ro(n), true, `${n}: readOnlyHint true`);
		for (const n of ['execute_command', 'write_file', 'close_all_sessions'])
			t.check(ro(n) !== true, `${n}: not readOnlyHint`, J(by.get(n)?.annotations));
		const keys = by.get('send_input')?.inputSchema?.properties?.keys;
		const en = keys && keys.items && keys.items.enum;
		if (en) t.check(KEYS.every((k) => en.includes(k)), 'send_input keys enum has every SPEC key', `enum: ${J(en)}`);
		await s.stop();
	} },

	{ name: 'bad arguments', timeout: 60, run: async (t) => {
		const s = await ready(t); if (!s) return;
		const cases = [
			[{ host: HOST, command: 5 }, 'command: 5'],
			[{ command: 'true' }, 'host missing'],
			[{ host: HOST }, 'command missing'],
			[{ host: HOST, command: 'true', timeout: 'abc' }, 'timeout: "abc"'],
			[{ host: HOST, command: 'true', session: 7 }, 'session: 7'],
		];
		let id = 100;
		for (const [args, desc] of cases) {
			const r = await s.rpc({ jsonrpc: '2.0', id: ++id, method: 'tools/call', params: { name: 'execute_command', arguments: args } }, 30000);
			const res = r && r.result;
			const e = res && res.structuredContent && res.structuredContent.error;
			t.check(res && res.isError === true && e && /^SSHMCP_ERR_/.test(e.code) && typeof e.message === 'string',
				`execute_command ${desc} → isError, structuredContent.error.code SSHMCP_ERR_*`, errDetail(r, s));
			if (desc === 'command: 5') {
				const txt = res && Array.isArray(res.content) && res.content.find((c) => c.type === 'text');
				t.check(txt && txt.text.trim().length > 0 && !txt.text.trim().includes('\n'), 'the error text is one line', J(res));
			}
		}
		const r = await s.rpc({ jsonrpc: '2.0', id: 200, method: 'tools/call', params: { name: 'get_command_status', arguments: { command_id: 'no-such-command' } } });
		const e = r && r.result && r.result.structuredContent && r.result.structuredContent.error;
		t.check(r && r.result && r.result.isError === true && e && /^SSHMCP_ERR_/.test(e.code),
			'get_command_status of an unknown command_id → isError SSHMCP_ERR_*', errDetail(r, s));
		await s.stop();
	} },

	{ name: 'framing and concurrency', timeout: 60, run: async (t) => {
		const s = await ready(t); if (!s) return;
		// three requests in one write, one request split over two writes, a CRLF line ending
		s.send('{"jsonrpc":"2.0","id":"p1","method":"ping"}\n{"jsonrpc":"2.0","id":"p2","method":"ping"}\n{"jsonrpc":"2.0","id":"p3","method":"ping"}\n');
		const got = [];
		for (let i = 0; i < 3; i++) { const m = await s.response(5000); got.push(m && m.msg && m.msg.id); }
		t.eq(got, ['p1', 'p2', 'p3'], 'three requests in one write → three responses, in order');
		s.child.stdin.write('{"jsonrpc":"2.0","id":"sp","met');
		await sleep(300);
		s.child.stdin.write('hod":"ping"}\n');
		let r = (await s.response(5000))?.msg;
		t.check(r && r.id === 'sp' && r.result, 'a request split across writes is answered', errDetail(r, s));
		r = await s.rpc('{"jsonrpc":"2.0","id":"crlf","method":"ping"}\r\n');
		t.check(r && r.id === 'crlf' && r.result, 'a line ending in \\r\\n is answered (\\r is JSON whitespace)', errDetail(r, s));
		// a long tool call does not block other requests; progress uses the caller's token
		s.send({ jsonrpc: '2.0', id: 'long', method: 'tools/call', params: { name: 'execute_command', _meta: { progressToken: 'tok-1' },
			arguments: { host: HOST, command: 'for i in 1 2 3; do echo $i; sleep 1; done', session: 'conc', wait: 20 } } });
		await sleep(500);
		const t0 = Date.now();
		s.send({ jsonrpc: '2.0', id: 'during', method: 'ping' });
		const first = (await s.response(10000))?.msg;
		t.check(first && first.id === 'during' && Date.now() - t0 < 1500, 'ping during a running tool call is answered at once',
			`${errDetail(first, s)} after ${Date.now() - t0} ms`);
		const long = first && first.id === 'long' ? first : (await s.response(20000))?.msg;
		t.check(long && long.id === 'long' && long.result && long.result.structuredContent &&
			long.result.structuredContent.output === '1\n2\n3\n', 'the tool call completes afterwards', errDetail(long, s));
		const prog = (s.others || []).filter((m) => m.method === 'notifications/progress');
		t.check(prog.length > 0 && prog.every((m) => m.params && m.params.progressToken === 'tok-1' && typeof m.params.progress === 'number'),
			'progress notifications carry the string progressToken and a numeric progress', J(prog.slice(0, 3)));
		const nums = prog.map((m) => m.params.progress);
		t.check(nums.every((v, i) => i === 0 || v > nums[i - 1]), 'progress increases', J(nums));
		await s.stop();
	} },

	{ name: 'stdin EOF', timeout: 60, run: async (t) => {
		const before = childCount();
		const s = await ready(t); if (!s) return;
		const r = await s.rpc({ jsonrpc: '2.0', id: 1, method: 'tools/call',
			params: { name: 'execute_command', arguments: { host: HOST, command: 'echo eof-test', session: 'eof' } } }, 40000);
		const out = r?.result?.structuredContent?.output;
		t.contains(out, 'eof-test', 'a command runs before EOF (a session is open)', r);
		const during = childCount();
		const t0 = Date.now();
		s.closeStdin();
		const ex = await s.waitExit(2000);
		t.check(ex && ex.code === 0, 'stdin EOF → exit 0 within 2 s', ex ? J(ex) : 'still running after 2 s');
		if (!ex) s.kill('SIGKILL');
		if (MAIN_PID) {
			let now = childCount();
			for (let i = 0; i < 50 && now > before; i++) { await sleep(100); now = childCount(); }
			t.check(during > before && now <= before, 'its SSH session is closed (the sshd side goes away)',
				`sshd children before ${before}, during ${during}, after ${now}`);
		}
		t.note(`exit after EOF took ${ex ? ex.at - t0 : '>2000'} ms`);
	} },

	{ name: 'signals', timeout: 40, run: async (t) => {
		for (const [sig, code] of [['SIGTERM', 143], ['SIGINT', 130]]) {
			const s = await ready(t); if (!s) return;
			await s.rpc({ jsonrpc: '2.0', id: 1, method: 'tools/call',
				params: { name: 'execute_command', arguments: { host: HOST, command: 'true', session: 'sig' } } }, 40000);
			s.kill(sig);
			const ex = await s.waitExit(2000);
			t.check(ex, `${sig} → exits within 2 s`, 'still running after 2 s');
			t.check(ex && (ex.code === 0 || ex.code === code), `${sig} → a clean exit (status 0 or ${code}), not death by the signal`, J(ex));
			if (!ex) s.kill('SIGKILL');
		}
	} },
];

export async function after(t) {
	let bad = [], total = 0, badUtf8 = [];
	for (const s of all) {
		for (const l of s.lines) {
			total++;
			let m;
			try { m = JSON.parse(l.toString('utf8')); } catch { bad.push(l.toString('utf8').slice(0, 200)); continue; }
			if (!m || typeof m !== 'object' || m.jsonrpc !== '2.0') bad.push(l.toString('utf8').slice(0, 200));
		}
		if (s.badUtf8 !== null) badUtf8.push(s.badUtf8);
		if (s._buf && s._buf.length) bad.push(`unterminated: ${s._buf.toString('utf8').slice(0, 200)}`);
	}
	t.check(total > 0 && bad.length === 0, `stdout carries only JSON-RPC lines (${total} lines from ${all.length} servers)`, bad.slice(0, 5).join('\n'));
	t.check(badUtf8.length === 0, 'stdout is valid UTF-8', `invalid at byte ${badUtf8.join(', ')}`);
	for (const s of all) s.kill('SIGKILL');
}
