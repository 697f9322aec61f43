// tests/mcp/client.mjs — the MCP test driver for `sshmcp serve`.
//
//   node tests/mcp/client.mjs SCENARIOS.mjs
//
// SCENARIOS.mjs exports `scenarios = [{ name, timeout (s), run: async (t, ctx) => ... }]` and
// optionally `mode = 'raw'` (JSON lines by hand, no SDK) or `'sdk'` (default: the official
// @modelcontextprotocol/sdk Client over StdioClientTransport), and `after(t, ctx)` for checks
// over the whole run. Each scenario runs on its own clock; one that throws or overruns is one
// `not ok` and the next scenario still runs (on a fresh server if the old one died).
//
// Output is TAP-like, for tests/mcp/tap.sh to count with lib.sh's ok/fail:
//   ok - DESC            not ok - DESC          #   detail lines of the failure above
//   ok - DESC # SKIP WHY                        # driver done P F   (the last line)
//
// Environment: SSHMCP (binary), MCP_SDK (npm prefix holding node_modules/@modelcontextprotocol/sdk,
// default build/npm), MCP_ONLY (regex: run only matching scenarios), MCP_TRACE=1 (raw traffic on
// stderr), plus whatever the scenario file reads (MCP_HOST, MAIN_PID, ...). The server's stderr
// goes to $MCP_SERVER_LOG (default: dropped after keeping a tail for failure details).
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, readFileSync, appendFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '..', '..');
export const SSHMCP = process.env.SSHMCP || path.join(REPO, 'sshmcp');
const TRACE = process.env.MCP_TRACE === '1';

// ============================================================== small utilities ===
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const J = (x, n = 1500) => {
	let s;
	try { s = typeof x === 'string' ? x : JSON.stringify(x); } catch { s = String(x); }
	if (s === undefined) s = String(s);
	return s.length > n ? s.slice(0, n) + `… (${s.length} chars)` : s;
};
// withTimeout(promise, ms, what): rejects after ms
export function withTimeout(p, ms, what) {
	let timer;
	return Promise.race([
		p,
		new Promise((_, rej) => { timer = setTimeout(() => rej(new Error(`${what}: no answer in ${ms} ms`)), ms); }),
	]).finally(() => clearTimeout(timer));
}
// sh(cmd, args): run a local helper (pgrep, kill, ps); stdout as a string, '' on failure
export function sh(cmd, args, opts = {}) {
	try {
		return execFileSync(cmd, args, { encoding: 'utf8', timeout: 10000, stdio: ['ignore', 'pipe', 'ignore'], ...opts });
	} catch (e) {
		return typeof e.stdout === 'string' ? e.stdout : '';
	}
}
export function rssKb(pid) {   // VmRSS of a live process, in kB; null if gone
	try {
		const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
		return m ? Number(m[1]) : null;
	} catch { return null; }
}
// descendants(pid): every live process below pid, as [{pid, ppid, user, args}]
export function descendants(pid) {
	const rows = sh('ps', ['-eo', 'pid=,ppid=,user:32=,args=']).split('\n').filter(Boolean).map((l) => {
		const m = /^\s*(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/.exec(l);
		return m && { pid: +m[1], ppid: +m[2], user: m[3], args: m[4] };
	}).filter(Boolean);
	const out = [], seen = new Set([pid]);
	let grew = true;
	while (grew) {
		grew = false;
		for (const r of rows) if (seen.has(r.ppid) && !seen.has(r.pid)) { seen.add(r.pid); out.push(r); grew = true; }
	}
	return out;
}
export function ppidOf(pid) {
	try { return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\)\s+\S+\s+/, '').split(' ')[0]); }
	catch { return null; }
}

