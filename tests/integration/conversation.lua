-- conversation.lua - what the milter negotiates, and that the whole job is
-- done with it: one connection, a bypass and an authenticated message.
-- Run by conversation.sh:
--   miltertest -D sock=PATH -D mta=lists|nolists -D want=OPTIONS -D q=QID
--     -D tag=yes|no -s conversation.lua
-- mta: lists is an MTA that takes macro lists (SMFIF_SETSYMLIST, as Postfix
-- and Sendmail do); nolists one that does not offer them; ignores one that
-- offers them and sends its own (no {client_addr} at connect, no
-- {auth_authen} at RCPT). want: the
-- protocol options the milter must ask for ("+NAME") or must not ("-NAME"),
-- comma-separated, e.g. "+NOMAIL,+NR_RCPT,-NR_CONN". The two messages' queue
-- ids are QID1 and QID2. tag: whether the bypass is tagged (Action log: no).
-- This host is backup.bypass.test (127.0.0.30); see zones/bypass.test.zone.

dofile((debug.getinfo(1, "S").source:match("^@?(.*/)") or "./") .. "mt_lib.lua")

local H = "X-MX-Bypass"
local options = {
	NOMAIL = SMFIP_NOMAIL, NOHDRS = SMFIP_NOHDRS, NORCPT = SMFIP_NORCPT,
	NR_CONN = SMFIP_NR_CONN, NR_MAIL = SMFIP_NR_MAIL, NR_RCPT = SMFIP_NR_RCPT,
	NR_HDR = SMFIP_NR_HDR,
}

local function run()
	local conn = mt.connect("unix:" .. sock, 40, 0.25)
	check(conn ~= nil, "mt.connect() failed")
	if mta == "nolists" then
		-- every action but macro lists; miltertest 1.6 takes the steps
		-- third and the actions fourth (its manual says the reverse)
		check(mt.negotiate(conn, 6, nil, SMFIF_ADDHDRS + SMFIF_CHGBODY + SMFIF_ADDRCPT
				   + SMFIF_DELRCPT + SMFIF_CHGHDRS + SMFIF_QUARANTINE) == nil,
		      "mt.negotiate() failed")
		check(not mt.test_action(conn, SMFIF_SETSYMLIST), "macro lists asked for")
	end
	for sign, name in string.gmatch(want, "([+-])([%u_]+)") do
		check(options[name] ~= nil, "unknown option " .. name)
		check(mt.test_option(conn, options[name]) == (sign == "+"),
		      (sign == "+" and "not negotiated: " or "negotiated: ") .. name)
	end

	if mta == "ignores" then
		mt.macro(conn, SMFIC_CONNECT, "{daemon_addr}", "127.0.0.30", "j", "backup.bypass.test")
	else
		mt.macro(conn, SMFIC_CONNECT, "{daemon_addr}", "127.0.0.30", "{client_addr}", "192.0.2.7",
			 "j", "backup.bypass.test")
	end
	check(mt.conninfo(conn, "client.example", "192.0.2.7") == nil, "mt.conninfo() failed")
	if not mt.test_option(conn, SMFIP_NR_CONN) then
		check(mt.getreply(conn) == SMFIR_CONTINUE, "connect: expected continue")
	end

	-- a bypass: tagged at end of message (tag), the forged copy removed
	mail_from(conn, q .. "1", "")
	rcpt_to(conn, q .. "1", "user@live.bypass.test", SMFIR_CONTINUE)
	check(mt.header(conn, "Subject", "conversation") == nil, "mt.header() failed")
	check(mt.header(conn, H, "bypass; forged") == nil, "mt.header() failed")
	check(mt.eom(conn) == nil, "mt.eom() failed")
	check(mt.getreply(conn) == SMFIR_CONTINUE, "EOM: expected continue")
	local got = mt.getheader(conn, H, 0)
	if tag == "yes" then
		check(got ~= nil and string.find(got, "bypass; domain=live.bypass.test;", 1, true) == 1,
		      "header: got " .. tostring(got))
	else
		check(got == nil, "header added: " .. tostring(got))
	end
	check(mt.eom_check(conn, MT_HDRDELETE, H), "forged header not deleted")

	-- the same connection, an authenticated sender: exempt
	mail_from(conn, q .. "2", mta ~= "ignores" and "alice" or nil)
	rcpt_to(conn, q .. "2", "user@live.bypass.test", SMFIR_CONTINUE)
	check(mt.eom(conn) == nil, "mt.eom() 2 failed")
	check(mt.getreply(conn) == SMFIR_CONTINUE, "EOM 2: expected continue")
	mt.disconnect(conn)
end

run_script("conversation.lua", run)
