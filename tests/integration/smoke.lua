-- smoke.lua - drive the real daemon through one connection, two messages.
-- Run by smoke.sh: miltertest -D sock=PATH -s smoke.lua

dofile((debug.getinfo(1, "S").source:match("^@?(.*/)") or "./") .. "mt_lib.lua")

local function run()
	local conn = mt.connect("unix:" .. sock, 40, 0.25)
	check(conn ~= nil, "mt.connect() failed")

	-- the milter asks for the least the decision needs: no MAIL step (the
	-- macros come with RCPT), and with Action tag no reply to RCPT
	for _, opt in ipairs({ SMFIP_NOHELO, SMFIP_NOBODY, SMFIP_NOEOH, SMFIP_NODATA,
			       SMFIP_NOUNKNOWN, SMFIP_NOMAIL, SMFIP_NR_HDR, SMFIP_NR_RCPT }) do
		check(mt.test_option(conn, opt), "protocol option " .. opt .. " not negotiated")
	end
	-- connect owes no reply (a connection the MTA ends at once is still
	-- read: conversation.sh)
	check(mt.test_option(conn, SMFIP_NR_CONN), "connect must not be answered")
	check(not mt.test_option(conn, SMFIP_NORCPT), "RCPT must not be skipped")
	check(not mt.test_option(conn, SMFIP_NOHDRS), "headers must not be skipped")
	check(mt.test_action(conn, SMFIF_ADDHDRS), "SMFIF_ADDHDRS not negotiated")
	check(mt.test_action(conn, SMFIF_CHGHDRS), "SMFIF_CHGHDRS not negotiated")

	mt.macro(conn, SMFIC_CONNECT, "{daemon_addr}", "127.0.0.2", "{client_addr}", "192.0.2.7",
		 "j", "mx2.example.test")
	check(mt.conninfo(conn, "client.example", "192.0.2.7") == nil, "mt.conninfo() failed")

	-- message 1: carries a forged copy of our header
	mail_from(conn, "4XyZ1", "")
	rcpt_to(conn, "4XyZ1", "user@example.org", SMFIR_CONTINUE)
	check(mt.header(conn, "Subject", "smoke") == nil, "mt.header() failed")
	check(mt.header(conn, "x-mx-bypass", "bypass; forged") == nil, "mt.header() failed")
	check(mt.eom(conn) == nil, "mt.eom() failed")
	check(mt.getreply(conn) == SMFIR_CONTINUE, "EOM: expected continue")
	check(mt.eom_check(conn, MT_HDRDELETE, "X-MX-Bypass"), "forged header not deleted")
	check(not mt.eom_check(conn, MT_HDRADD), "no header should be added")

	-- message 2 on the same connection: clean, authenticated
	mail_from(conn, "4XyZ2", "alice")
	rcpt_to(conn, "4XyZ2", "bob@Example.ORG", SMFIR_CONTINUE)
	check(mt.header(conn, "Subject", "clean") == nil, "mt.header() failed")
	check(mt.eom(conn) == nil, "mt.eom() 2 failed")
	check(mt.getreply(conn) == SMFIR_CONTINUE, "EOM 2: expected continue")
	-- (miltertest forgets a message's changes at MAIL only: without the
	-- MAIL step, smoke.sh reads the log to see that nothing was removed)
	if not mt.test_option(conn, SMFIP_NOMAIL) then
		check(not mt.eom_check(conn, MT_HDRDELETE), "nothing to delete in message 2")
	end

	-- message 3 aborted before its end (RSET)
	mail_from(conn, "4XyZ3")
	rcpt_to(conn, "4XyZ3", "carol@example.org", SMFIR_CONTINUE)
	check(mt.abort(conn) == nil, "mt.abort() failed")

	mt.disconnect(conn)
end

run_script("smoke.lua", run)
