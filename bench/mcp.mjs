// bench/mcp.mjs — what the MCP benches share: an `sshmcp serve` started through the official
// SDK's StdioClientTransport, as a real client does (listTools arms output validation).
// Its PID goes to $PIDFILE for the calling script's cleanup.
import { appendFileSync } from 'node:fs';
import { loadSdk, SSHMCP } from '../tests/mcp/client.mjs';

export const sdk = await loadSdk();

// startServer(): {client, transport, err()}; err() is the tail of the server's stderr
export async function startServer() {
	const transport = new sdk.StdioClientTransport({ command: SSHMCP, args: ['serve'], env: { ...process.env }, stderr: 'pipe' });
	let errTail = '';
	transport.stderr?.on('data', (b) => { errTail = (errTail + b.toString('utf8')).slice(-2000); });
	const client = new sdk.Client({ name: 'sshmcp-bench', version: '1' }, { capabilities: {} });
	await client.connect(transport, { timeout: 20000 });
	if (process.env.PIDFILE && transport.pid) appendFileSync(process.env.PIDFILE, `${transport.pid}\n`);
	await client.listTools({}, { timeout: 20000 });
	return { client, transport, err: () => errTail };
}