// ===================================================================== TAP output ===
export class Tap {
	constructor() { this.passed = 0; this.failed = 0; this.prefix = ''; }
	_desc(d) { return (this.prefix ? this.prefix + ': ' : '') + String(d).replace(/\n/g, ' '); }
	ok(desc) { this.passed++; console.log(`ok - ${this._desc(desc)}`); return true; }
	skip(desc, why) { this.passed++; console.log(`ok - ${this._desc(desc)} # SKIP ${why}`); return true; }
	fail(desc, detail) {
		this.failed++;
		console.log(`not ok - ${this._desc(desc)}`);
		if (detail !== undefined && detail !== '') {
			const text = typeof detail === 'string' ? detail : J(detail, 3000);
			for (const l of text.split('\n').slice(0, 40)) console.log('#   ' + l.slice(0, 400));
		}
		return false;
	}
	note(msg) { for (const l of String(msg).split('\n')) console.log('# ' + l); }
	// scope(prefix): a view that counts into this Tap under a fixed prefix; after close(), a
	// scenario that overran its time can no longer report (its late results become notes)
	scope(prefix) {
		const root = this, v = Object.create(this);
		v.prefix = prefix;
		v.closed = false;
		for (const k of ['ok', 'skip', 'fail']) {
			v[k] = function (...a) {
				if (v.closed) { root.note(`(late, after the scenario's time ran out) ${k}: ${prefix}: ${a[0]}`); return k !== 'fail'; }
				const saved = root.prefix; root.prefix = prefix;
				try { return Tap.prototype[k].apply(root, a); } finally { root.prefix = saved; }
			};
		}
		v.close = () => { v.closed = true; };
		return v;
	}
	check(cond, desc, detail) { return cond ? this.ok(desc) : this.fail(desc, typeof detail === 'function' ? detail() : detail); }
	eq(got, want, desc, ctx) {
		const same = typeof want === 'object' ? J(got) === J(want) : got === want;
		return this.check(same, desc, () => `got:  ${J(got, 600)}\nwant: ${J(want, 600)}` + (ctx !== undefined ? `\nin: ${J(ctx)}` : ''));
	}
	match(got, re, desc, ctx) {
		return this.check(typeof got === 'string' && re.test(got), desc,
			() => `got:  ${J(got, 800)}\nwant: ${re}` + (ctx !== undefined ? `\nin: ${J(ctx)}` : ''));
	}
	contains(hay, needle, desc, ctx) {
		return this.check(typeof hay === 'string' && hay.includes(needle), desc,
			() => `missing: ${J(needle, 200)}\nin: ${J(hay)}` + (ctx !== undefined ? `\nresult: ${J(ctx)}` : ''));
	}
	notContains(hay, needle, desc, ctx) {
		const s = typeof hay === 'string' ? hay : J(hay, Infinity);
		const i = s.indexOf(needle);
		return this.check(i < 0, desc, () => `unexpected: ${J(needle, 200)}\nnear: ${J(s.slice(Math.max(0, i - 300), i + 300))}` +
			(ctx !== undefined ? `\nresult: ${J(ctx)}` : ''));
	}
}

// ===================================================================== the SDK ===
// loadSdk(): the SDK from $MCP_SDK (an npm --prefix dir), its ESM build by file URL; the CJS
// build through createRequire if the ESM files are not where this version put them.
let sdkCache;
export async function loadSdk() {
	if (sdkCache) return sdkCache;
	const roots = [process.env.MCP_SDK, path.join(REPO, 'build', 'npm'), HERE].filter(Boolean);
	const errs = [];
	for (const root of roots) {
		const base = path.join(path.resolve(root), 'node_modules', '@modelcontextprotocol', 'sdk');
		const pj = path.join(base, 'package.json');
		if (!existsSync(pj)) { errs.push(`${base}: not installed`); continue; }
		const version = JSON.parse(readFileSync(pj, 'utf8')).version;
		try {
			const imp = (p) => import(pathToFileURL(path.join(base, 'dist', 'esm', p)).href);
			const [c, s, ty, v] = await Promise.all([imp('client/index.js'), imp('client/stdio.js'),
				imp('types.js'), imp('validation/ajv-provider.js')]);
			return (sdkCache = { Client: c.Client, StdioClientTransport: s.StdioClientTransport, types: ty,
				Validator: v.AjvJsonSchemaValidator, version, base });
		} catch (e) { errs.push(`${base} (esm): ${e.message}`); }
		try {
			const req = createRequire(pj);
			const c = req('@modelcontextprotocol/sdk/client/index.js');
			const s = req('@modelcontextprotocol/sdk/client/stdio.js');
			const ty = req('@modelcontextprotocol/sdk/types.js');
			let V = null;
			try { V = req('@modelcontextprotocol/sdk/validation/ajv').AjvJsonSchemaValidator; } catch { /* old SDK */ }
			return (sdkCache = { Client: c.Client, StdioClientTransport: s.StdioClientTransport, types: ty,
				Validator: V, version, base });
		} catch (e) { errs.push(`${base} (cjs): ${e.message}`); }
	}
	throw new Error('cannot load @modelcontextprotocol/sdk:\n' + errs.join('\n'));
}

