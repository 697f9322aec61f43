// tests/mcp/files.mjs — scenarios for tests/31-files.sh: an MCP client (the official SDK) reads
// and writes files on the fixture's sshd through `sshmcp serve` (read_file, write_file over
// SFTP, with and without sudo) and runs one command on several hosts (execute_on_hosts), as
// SPEC §2 and issue 7 describe. The sshd runs on this machine and the driver runs as root, so
// every file written is checked on disk, byte for byte.
import { readFileSync, writeFileSync, readdirSync, statSync, existsSync, mkdirSync, chownSync,
	chmodSync, copyFileSync, rmSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { J, sleep, sh, SdkServer } from './client.mjs';

const HOST = process.env.MCP_HOST || 'h';
const T_USER = process.env.T_USER || 'sshmcpt';
const T_PASS = process.env.T_PASS || '';
const FIX = process.env.MCP_FIX || '/tmp';
const DATA = process.env.MCP_DATA;               // owned by the test user
const ROOTDIR = process.env.MCP_ROOTDIR;         // root's, 0755: the test user cannot write here
const ROOTFILE = process.env.MCP_ROOTFILE;       // root's, 0600, inside DATA
const T_HOME = process.env.T_HOME || '';
const SUDO = process.env.MCP_SUDO === '1';
const SUDOERS = process.env.MCP_SUDOERS;         // the live rules file; NOPW / PW are ready copies
const SUDOERS_NOPW = process.env.MCP_SUDOERS_NOPW, SUDOERS_PW = process.env.MCP_SUDOERS_PW;
const MAIN_LOG = process.env.MAIN_LOG;
const MiB = 1024 * 1024;
const TAG = `${process.pid}`;
const [UID, GID] = (sh('id', ['-u', T_USER]).trim() + ' ' + sh('id', ['-g', T_USER]).trim()).split(' ').map(Number);

// ================================================================== helpers ===
const sha = (b) => createHash('sha256').update(b).digest('hex');
const show = (r) => r.err ? `protocol error: ${r.err}` : J(r.res, 1500);
const errCode = (r) => r.sc && r.sc.error && r.sc.error.code;
const good = (r) => !r.err && r.res && !r.res.isError;
// bytes of a read_file result, decoded by its encoding
function bytesOf(sc) {
	if (typeof sc.content !== 'string') return null;
	return sc.encoding === 'base64' ? Buffer.from(sc.content, 'base64') : Buffer.from(sc.content, 'utf8');
}
// a file for the test user, made on disk by the driver (root)
function put(p, data, mode = 0o644, uid = UID, gid = GID) {
	mkdirSync(path.dirname(p), { recursive: true });
	writeFileSync(p, data);
	chownSync(p, uid, gid);
	chmodSync(p, mode);
	return p;
}
function mkdirUser(p, mode = 0o755) { mkdirSync(p, { recursive: true }); chownSync(p, UID, GID); chmodSync(p, mode); return p; }
// the mode of a result: "0644", "644", "100644" or 420 → 0o644 (and which form it was)
function modeOf(m) {
	if (typeof m === 'number') return { v: m & 0o7777, form: 'number' };
	if (typeof m === 'string' && /^[0-7]+$/.test(m)) return { v: parseInt(m, 8) & 0o7777, form: `octal string "${m}"` };
	return { v: null, form: J(m) };
}
const diskMode = (p) => statSync(p).mode & 0o7777;
const rd = (s, args, opts) => s.call('read_file', { host: HOST, ...args }, { timeout: 60000, ...opts });
const wr = (s, args, opts) => s.call('write_file', { host: HOST, ...args }, { timeout: 60000, ...opts });
// a typed error: isError, code SSHMCP_ERR_..., one clear line without libssh2 jargon
function checkError(t, r, want, what) {
	if (!t.check(!r.err && r.res && r.res.isError === true, `${what}: isError`, show(r))) return;
	const code = errCode(r) || '';
	const msg = (r.sc.error && r.sc.error.message) || '';
	if (want) t.eq(code, want, `${what}: code ${want}`, r.sc);
	else t.match(code, /^SSHMCP_ERR_[A-Z_]+$/, `${what}: an SSHMCP_ERR_ code (${code})`, r.sc);
	t.check(typeof msg === 'string' && msg.length > 0 && !msg.includes('\n'), `${what}: a one-line message`, J(r.sc));
	t.check(!/LIBSSH2|libssh2|_ERROR_|SFTP_FX|FX_[A-Z]|error -?\d+\b|\(-\d+\)/.test(msg + J(r.res.content || '')),
		`${what}: no libssh2 codes in the message`, msg);
	const txt = (r.res.content || []).find((c) => c.type === 'text');
	t.check(txt && txt.text.length > 0, `${what}: a text rendering too`, J(r.res));
}
// leftovers(dir, keep): names in dir that are not in keep (temp files left behind)
function leftovers(dir, keep) { return readdirSync(dir).filter((n) => !keep.includes(n)); }
async function ex(s, command, extra = {}) {
	const r = await s.call('execute_command', { host: HOST, command, wait: 20, ...extra });
	r.out = typeof r.sc.output === 'string' ? r.sc.output : '';
	return r;
}
function accepted() {   // "Accepted ..." lines in the main sshd's log: one per new connection
	try { return (readFileSync(MAIN_LOG, 'utf8').match(/Accepted (publickey|password)/g) || []).length; } catch { return -1; }
}
function useSudoers(which) {   // swap in the rules: 'nopw' or 'pw'
	copyFileSync(which === 'pw' ? SUDOERS_PW : SUDOERS_NOPW, SUDOERS);
	chmodSync(SUDOERS, 0o440);
}

// ================================================================ scenarios ===
export const scenarios = [
	{ name: 'read text', timeout: 60, run: async (t, { server: s }) => {
		const text = 'héllo wörld ✓\nline 2\n\ttabbed\n';
		const p = put(path.join(DATA, 'text.txt'), text, 0o640);
		const r = await rd(s, { path: p });
		if (!t.check(good(r), 'read_file of a UTF-8 text file → a result', show(r))) return;
		const sc = r.sc;
		t.eq(sc.encoding, 'utf8', 'encoding utf8', sc);
		t.eq(sc.content, text, 'content is the text as is', sc);
		t.eq(sc.size, Buffer.byteLength(text), `size is the byte count (${Buffer.byteLength(text)})`, sc);
		t.eq(sc.offset, 0, 'offset 0', sc);
		t.eq(sc.length, Buffer.byteLength(text), 'length = bytes returned', sc);
		t.eq(sc.truncated, false, 'truncated false (whole file)', sc);
		t.eq(sc.path, p, 'path echoed', sc);
		const m = modeOf(sc.mode);
		t.check(m.v === 0o640, `mode 0640 (seen as ${m.form})`, J(sc));
		t.note(`read_file mode form: ${m.form}`);
		const txt = (r.res.content || []).find((c) => c.type === 'text');
		t.check(txt && txt.text.includes('héllo'), 'text rendering carries the content', J(r.res));
		// empty file
		const e = await rd(s, { path: put(path.join(DATA, 'empty'), '') });
		t.check(good(e) && e.sc.content === '' && e.sc.size === 0 && e.sc.length === 0 && e.sc.truncated === false,
			'an empty file → content "", size 0, length 0', show(e));
		// ~ and relative paths are the remote user's (home)
		put(path.join(T_HOME, `.sshmcp-rel-${TAG}`), 'rel\n');
		const rel = await rd(s, { path: `.sshmcp-rel-${TAG}` });
		t.check(good(rel) && rel.sc.content === 'rel\n', 'a relative path is relative to the remote home', show(rel));
		rmSync(path.join(T_HOME, `.sshmcp-rel-${TAG}`), { force: true });
	} },

	{ name: 'read binary', timeout: 60, run: async (t, { server: s }) => {
		const bin = Buffer.concat([Buffer.from([0, 0xff, 0xfe, 0xc3, 0x28, 0x80, 10, 13, 0]), randomBytes(70000)]);
		const p = put(path.join(DATA, 'blob.bin'), bin);
		const r = await rd(s, { path: p });
		if (!t.check(good(r), 'read_file of a binary file → a result', show(r))) return;
		t.eq(r.sc.encoding, 'base64', 'encoding base64', { ...r.sc, content: '…' });
		const got = bytesOf(r.sc);
		t.check(got && got.equals(bin), 'base64 decodes to exactly the file\'s bytes', `got ${got && got.length} bytes, sha ${got && sha(got)}; want ${bin.length}, ${sha(bin)}`);
		t.eq(r.sc.size, bin.length, 'size', { ...r.sc, content: '…' });
		// a NUL byte in otherwise ASCII text is still valid UTF-8: either encoding, but exact
		const nul = put(path.join(DATA, 'nul.txt'), Buffer.from('a\0b\n'));
		const n = await rd(s, { path: nul });
		t.check(good(n) && bytesOf(n.sc)?.equals(Buffer.from('a\0b\n')), 'a NUL byte survives (exact bytes)', show(n));
		// latin-1 text is not UTF-8: base64, never "replaced" characters
		const l1 = put(path.join(DATA, 'latin1.txt'), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]));
		const l = await rd(s, { path: l1 });
		t.check(good(l) && l.sc.encoding === 'base64' && bytesOf(l.sc)?.equals(Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a])),
			'latin-1 bytes → base64, exact (no U+FFFD)', show(l));
	} },

	{ name: 'paging', timeout: 180, run: async (t, { server: s }) => {
		const big = randomBytes(3 * MiB + 12345);
		const p = put(path.join(DATA, 'big.bin'), big);
		let r = await rd(s, { path: p });
		if (!t.check(good(r), 'read_file of a 3 MiB file → a result', show(r))) return;
		t.eq(r.sc.length, MiB, 'no length: the first 1 MiB (default)', { ...r.sc, content: '…' });
		t.eq(r.sc.truncated, true, 'truncated true (more follows)', { ...r.sc, content: '…' });
		t.eq(r.sc.size, big.length, 'size is the whole file\'s', { ...r.sc, content: '…' });
		r = await rd(s, { path: p, length: 5 * MiB });
		t.check(good(r) ? r.sc.length === MiB : r.res?.isError === true,
			'length 5 MiB: capped to 1 MiB (or refused as out of range)', show({ ...r, res: r.res && { ...r.res, content: '…', structuredContent: { ...r.sc, content: '…' } } }));
		// page through it
		const parts = [];
		let off = 0, pages = 0, bad = null;
		for (;;) {
			const q = await rd(s, { path: p, offset: off, length: MiB });
			if (!good(q)) { bad = show(q); break; }
			const b = bytesOf(q.sc);
			if (q.sc.offset !== off || b.length !== q.sc.length) { bad = `page at ${off}: offset ${q.sc.offset}, length ${q.sc.length}, ${b.length} bytes`; break; }
			parts.push(b);
			off += b.length;
			pages++;
			if (!q.sc.truncated || pages > 10 || b.length === 0) break;
		}
		t.check(!bad, 'every page comes back with its offset and length', bad);
		const all = Buffer.concat(parts);
		t.eq(pages, 4, '3 MiB + 12345 bytes in 1 MiB pages: 4 pages');
		t.check(all.equals(big), 'the pages put together are the file, byte for byte', `${all.length} bytes sha ${sha(all)}; want ${big.length} ${sha(big)}`);
		// a window in the middle, and past the end
		r = await rd(s, { path: p, offset: 2 * MiB + 7, length: 1000 });
		t.check(good(r) && bytesOf(r.sc)?.equals(big.subarray(2 * MiB + 7, 2 * MiB + 1007)) && r.sc.truncated === true,
			'offset 2 MiB+7, length 1000 → those bytes, truncated', show(r));
		r = await rd(s, { path: p, offset: big.length - 10, length: 100 });
		t.check(good(r) && bytesOf(r.sc)?.equals(big.subarray(big.length - 10)) && r.sc.length === 10 && r.sc.truncated === false,
			'the last 10 bytes: length 10, truncated false', show(r));
		r = await rd(s, { path: p, offset: big.length + 100 });
		t.check(good(r) ? (r.sc.length === 0 && r.sc.truncated === false) : /^SSHMCP_ERR_/.test(errCode(r) || ''),
			'offset past the end → empty and not truncated (or a typed error)', show(r));
		// UTF-8 text cut mid-character at a page edge: that page is base64, the bytes exact
		const txt = Buffer.from('é'.repeat(700000));
		const tp = put(path.join(DATA, 'utf8big.txt'), txt);
		r = await rd(s, { path: tp, offset: 1, length: 1001 });
		t.check(good(r) && bytesOf(r.sc)?.equals(txt.subarray(1, 1002)),
			'a page that starts and ends mid-character: exact bytes', show(r));
		t.eq(r.sc.encoding, 'base64', '… and base64, since the bytes are not valid UTF-8 on their own', { ...r.sc, content: '…' });
		r = await rd(s, { path: tp, offset: 0, length: 2000 });
		t.check(good(r) && r.sc.encoding === 'utf8' && r.sc.content === 'é'.repeat(1000), 'a page on character edges is utf8', show(r));
	} },

	{ name: 'read errors', timeout: 60, run: async (t, { server: s }) => {
		checkError(t, await rd(s, { path: path.join(DATA, `no-such-file-${TAG}`) }), 'SSHMCP_ERR_NOT_FOUND', 'read a missing file');
		checkError(t, await rd(s, { path: ROOTFILE }), 'SSHMCP_ERR_PERMISSION', 'read a root-only (0600) file');
		checkError(t, await rd(s, { path: DATA }), 'SSHMCP_ERR_IS_DIRECTORY', 'read a directory');
		checkError(t, await rd(s, { path: `/nonexistent-dir-${TAG}/x` }), 'SSHMCP_ERR_NOT_FOUND', 'read below a missing directory');
		const r = await rd(s, { path: '' });
		t.check(!r.err && r.res?.isError === true, 'an empty path → isError', show(r));
		// the session is still fine after errors
		const ok = await rd(s, { path: put(path.join(DATA, 'after-errors.txt'), 'fine\n') });
		t.check(good(ok) && ok.sc.content === 'fine\n', 'a read after the errors works', show(ok));
	} },

	{ name: 'write', timeout: 120, run: async (t, { server: s }) => {
		const dir = mkdirUser(path.join(DATA, 'w'));
		const p = path.join(dir, 'hello.txt');
		let r = await wr(s, { path: p, content: 'héllo\nworld\n' });
		if (!t.check(good(r), 'write_file utf8 → a result', show(r))) return;
		t.check(existsSync(p) && readFileSync(p).equals(Buffer.from('héllo\nworld\n')), 'the file on disk is exactly the text', existsSync(p) ? J(readFileSync(p, 'utf8')) : 'missing');
		t.eq(r.sc.bytes_written, Buffer.byteLength('héllo\nworld\n'), 'bytes_written is the byte count (13)', r.sc);
		t.eq(r.sc.path, p, 'path echoed', r.sc);
		t.check(existsSync(p) && statSync(p).uid === UID, 'the file belongs to the remote user', existsSync(p) && statSync(p).uid);
		t.check(modeOf(r.sc.mode).v === (existsSync(p) ? diskMode(p) : -1), `result mode is the file's (${r.sc.mode})`, J(r.sc));
		t.eq(leftovers(dir, ['hello.txt']), [], 'no temp file left in the directory');
		// binary via base64, byte-exact
		const bin = Buffer.concat([Buffer.from([...Array(256).keys()]), randomBytes(300000)]);
		const bp = path.join(dir, 'blob.bin');
		r = await wr(s, { path: bp, content: bin.toString('base64'), encoding: 'base64' });
		t.check(good(r) && r.sc.bytes_written === bin.length, `write_file base64 → bytes_written ${bin.length}`, show(r));
		t.eq(existsSync(bp) ? sha(readFileSync(bp)) : 'missing', sha(bin), 'binary written byte-exact (sha256 on disk)');
		const back = await rd(s, { path: bp });
		t.check(good(back) && bytesOf(back.sc)?.equals(bin), 'and read_file gives the same bytes back', show(back));
		// mode
		const mp = path.join(dir, 'script.sh');
		r = await wr(s, { path: mp, content: '#!/bin/sh\necho hi\n', mode: '0750' });
		t.check(good(r) && existsSync(mp) && diskMode(mp) === 0o750, 'mode "0750" applied on disk', `${show(r)}\ndisk ${existsSync(mp) && diskMode(mp).toString(8)}`);
		t.check(modeOf(r.sc.mode).v === 0o750, `result mode 0750 (${r.sc.mode})`, J(r.sc));
		r = await wr(s, { path: path.join(dir, 'm600'), content: 'x', mode: '600' });
		t.check(good(r) && diskMode(path.join(dir, 'm600')) === 0o600, 'mode "600" (no leading 0) applied', show(r));
		r = await wr(s, { path: path.join(dir, 'm640'), content: 'x', mode: 0o640 });
		t.check(good(r) && existsSync(path.join(dir, 'm640')) && diskMode(path.join(dir, 'm640')) === 0o640,
			'mode as a number (416 = 0640) applied', show(r));
		r = await wr(s, { path: path.join(dir, 'mbad'), content: 'x', mode: '9z' });
		t.check(!r.err && r.res?.isError === true && !existsSync(path.join(dir, 'mbad')), 'mode "9z" → isError, nothing written', show(r));
		// overwrite: the new content replaces the old one; the old mode is kept unless given
		put(path.join(dir, 'exe.sh'), 'old\n', 0o755);
		r = await wr(s, { path: path.join(dir, 'exe.sh'), content: 'new\n' });
		t.check(good(r) && readFileSync(path.join(dir, 'exe.sh'), 'utf8') === 'new\n', 'overwrite replaces the content', show(r));
		const km = diskMode(path.join(dir, 'exe.sh'));
		t.check(km === 0o755, `overwrite without mode keeps the file's mode 0755 (got ${km.toString(8)})`, show(r));
		// append
		const ap = path.join(dir, 'log.txt');
		await wr(s, { path: ap, content: 'one\n' });
		r = await wr(s, { path: ap, content: 'two\n', append: true });
		t.check(good(r) && readFileSync(ap, 'utf8') === 'one\ntwo\n', 'append adds to the end', `${show(r)}\n${existsSync(ap) && J(readFileSync(ap, 'utf8'))}`);
		t.eq(r.sc.bytes_written, 4, 'append: bytes_written counts the appended bytes', r.sc);
		r = await wr(s, { path: ap, content: Buffer.from([0xff, 0, 0x0a]).toString('base64'), encoding: 'base64', append: true });
		t.check(good(r) && readFileSync(ap).equals(Buffer.from('one\ntwo\n\xff\x00\n', 'latin1')), 'append base64 bytes, exact', show(r));
		const an = path.join(dir, 'new-by-append.txt');
		r = await wr(s, { path: an, content: 'first\n', append: true });
		t.check(good(r) && existsSync(an) && readFileSync(an, 'utf8') === 'first\n', 'append to a missing file creates it', show(r));
		// create_dirs
		const deep = path.join(dir, 'a', 'b c', 'd', 'file.txt');
		r = await wr(s, { path: deep, content: 'deep\n' });
		t.check(!r.err && r.res?.isError === true && !existsSync(path.join(dir, 'a')), 'a missing directory without create_dirs → isError, nothing created', show(r));
		t.check(errCode(r) === 'SSHMCP_ERR_NOT_FOUND', `… code SSHMCP_ERR_NOT_FOUND (${errCode(r)})`, J(r.sc));
		r = await wr(s, { path: deep, content: 'deep\n', create_dirs: true });
		t.check(good(r) && existsSync(deep) && readFileSync(deep, 'utf8') === 'deep\n', 'create_dirs: the directories and the file are made', show(r));
		t.check(existsSync(deep) && statSync(path.dirname(deep)).uid === UID, 'created directories belong to the user', '');
		// an empty file
		r = await wr(s, { path: path.join(dir, 'empty'), content: '' });
		t.check(good(r) && r.sc.bytes_written === 0 && statSync(path.join(dir, 'empty')).size === 0, 'empty content → an empty file', show(r));
		// bad base64 is refused, nothing written
		r = await wr(s, { path: path.join(dir, 'bad64'), content: '@@@not base64@@@', encoding: 'base64' });
		t.check(!r.err && r.res?.isError === true && !existsSync(path.join(dir, 'bad64')), 'invalid base64 → isError, nothing written', show(r));
		// writing onto a directory
		mkdirUser(path.join(dir, 'adir'));
		checkError(t, await wr(s, { path: path.join(dir, 'adir'), content: 'x' }), 'SSHMCP_ERR_IS_DIRECTORY', 'write onto a directory');
		t.eq(leftovers(dir, ['hello.txt', 'blob.bin', 'script.sh', 'm600', 'm640', 'exe.sh', 'log.txt', 'new-by-append.txt', 'a', 'empty', 'adir']), [],
			'after all these writes and failures: no temp file left in the directory');
		t.eq(readdirSync(path.join(dir, 'adir')), [], 'nor inside the directory written onto');
	} },

	{ name: 'atomic', timeout: 120, run: async (t, { server: s }) => {
		const dir = mkdirUser(path.join(DATA, 'atomic'));
		const p = path.join(dir, 'config');
		const A = Buffer.alloc(2 * MiB, 'A'), B = Buffer.alloc(2 * MiB, 'B');
		put(p, A);
		// a reader on disk while the write goes on: it sees the old file or the new, never a mix
		let reads = 0, torn = null, sawB = false, running = true;
		const reader = (async () => {
			while (running) {
				let b;
				try { b = readFileSync(p); } catch (e) { torn = torn || `read failed: ${e.code}`; await sleep(1); continue; }
				reads++;
				const allA = b.length === A.length && b[0] === 65 && b[b.length - 1] === 65 && b.equals(A);
				const allB = b.length === B.length && b[0] === 66 && b.equals(B);
				if (allB) sawB = true;
				if (!allA && !allB) torn = torn || `a read saw ${b.length} bytes, first ${b[0]}, last ${b[b.length - 1]}`;
				await sleep(0);
			}
		})();
		const r = await wr(s, { path: p, content: B.toString('base64'), encoding: 'base64' }, { timeout: 90000 });
		running = false;
		await reader;
		t.check(good(r), 'a 2 MiB write → a result', show(r));
		t.check(!torn, `the target never appeared half-written (${reads} reads during the write)`, torn);
		t.check(readFileSync(p).equals(B), 'afterwards it holds the new content', '');
		t.eq(leftovers(dir, ['config']), [], 'no temp file left after the write');
		// a failed write (the directory becomes read-only): the old file is intact, no temp left
		chmodSync(dir, 0o555);
		const f = await wr(s, { path: p, content: 'partial?' });
		chmodSync(dir, 0o755);
		t.check(!f.err && f.res?.isError === true, 'writing in a read-only directory → isError', show(f));
		t.check(readFileSync(p).equals(B), '… the old file is intact', '');
		t.eq(leftovers(dir, ['config']), [], '… and no temp file left');
	} },

	{ name: 'write errors', timeout: 90, run: async (t, { server: s }) => {
		const before = readdirSync(ROOTDIR);
		checkError(t, await wr(s, { path: path.join(ROOTDIR, 'x.txt'), content: 'x' }), 'SSHMCP_ERR_PERMISSION', 'write into a root-owned directory');
		t.eq(readdirSync(ROOTDIR), before, '… nothing left in it (no temp file)');
		checkError(t, await wr(s, { path: path.join(ROOTDIR, 'sub', 'x.txt'), content: 'x', create_dirs: true }), 'SSHMCP_ERR_PERMISSION',
			'create_dirs under a root-owned directory');
		t.eq(readdirSync(ROOTDIR), before, '… no directory made');
		const r = await wr(s, { path: path.join(DATA, 'x'), content: 'x', encoding: 'utf16' });
		t.check(!r.err && (r.res?.isError === true || r.err) && !existsSync(path.join(DATA, 'x')), 'encoding "utf16" → refused, nothing written', show(r));
		// content over the 1 MiB... the MCP message limit (4 MiB) is the only cap: 5 MiB is refused cleanly
		// (the server cannot always name the request it refuses, so the SDK may only time out)
		const huge = await wr(s, { path: path.join(DATA, 'huge'), content: 'x'.repeat(5 * MiB) }, { timeout: 15000 });
		t.check(huge.err || huge.res?.isError === true, 'a 5 MiB content (over the 4 MiB message limit) → an error or no answer, never a write', show(huge));
		t.note(`5 MiB write_file: ${huge.err ? 'no answer to the request (' + huge.err.slice(0, 80) + ')' : 'answered: ' + J(huge.sc, 200)}`);
		t.check(!existsSync(path.join(DATA, 'huge')), '… and nothing written', '');
		const after = await rd(s, { path: put(path.join(DATA, 'after-huge.txt'), 'alive\n') });
		t.check(good(after) && after.sc.content === 'alive\n', 'the server still answers after it', show(after));
	} },

	{ name: 'quoting', timeout: 120, run: async (t, { server: s }) => {
		// a name with spaces, quotes and shell syntax: no command may run (the canary stays absent)
		const canary = `sshmcp-canary-${TAG}`;
		const name = `a 'b' "c" $d $(touch ${canary}) ;touch ${canary}; \`touch ${canary}\` & |x| \\ * ? <y>.txt`;
		const places = () => [path.join(T_HOME, canary), `/root/${canary}`, `/${canary}`, path.join(DATA, canary),
			path.join(FIX, canary), `/tmp/${canary}`].filter((x) => existsSync(x));
		const content = 'quoted \'"$` ok\n';
		const dir = mkdirUser(path.join(DATA, 'q dir $x'));
		const p = path.join(dir, name);
		let r = await wr(s, { path: p, content });
		t.check(good(r) && existsSync(p) && readFileSync(p, 'utf8') === content, 'write to a path with spaces, quotes, $() and ; → exactly that file', `${show(r)}\n${readdirSync(dir).join(' | ')}`);
		r = await rd(s, { path: p });
		t.check(good(r) && r.sc.content === content, 'read it back by the same path', show(r));
		r = await wr(s, { path: p, content: 'more\n', append: true });
		t.check(good(r) && existsSync(p) && readFileSync(p, 'utf8') === content + 'more\n', 'append to it', show(r));
		if (SUDO) {
			useSudoers('nopw');
			const sp = path.join(ROOTDIR, name);
			r = await wr(s, { path: sp, content, sudo: true });
			t.check(good(r) && existsSync(sp) && readFileSync(sp, 'utf8') === content, 'sudo write to such a path → exactly that file', `${show(r)}\n${readdirSync(ROOTDIR).join(' | ')}`);
			r = await rd(s, { path: sp, sudo: true });
			t.check(good(r) && r.sc.content === content, 'sudo read it back', show(r));
			const weird = path.join(ROOTDIR, `-n x; touch ${canary}`);
			r = await wr(s, { path: weird, content: 'dash\n', sudo: true });
			t.check(good(r) && existsSync(weird) && readFileSync(weird, 'utf8') === 'dash\n', 'sudo write to a name starting with "-n" (not an option)', show(r));
			r = await wr(s, { path: path.join(ROOTDIR, 'inj.txt'), content: `$(touch ${canary})\n'; touch ${canary}; '\n`, sudo: true });
			t.check(good(r) && readFileSync(path.join(ROOTDIR, 'inj.txt'), 'utf8') === `$(touch ${canary})\n'; touch ${canary}; '\n`,
				'sudo write of content with $() and quotes: stored as is', show(r));
		} else t.skip('sudo with quoted paths', 'no sudo in this fixture');
		const found = places();
		t.eq(found, [], 'the canary was never created: no command ran from the name or the content');
		const stray = sh('find', ['/tmp', '/home', '/root', T_HOME, '-maxdepth', '4', '-name', canary]).trim();
		t.eq(stray, '', 'no canary anywhere under /tmp, /home, /root');
		t.eq(leftovers(dir, [name]), [], 'no temp file left beside it');
	} },

	{ name: 'sudo', timeout: 180, run: async (t, { server: s }) => {
		if (!SUDO) { t.skip('sudo read/write', 'no sudo in this fixture'); return; }
		useSudoers('nopw');
		const secret = 'root only ✓\n';
		writeFileSync(ROOTFILE, secret); chmodSync(ROOTFILE, 0o600);
		let r = await rd(s, { path: ROOTFILE, sudo: true, session: 'sudo' });
		if (t.check(good(r), 'sudo read of a root-only file → a result', show(r))) {
			t.eq(r.sc.content, secret, 'sudo read: the content', r.sc);
			t.eq(r.sc.encoding, 'utf8', 'sudo read: utf8', r.sc);
			t.eq(r.sc.size, Buffer.byteLength(secret), 'sudo read: size', r.sc);
			t.check(modeOf(r.sc.mode).v === 0o600, `sudo read: mode 0600 (${J(r.sc.mode)})`, J(r.sc));
		}
		const bin = randomBytes(200000);
		const rb = put(path.join(ROOTDIR, 'root.bin'), bin, 0o600, 0, 0);
		r = await rd(s, { path: rb, sudo: true, session: 'sudo' });
		t.check(good(r) && r.sc.encoding === 'base64' && bytesOf(r.sc)?.equals(bin), 'sudo read of binary: base64, exact', show({ ...r, res: r.res && { isError: r.res.isError, sc: { ...r.sc, content: '…' } } }));
		const big = randomBytes(2 * MiB + 5);
		const bp = put(path.join(ROOTDIR, 'root-big.bin'), big, 0o600, 0, 0);
		r = await rd(s, { path: bp, sudo: true, offset: MiB + 3, length: 1000, session: 'sudo' });
		t.check(good(r) && bytesOf(r.sc)?.equals(big.subarray(MiB + 3, MiB + 1003)) && r.sc.truncated === true && r.sc.size === big.length,
			'sudo read with offset/length: those bytes, truncated, size of the whole', show({ ...r, res: r.res && { isError: r.res.isError, sc: { ...r.sc, content: '…' } } }));
		checkError(t, await rd(s, { path: path.join(ROOTDIR, `missing-${TAG}`), sudo: true, session: 'sudo' }), 'SSHMCP_ERR_NOT_FOUND', 'sudo read of a missing file');
		checkError(t, await rd(s, { path: ROOTDIR, sudo: true, session: 'sudo' }), 'SSHMCP_ERR_IS_DIRECTORY', 'sudo read of a directory');
		// write
		const wp = path.join(ROOTDIR, 'etc-like.conf');
		r = await wr(s, { path: wp, content: 'key = "value"\n', sudo: true, mode: '0640', session: 'sudo' });
		t.check(good(r) && existsSync(wp) && readFileSync(wp, 'utf8') === 'key = "value"\n', 'sudo write into a root-owned directory', show(r));
		t.check(existsSync(wp) && statSync(wp).uid === 0 && diskMode(wp) === 0o640, 'sudo write: owned by root, mode 0640', existsSync(wp) && `${statSync(wp).uid} ${diskMode(wp).toString(8)}`);
		const wb = Buffer.concat([Buffer.from([...Array(256).keys()]), randomBytes(100000)]);
		r = await wr(s, { path: path.join(ROOTDIR, 'w.bin'), content: wb.toString('base64'), encoding: 'base64', sudo: true, session: 'sudo' });
		t.check(good(r) && r.sc.bytes_written === wb.length && sha(readFileSync(path.join(ROOTDIR, 'w.bin'))) === sha(wb), 'sudo write of 100 KB binary: byte-exact', show(r));
		// bigger: written exactly, or refused as too large (never cut)
		const wb2 = randomBytes(MiB);
		r = await wr(s, { path: path.join(ROOTDIR, 'w2.bin'), content: wb2.toString('base64'), encoding: 'base64', sudo: true, session: 'sudo' }, { timeout: 90000 });
		if (good(r)) t.check(sha(readFileSync(path.join(ROOTDIR, 'w2.bin'))) === sha(wb2), 'sudo write of 1 MiB binary: byte-exact', show(r));
		else {
			t.eq(errCode(r), 'SSHMCP_ERR_TOO_LARGE', 'sudo write of 1 MiB refused: code SSHMCP_ERR_TOO_LARGE', r.sc);
			t.check(!existsSync(path.join(ROOTDIR, 'w2.bin')), '… and nothing written', '');
			t.note(`sudo write of 1 MiB: ${J(r.sc.error)}`);
		}
		r = await wr(s, { path: wp, content: 'more\n', append: true, sudo: true, session: 'sudo' });
		t.check(good(r) && readFileSync(wp, 'utf8') === 'key = "value"\nmore\n', 'sudo append', show(r));
		r = await wr(s, { path: path.join(ROOTDIR, 'nd', 'sub', 'f'), content: 'x\n', create_dirs: true, sudo: true, session: 'sudo' });
		t.check(good(r) && existsSync(path.join(ROOTDIR, 'nd', 'sub', 'f')), 'sudo write with create_dirs', show(r));
		t.eq(readdirSync(ROOTDIR).filter((n) => /tmp|sshmcp|\.~|^\./i.test(n) && !/canary/.test(n)), [], 'sudo writes leave no temp file in the directory');
		const tmpLeft = sh('find', ['/tmp', T_HOME, '-maxdepth', '2', '-newer', SUDOERS_NOPW, '-user', T_USER, '-type', 'f', '-name', '*sshmcp*']).trim();
		t.eq(tmpLeft, '', 'no staging file of the test user left in /tmp or its home');
		// the session's shell still works and is not stuck in a sudo prompt
		const e = await ex(s, 'echo shell-ok', { session: 'sudo' });
		t.eq(e.out, 'shell-ok\n', 'the shell of the session works after sudo file ops', e.sc);
		// with a password-requiring rule
		useSudoers('pw');
		r = await rd(s, { path: ROOTFILE, sudo: true, sudo_password: T_PASS, session: 'sudo-pw' }, { timeout: 60000 });
		t.check(good(r) && r.sc.content === secret, 'sudo read with sudo_password (rule needs a password)', show(r));
		t.notContains(J(r.res, Infinity), T_PASS, 'the password is nowhere in the result');
		r = await wr(s, { path: path.join(ROOTDIR, 'pw.txt'), content: 'pw\n', sudo: true, sudo_password: T_PASS, session: 'sudo-pw' }, { timeout: 60000 });
		t.check(good(r) && existsSync(path.join(ROOTDIR, 'pw.txt')) && readFileSync(path.join(ROOTDIR, 'pw.txt'), 'utf8') === 'pw\n',
			'sudo write with sudo_password', show(r));
		const t0 = Date.now();
		r = await rd(s, { path: ROOTFILE, sudo: true, session: 'sudo-nopw' }, { timeout: 60000 });
		t.check(!r.err && r.res?.isError === true && /^SSHMCP_ERR_/.test(errCode(r) || ''), 'sudo read without the needed password → a typed error', show(r));
		t.check(Date.now() - t0 < 40000, `… within bounded time (${Date.now() - t0} ms)`, '');
		r = await rd(s, { path: ROOTFILE, sudo: true, sudo_password: 'wrong-password', session: 'sudo-bad' }, { timeout: 60000 });
		t.check(!r.err && r.res?.isError === true && /^SSHMCP_ERR_/.test(errCode(r) || ''), 'sudo read with a wrong password → a typed error', show(r));
		t.notContains(J(r.res, Infinity), 'wrong-password', '… the wrong password is not echoed');
		const log = process.env.MCP_SERVER_LOG ? (() => { try { return readFileSync(process.env.MCP_SERVER_LOG, 'utf8'); } catch { return ''; } })() : '';
		t.notContains(log, T_PASS, 'the sudo password is not in the server log');
		const after = await ex(s, 'echo still-ok', { session: 'sudo-nopw' });
		t.eq(after.out, 'still-ok\n', 'the session whose sudo failed still runs commands', after.sc);
		useSudoers('nopw');
	} },

	{ name: 'shell keeps working', timeout: 120, run: async (t, { server: s }) => {
		const S = 'fs';
		let e = await ex(s, `cd ${DATA} && export FSVAR=kept`, { session: S });
		t.check(e.sc.status === 'completed', 'set state in the session', show(e));
		const n0 = accepted();
		const big = put(path.join(DATA, 'shell-big.bin'), randomBytes(3 * MiB));
		let r = await rd(s, { path: big, session: S });
		t.check(good(r), 'read_file in the same session', show(r));
		r = await wr(s, { path: path.join(DATA, 'shell-w.txt'), content: 'w\n', session: S });
		t.check(good(r), 'write_file in the same session', show(r));
		const n1 = accepted();
		t.check(n0 >= 0 && n1 === n0, `file ops use the session's connection (no new SSH login: ${n0} → ${n1})`, '');
		e = await ex(s, 'echo "$FSVAR $(pwd)"', { session: S });
		t.eq(e.out, `kept ${DATA}\n`, 'after the file ops the shell keeps cwd and env', e.sc);
		// while a command runs in the shell, file ops go through (their own channel)
		const a = await s.call('execute_command_async', { host: HOST, command: 'sleep 4; echo slept', session: S });
		t.check(typeof a.sc.command_id === 'string', 'a 4 s command starts in the session', show(a));
		const t0 = Date.now();
		const [r1, w1, r2] = await Promise.all([
			rd(s, { path: big, session: S, offset: MiB, length: MiB }),
			wr(s, { path: path.join(DATA, 'during.txt'), content: 'during\n', session: S }),
			rd(s, { path: path.join(DATA, 'shell-w.txt'), session: S })]);
		const took = Date.now() - t0;
		t.check(good(r1) && good(w1) && good(r2) && r2.sc.content === 'w\n', 'read, write and read at once while the shell is busy', `${show(r1).slice(0, 300)}\n${show(w1)}\n${show(r2)}`);
		t.check(took < 3500, `they did not wait for the shell command (${took} ms < 4 s)`, '');
		const st = await s.call('get_command_status', { command_id: a.sc.command_id, wait: 10 }, { timeout: 30000 });
		t.check(st.sc.status === 'completed' && /slept/.test(st.sc.output || ''), 'the shell command completes with its output', show(st));
		e = await ex(s, 'echo "$FSVAR"; cat during.txt', { session: S });
		t.eq(e.out, 'kept\nduring\n', 'the shell still has its state and sees the written file', e.sc);
		// a file op on a session that does not exist yet opens it; list_sessions shows it
		r = await rd(s, { path: path.join(DATA, 'shell-w.txt'), session: 'fresh-fs' });
		t.check(good(r) && r.sc.content === 'w\n', 'read_file on a new session name works', show(r));
	} },

	{ name: 'execute_on_hosts', timeout: 150, run: async (t, { server: s }) => {
		const hosts = ['fa1', 'fa2', 'fa3', 'fdead'];
		let progress = [];
		let r = await s.call('execute_on_hosts', { hosts, command: 'echo "hi $SSH_CONNECTION" | cut -c1-6; echo err >&2; exit 0', timeout: 20 },
			{ timeout: 60000, onprogress: (p) => progress.push(p) });
		if (!t.check(good(r) || (r.res && r.sc.results), 'execute_on_hosts over 4 hosts → a result', show(r))) return;
		const res = Array.isArray(r.sc.results) ? r.sc.results : [];
		t.eq(res.length, 4, 'one result per host', r.sc);
		const by = Object.fromEntries(res.map((x) => [x.host, x]));
		t.eq(Object.keys(by).sort(), [...hosts].sort(), 'each host named once, as called', r.sc);
		for (const h of ['fa1', 'fa2', 'fa3']) {
			const x = by[h] || {};
			t.check(x.exit_code === 0 && x.stdout === 'hi 127\n' && (x.error === null || x.error === undefined || x.error === ''),
				`${h}: exit_code 0, its stdout, no error`, J(x));
			t.check(x.stderr === 'err\n', `${h}: stderr apart from stdout`, J(x));
			t.check(typeof x.duration_ms === 'number', `${h}: duration_ms`, J(x));
		}
		const d = by.fdead || {};
		t.check(typeof d.error === 'string' && /refused/i.test(d.error) && !d.error.includes('\n'), 'fdead: a one-line error saying connection refused', J(d));
		t.check(d.exit_code === null || d.exit_code === 255 || d.exit_code === undefined, `fdead: exit_code null or 255 (${J(d.exit_code)})`, J(d));
		t.eq(r.sc.failed, 1, 'failed: 1', r.sc);
		t.check(progress.length >= 1, `progress notifications as hosts finish (${progress.length})`, J(progress));
		t.check(progress.every((p, i) => i === 0 || p.progress > progress[i - 1].progress), 'progress values increase', J(progress));
		const last = progress[progress.length - 1];
		t.check(!last || last.total === undefined || last.total === 4, 'progress total is the host count', J(progress));
		// per-host exit codes, a hostlist string, max_parallel
		r = await s.call('execute_on_hosts', { hosts: 'fa[1-3]', command: 'exit 3', max_parallel: 1 }, { timeout: 60000 });
		const res2 = Array.isArray(r.sc.results) ? r.sc.results : [];
		t.eq(res2.map((x) => x.host).sort(), ['fa1', 'fa2', 'fa3'], 'hosts "fa[1-3]" expands to 3 hosts', r.sc);
		t.check(res2.length === 3 && res2.every((x) => x.exit_code === 3), 'each exit_code 3', J(r.sc));
		t.check(r.sc.failed === 3 || r.sc.failed === 0, `failed counts non-zero exits (${r.sc.failed})`, J(r.sc));
		t.note(`execute_on_hosts: 'exit 3' on 3 hosts → failed ${r.sc.failed}, isError ${r.res?.isError}`);
		// a timeout on one host only
		const t0 = Date.now();
		r = await s.call('execute_on_hosts', { hosts: ['fa1', 'fa2'], command: 'sleep 30.5', timeout: 2 }, { timeout: 60000 });
		const res3 = Array.isArray(r.sc.results) ? r.sc.results : [];
		t.check(res3.length === 2 && res3.every((x) => x.error && /time/i.test(x.error)), 'timeout 2 on sleep 30: each host reports a timeout', show(r));
		t.check(Date.now() - t0 < 15000, `… after about 2 s, not 30 (${Date.now() - t0} ms)`, '');
		const left = sh('pgrep', ['-u', T_USER, '-f', 'sleep 30.5']).trim();
		await sleep(1500);
		t.eq(sh('pgrep', ['-u', T_USER, '-f', 'sleep 30.5']).trim(), '', `… and the remote sleeps are gone (${left ? 'were running' : 'none seen'})`);
		for (const p of sh('pgrep', ['-u', T_USER, '-f', 'sleep 30.5']).split('\n').filter(Boolean)) { try { process.kill(+p, 'SIGKILL'); } catch { /* gone */ } }
		// bad input: an empty list, a bad range
		r = await s.call('execute_on_hosts', { hosts: [], command: 'true' }, { timeout: 20000 });
		t.check(!r.err ? r.res.isError === true : true, 'hosts [] → an error', show(r));
		r = await s.call('execute_on_hosts', { hosts: 'fa[3-1]', command: 'true' }, { timeout: 20000 });
		t.check(!r.err ? r.res.isError === true : true, 'hosts "fa[3-1]" → an error', show(r));
		// big output per host stays per host
		const maxb = s.tools.get('execute_on_hosts')?.inputSchema?.properties?.max_bytes?.maximum;
		if (typeof maxb === 'number') {
			r = await s.call('execute_on_hosts', { hosts: 'fa1', command: 'echo m', max_bytes: maxb }, { timeout: 30000 });
			t.check(good(r), `max_bytes ${maxb} (the inputSchema's maximum) is accepted`, show(r));
		}
		r = await s.call('execute_on_hosts', { hosts: 'fa[1-3]', command: 'seq 1 20000', max_bytes: 200000 }, { timeout: 60000 });
		const want = Array.from({ length: 20000 }, (_, i) => `${i + 1}\n`).join('');
		t.check((r.sc.results || []).length === 3 && r.sc.results.every((x) => x.stdout === want), 'seq 1 20000 (109 KB) on 3 hosts, max_bytes 200000: each stdout whole',
			show(r).slice(0, 600) + '\n' + J((r.sc.results || []).map((x) => ({ host: x.host, len: (x.stdout || '').length, want: want.length, truncated: x.truncated, error: x.error, head: (x.stdout || '').slice(0, 40) }))));
	} },
];

export async function after(t, ctx) {
	for (const s of ctx.servers) {
		if (s.schemaViolations?.length) t.fail('results match the tools\' outputSchema', s.schemaViolations.slice(0, 10).join('\n'));
	}
	if (!ctx.servers.some((s) => s.schemaViolations?.length)) t.ok('every result matched its tool\'s outputSchema');
}
