# shellcheck shell=bash
# tests/mcp/tap.sh — run an MCP scenario file (tests/mcp/*.mjs) with the node driver and count
# its results with lib.sh's ok/fail/skip. Source it after lib.sh.
#   mcp_scenarios FILE   runs `node tests/mcp/client.mjs FILE` under timeout ${T:-500}
# The driver prints "ok - D", "not ok - D" (with "#   detail" lines) and "# driver done P F"
# last; a driver that dies or overruns without that line is one more failure.
MCP_DIR=$TESTS_DIR/mcp
export MCP_SDK=${MCP_SDK:-$REPO/build/npm}

# mcp_need_node: bail out (one failure) when node or the SDK is missing
mcp_need_node() {
	command -v node >/dev/null 2>&1 || die "node is not installed"
	[ -f "$MCP_SDK/node_modules/@modelcontextprotocol/sdk/package.json" ] ||
		die "no MCP SDK in $MCP_SDK" "install it: npm install --no-audit --no-fund --prefix build/npm @modelcontextprotocol/sdk@$(sed -n 's/.*"@modelcontextprotocol\/sdk": "\(.*\)".*/\1/p' "$MCP_DIR/package.json")"
}

mcp_scenarios() {   # FILE
	local file=$1 line desc='' detail='' pending=0 done=0 rc=''
	_mcp_flush() {
		[ "$pending" = 1 ] || return 0
		fail "$desc" "$detail"
		pending=0 desc='' detail=''
	}
	while IFS= read -r line; do
		case "$line" in
		'ok - '*' # SKIP '*)
			_mcp_flush; desc=${line#ok - }; skip "${desc%% # SKIP *}" "${desc#* # SKIP }" ;;
		'ok - '*) _mcp_flush; ok "${line#ok - }" ;;
		'not ok - '*) _mcp_flush; desc=${line#not ok - }; pending=1 ;;
		'#   '*)
			if [ "$pending" = 1 ]; then detail+="${line#\#   }"$'\n'; else echo "$line"; fi ;;
		'# driver done '*) _mcp_flush; done=1; echo "$line" ;;
		'# driver exit '*) _mcp_flush; rc=${line#\# driver exit } ;;
		*) _mcp_flush; echo "$line" ;;
		esac
	done < <(timeout -k 5 "${T:-500}" node "$MCP_DIR/client.mjs" "$file" 2>&1; echo "# driver exit $?")
	_mcp_flush
	if [ "$done" != 1 ]; then
		fail "MCP driver ran $(basename "$file") to its end" "driver exit status ${rc:-?} (124: timeout after ${T:-500} s)"
	fi
}