// ============================================================ one server process ===
// Bookkeeping shared by both kinds of server: stderr tail and log, stdout UTF-8 validity,
// exit status and time.
class Proc {
	constructor() {
		this.stderrTail = '';
		this.exit = null;            // {code, signal, at}
		this.exited = new Promise((r) => { this._exitResolve = r; });
		this.badUtf8 = null;         // first offset of invalid UTF-8 on stdout
		this.stdoutBytes = 0;
		this._dec = new TextDecoder('utf-8', { fatal: true });
	}
	attach(child) {
		this.child = child;
		this.pid = child.pid;
		child.on('exit', (code, signal) => {
			this.exit = { code, signal, at: Date.now() };
			this._exitResolve(this.exit);
		});
		child.stdout.on('data', (b) => {
			if (this.badUtf8 === null) {
				try { this._dec.decode(b, { stream: true }); } catch { this.badUtf8 = this.stdoutBytes; }
			}
			this.stdoutBytes += b.length;
			if (TRACE) process.stderr.write(`<<< ${J(b.toString('utf8'), 400)}\n`);
		});
		(globalThis.__mcpServers ||= []).push(this);
	}
	captureStderr(stream) {
		stream?.on('data', (b) => {
			this.stderrTail = (this.stderrTail + b.toString('utf8')).slice(-65536);
			this.stderrAll = ((this.stderrAll || '') + b.toString('utf8')).slice(-4 * 1024 * 1024);
			if (process.env.MCP_SERVER_LOG) { try { appendFileSync(process.env.MCP_SERVER_LOG, b); } catch { /* ignore */ } }
		});
	}
	get alive() { return this.exit === null && this.child && this.child.exitCode === null && this.child.signalCode === null; }
	async waitExit(ms) {
		return await Promise.race([this.exited, sleep(ms).then(() => null)]);
	}
	kill(sig = 'SIGKILL') { if (this.alive) { try { this.child.kill(sig); } catch { /* gone */ } } }
}

