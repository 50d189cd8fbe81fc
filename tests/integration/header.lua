-- header.lua - the header the daemon adds to one bypassing recipient,
-- printed as "header: VALUE". Run by rspamd.sh:
--   miltertest -D sock=PATH -s header.lua
-- This host is backup.bypass.test (127.0.0.30); see zones/bypass.test.zone.
dofile((debug.getinfo(1, "S").source:match("^@?(.*/)") or "./") .. "mt_lib.lua")

run_script("header.lua", function()
	local conn = connect_from("192.0.2.7", "127.0.0.30", "backup.bypass.test")
	mail_from(conn, "H1")
	rcpt_to(conn, "H1", "user@live.bypass.test", SMFIR_CONTINUE)
	check(mt.header(conn, "Subject", "header") == nil, "mt.header() failed")
	check(mt.eom(conn) == nil, "mt.eom() failed")
	local value = mt.getheader(conn, "X-MX-Bypass", 0)
	check(value ~= nil, "no X-MX-Bypass header added")
	mt.echo("header: " .. value)
	mt.disconnect(conn)
end)
