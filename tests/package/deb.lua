-- deb.lua - one message through the packaged daemon's socket.
-- Run by deb.sh: miltertest -D sock=PATH -s deb.lua
-- The recipient domain has no MX set (.invalid): whatever DNS answers, or
-- if it does not answer, the milter accepts (not-mx or error, fail open),
-- and with the package's Action log it never adds a header.

dofile((debug.getinfo(1, "S").source:match("^@?(.*/)") or "./") .. "../integration/mt_lib.lua")

local function run()
	local conn = connect_from("192.0.2.7", "127.0.0.1", "mx.example.test")
	check(mt.getreply(conn) == SMFIR_CONTINUE, "connect: expected continue")
	-- the milter negotiates away HELO (SMFIP_NOHELO): an MTA never sends it
	if not mt.test_option(conn, SMFIP_NOHELO) then
		check(mt.helo(conn, "client.example") == nil, "mt.helo() failed")
		check(mt.getreply(conn) == SMFIR_CONTINUE, "HELO: expected continue")
	end
	mail_from(conn, "4Deb1")
	rcpt_to(conn, "4Deb1", "user@no-mx.invalid", SMFIR_CONTINUE)
	check(mt.header(conn, "Subject", "package") == nil, "mt.header() failed")
	check(mt.eom(conn) == nil, "mt.eom() failed")
	local r = mt.getreply(conn)
	check(r == SMFIR_CONTINUE or r == SMFIR_ACCEPT, "EOM: expected continue or accept")
	check(not mt.eom_check(conn, MT_HDRADD), "Action log must add no header")
	mt.disconnect(conn)
end

run_script("deb.lua", run)