// RawServer: `sshmcp serve` fed JSON lines by hand.
export class RawServer extends Proc {
	constructor(args = ['serve'], env = {}) {
		super();
		this.lines = [];             // every stdout line, as a Buffer
		this.queue = [];             // parsed lines not yet consumed: {line, msg, err}
		this._waiters = [];
		this._buf = Buffer.alloc(0);
		const child = spawn(SSHMCP, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
		child.stdin.on('error', () => { /* EPIPE after exit: the test sees the exit */ });
		this.attach(child);
		this.captureStderr(child.stderr);
		child.stdout.on('data', (b) => {
			this._buf = Buffer.concat([this._buf, b]);
			let i;
			while ((i = this._buf.indexOf(10)) >= 0) {
				const line = this._buf.subarray(0, i);
				this._buf = this._buf.subarray(i + 1);
				this.lines.push(line);
				let msg, err = null;
				try { msg = JSON.parse(line.toString('utf8')); } catch (e) { err = e.message; }
				this.queue.push({ line: line.toString('utf8'), msg, err });
				this._wake();
			}
		});
		child.on('exit', () => this._wake());
	}
	_wake() { const w = this._waiters; this._waiters = []; for (const f of w) f(); }
	send(data) {
		const b = Buffer.isBuffer(data) ? data : Buffer.from(typeof data === 'string' ? data : JSON.stringify(data));
		if (TRACE) process.stderr.write(`>>> ${J(b.toString('utf8'), 400)}\n`);
		if (!this.alive) return false;
		try {
			this.child.stdin.write(b);
			if (b[b.length - 1] !== 10) this.child.stdin.write('\n');
		} catch { return false; }
		return true;
	}
	// next(ms): the next stdout message {line, msg, err}; null on timeout or exit
	async next(ms = 5000) {
		const deadline = Date.now() + ms;
		for (;;) {
			if (this.queue.length) return this.queue.shift();
			if (!this.alive) return null;
			const left = deadline - Date.now();
			if (left <= 0) return null;
			await new Promise((r) => { this._waiters.push(r); setTimeout(r, left); });
		}
	}
	// response(ms): the next message that is a response (has result or error), skipping
	// server notifications and requests; null on timeout
	async response(ms = 5000) {
		const deadline = Date.now() + ms;
		for (;;) {
			const m = await this.next(deadline - Date.now());
			if (!m) return null;
			if (m.err || !m.msg || typeof m.msg !== 'object' || Array.isArray(m.msg)) return m;
			if ('result' in m.msg || 'error' in m.msg) return m;
			(this.others ||= []).push(m.msg);
		}
	}
	async rpc(obj, ms = 10000) { this.send(obj); const m = await this.response(ms); return m ? m.msg : null; }
	async initialize(version = '2025-11-25', capabilities = {}) {
		const r = await this.rpc({ jsonrpc: '2.0', id: 'init', method: 'initialize',
			params: { protocolVersion: version, capabilities, clientInfo: { name: 'sshmcp-tests', version: '1' } } });
		this.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
		return r;
	}
	closeStdin() { try { this.child.stdin.end(); } catch { /* gone */ } }
	async stop() {
		this.closeStdin();
		if (!(await this.waitExit(3000))) { this.kill('SIGTERM'); if (!(await this.waitExit(2000))) this.kill('SIGKILL'); }
		await this.waitExit(2000);
	}
}

// SdkServer: the official Client over StdioClientTransport. call() never throws: it returns
// {res, sc, err, ms} (err: a protocol error or timeout, as a string with the code).
export class SdkServer extends Proc {
	// start(opts): args, env, capabilities (the client's), setup(client, sdk) to add request
	// handlers (elicitation) before initialize
	static async start({ args = ['serve'], env = {}, capabilities = {}, setup, timeoutMs = 20000 } = {}) {
		const sdk = await loadSdk();
		const s = new SdkServer();
		s.sdk = sdk;
		s.transportErrors = [];
		s.schemaViolations = [];
		s.results = [];              // every structuredContent seen, {tool, args, sc}
		s.transport = new sdk.StdioClientTransport({ command: SSHMCP, args, env: { ...process.env, ...env }, stderr: 'pipe' });
		s.client = new sdk.Client({ name: 'sshmcp-tests', version: '1' }, { capabilities });
		s.client.onerror = (e) => s.transportErrors.push(String(e && e.message || e));
		if (setup) setup(s.client, sdk);
		s.captureStderr(s.transport.stderr);     // a PassThrough, there before the process
		try {
			await withTimeout(s.client.connect(s.transport, { timeout: timeoutMs }), timeoutMs + 1000, 'initialize');
		} catch (e) {
			const p = s.transport._process;
			if (p) { try { p.kill('SIGKILL'); } catch { /* gone */ } }
			await sleep(100);
			throw new Error(`cannot start and initialize '${SSHMCP} ${args.join(' ')}': ${e.message}` +
				(s.stderrTail ? `\nserver stderr: ${s.stderrTail.slice(-800)}` : ''));
		}
		s.attach(s.transport._process);
		s.pid = s.transport.pid;
		const lt = await withTimeout(s.client.request({ method: 'tools/list', params: {} }, sdk.types.ListToolsResultSchema,
			{ timeout: timeoutMs }), timeoutMs + 1000, 'tools/list');
		s.tools = new Map(lt.tools.map((x) => [x.name, x]));
		s.validators = new Map();
		if (sdk.Validator) {
			const v = new sdk.Validator();
			for (const tool of lt.tools) {
				if (!tool.outputSchema) continue;
				try { s.validators.set(tool.name, v.getValidator(tool.outputSchema)); }
				catch (e) { s.schemaViolations.push(`${tool.name}: outputSchema does not compile: ${e.message}`); }
			}
		}
		return s;
	}
	async call(name, args = {}, { timeout, signal, onprogress } = {}) {
		const t0 = Date.now();
		const wait = typeof args.wait === 'number' ? args.wait : (name === 'execute_command' ? 50 : 0);
		const ms = timeout ?? (wait + 20) * 1000;
		if (TRACE) process.stderr.write(`>>> ${name} ${J(args, 300)}\n`);
		try {
			const res = await this.client.request({ method: 'tools/call', params: { name, arguments: args } },
				this.sdk.types.CallToolResultSchema, { timeout: ms, signal, onprogress });
			const sc = res.structuredContent;
			if (TRACE) process.stderr.write(`<<< ${name} ${J(res, 600)}\n`);
			if (sc !== undefined) {
				this.results.push({ tool: name, args, sc, isError: !!res.isError });
				const v = this.validators?.get(name);
				if (v) {
					let r;
					try { r = v(sc); } catch (e) { r = { valid: false, errorMessage: e.message }; }
					if (!r.valid) this.schemaViolations.push(`${name}${res.isError ? ' (isError)' : ''}: ${r.errorMessage} — ${J(sc, 300)}`);
				}
			}
			return { res, sc: sc || {}, err: null, ms: Date.now() - t0 };
		} catch (e) {
			const code = e && e.code !== undefined ? ` (code ${e.code})` : '';
			return { res: null, sc: {}, err: `${e && e.message || e}${code}`, code: e && e.code, ms: Date.now() - t0 };
		}
	}
	async request(method, params = {}, timeout = 15000) {
		try {
			const r = await this.client.request({ method, params }, this.sdk.types.ResultSchema, { timeout });
			return { res: r, err: null };
		} catch (e) { return { res: null, err: `${e && e.message || e}`, code: e && e.code }; }
	}
	async stop() {
		const t0 = Date.now();
		try { await withTimeout(this.client.close(), 8000, 'close'); } catch { /* killed below */ }
		this.kill('SIGKILL');
		const e = await this.waitExit(3000);
		return { exit: e, ms: e ? e.at - t0 : null };
	}
}

// ================================================================ the runner ===
async function main() {
	const file = process.argv[2];
	if (!file) { console.error('usage: node client.mjs SCENARIOS.mjs'); process.exit(2); }
	const mod = await import(pathToFileURL(path.resolve(file)).href);
	const t = new Tap();
	const only = process.env.MCP_ONLY ? new RegExp(process.env.MCP_ONLY) : null;
	const ctx = { env: process.env, server: null, servers: [], startFailures: 0 };
	const mode = mod.mode || 'sdk';
	const t0 = Date.now();

	if (mode === 'sdk') {
		try {
			const sdk = await loadSdk();
			t.ok(`MCP SDK ${sdk.version} loads`);
		} catch (e) {
			t.fail('MCP SDK loads (install it: npm install --prefix build/npm @modelcontextprotocol/sdk)', e.message);
			console.log(`# driver done ${t.passed} ${t.failed}`);
			return;
		}
	}
	// ctx.ensure(): a live, initialized server for the next scenario
	ctx.ensure = async () => {
		if (ctx.server && ctx.server.alive) return ctx.server;
		if (ctx.startFailures >= 2) throw new Error('the server would not start twice already: not trying again');
		if (ctx.server) {
			t.note(`server died (exit ${J(ctx.server.exit)}); stderr tail:\n${ctx.server.stderrTail.slice(-1500)}`);
			ctx.deaths = (ctx.deaths || 0) + 1;
		}
		try {
			ctx.server = await (mod.startServer ? mod.startServer(ctx) : SdkServer.start());
		} catch (e) {
			ctx.startFailures = (ctx.startFailures || 0) + 1;
			throw e;
		}
		ctx.startFailures = 0;
		ctx.servers.push(ctx.server);
		return ctx.server;
	};

	for (const sc of mod.scenarios) {
		if (only && !only.test(sc.name)) continue;
		const st = t.scope(sc.name);
		const limit = (sc.timeout || 60) * 1000;
		const ts = Date.now();
		try {
			if (mode === 'sdk' && !sc.noServer) await ctx.ensure();
			// the scenario sees the server through a guard: once its time is up, its calls fail,
			// so a late scenario cannot disturb the next one
			const guard = (srv) => srv && new Proxy(srv, { get(target, prop) {
				const v = Reflect.get(target, prop);
				if (typeof v !== 'function') return v;
				if (prop === 'call' || prop === 'request')
					return (...a) => st.closed ? Promise.reject(new Error('scenario time is up')) : v.apply(target, a);
				return v.bind(target);
			} });
			const sctx = Object.create(ctx, { server: { value: guard(ctx.server) } });
			await withTimeout(Promise.resolve().then(() => sc.run(st, sctx)), limit, `scenario '${sc.name}'`);
		} catch (e) {
			const tail = ctx.server ? `\nserver stderr tail:\n${ctx.server.stderrTail.slice(-1200)}` : '';
			st.fail('scenario ran to its end', `${e && e.stack || e}`.split('\n').slice(0, 6).join('\n') + tail);
		}
		st.close();
		if (process.env.MCP_TIMES) t.note(`${sc.name}: ${Date.now() - ts} ms`);
	}
	if (mod.after) {
		try { await withTimeout(Promise.resolve().then(() => mod.after(t, ctx)), 60000, 'after'); }
		catch (e) { t.fail('final checks ran', `${e && e.stack || e}`); }
	}
	for (const s of ctx.servers) { try { await s.stop(); } catch { /* ignore */ } s.kill('SIGKILL'); }
	console.log(`# driver done ${t.passed} ${t.failed} (${Math.round((Date.now() - t0) / 1000)} s)`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
	// a last resort: whatever happens, no server outlives the driver
	const killAll = () => { for (const s of (globalThis.__mcpServers || [])) s.kill('SIGKILL'); };
	process.on('exit', killAll);
	process.stdout.on('error', () => process.exit(1));   // reader gone (| head): stop, servers killed
	for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, () => { killAll(); process.exit(1); });
	process.on('unhandledRejection', (e) => { console.log(`# unhandled rejection: ${J(String(e && e.stack || e))}`); });
	main().then(() => process.exit(0), (e) => {
		console.log(`not ok - driver crashed`);
		console.log(`#   ${String(e && e.stack || e).split('\n').slice(0, 8).join('\n#   ')}`);
		killAll();
		process.exit(1);
	});
}
