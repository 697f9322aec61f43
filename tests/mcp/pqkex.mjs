// tests/mcp/pqkex.mjs — serve-mode scenarios for tests/09-pq-kex.sh: an MCP client (the official
// SDK) runs a command through `sshmcp serve` on each server of the hybrid key exchanges, and
// each server's log must name the exchange it agreed on.
//   MCP_PQ_HOSTS  "alias:LOGFILE:kex ..." — the ssh_config alias, its server's log, the kex
import { readFileSync } from 'node:fs';

const HOSTS = (process.env.MCP_PQ_HOSTS || '').split(' ').filter(Boolean).map((x) => {
	const [alias, log, kex] = x.split(':');
	return { alias, log, kex };
});
// the key exchanges a server log names, in order
const kexes = (log) => [...readFileSync(log, 'utf8').matchAll(/kex: algorithm: (\S+)/g)].map((m) => m[1]);

export const scenarios = HOSTS.map(({ alias, log, kex }) => ({
	name: `${alias} (${kex})`, timeout: 60, run: async (t, { server: s }) => {
		const before = kexes(log).length;
		const r = await s.call('execute_command', { host: alias, session: 'pq', command: `echo serve-${alias}`, wait: 30 });
		t.check(!r.err && r.res && !r.res.isError && r.sc.status === 'completed' &&
			r.sc.output === `serve-${alias}\n`, `serve runs a command on ${alias}`, r.err || r.res);
		const seen = kexes(log).slice(before);
		t.check(seen.length > 0 && seen.every((k) => k === kex), `the server agreed on ${kex}`, seen);
		await s.call('close_session', { host: alias, session: 'pq' });
	},
}));
