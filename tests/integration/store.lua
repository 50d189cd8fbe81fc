-- store.lua - one connection through a milter that shares its state in
-- Redis, one message, the replies it must get. Run by store.sh:
--   miltertest -D sock=PATH -D client=ADDR -D qid=QID
--     -D rcpts=user@temp.bypass.test=code,user@live.bypass.test=continue
--     -D header=live.bypass.test [-D daemon=ADDR] -s store.lua
-- A recipient's want is "continue" (accepted) or "code" (451 or 550: the
-- log says which). header: the domains the added header must name, "-" for
-- no header, "any" to leave it unchecked. Each RCPT round trip is printed as
-- "rcpt ADDRESS START-MS ELAPSED-MS" so that the test can time decisions.
-- This host is backup.bypass.test (127.0.0.30) unless daemon names the
-- address the client reached; see zones/bypass.test.zone.

local H = "X-MX-Bypass"

dofile((debug.getinfo(1, "S").source:match("^@?(.*/)") or "./") .. "mt_lib.lua")

-- now_ms - the wall clock in milliseconds (Lua has only seconds)
local function now_ms()
	local p = io.popen("date +%s%3N")
	local t = tonumber(p:read("*l"))
	p:close()
	return t
end

local function run()
	local conn = connect_from(client, daemon or "127.0.0.30", "backup.bypass.test")
	mail_from(conn, qid)

	local accepted = 0
	for addr, want in string.gmatch(rcpts, "([^,=]+)=([^,]+)") do
		local expect = want == "continue" and SMFIR_CONTINUE or SMFIR_REPLYCODE
		check(want == "continue" or want == "code", addr .. ": want " .. want .. "?")
		mt.macro(conn, SMFIC_RCPT, "i", qid, "{rcpt_addr}", addr)
		local t0 = now_ms()
		check(mt.rcptto(conn, "<" .. addr .. ">") == nil, "mt.rcptto() failed")
		local got = mt.getreply(conn)
		local t1 = now_ms()
		mt.echo("rcpt " .. addr .. " " .. t0 .. " " .. (t1 - t0))
		check(got == expect, addr .. ": reply " .. tostring(got) .. ", expected " .. want)
		if got == SMFIR_CONTINUE then accepted = accepted + 1 end
	end

	if accepted == 0 then
		check(mt.abort(conn) == nil, "mt.abort() failed")
		mt.disconnect(conn)
		return
	end
	check(mt.header(conn, "Subject", "store") == nil, "mt.header() failed")
	check(mt.eom(conn) == nil, "mt.eom() failed")
	check(mt.getreply(conn) == SMFIR_CONTINUE, "EOM: expected continue")
	if header == "-" then
		check(not mt.eom_check(conn, MT_HDRADD), "no header expected")
	elseif header ~= "any" then
		local got = mt.getheader(conn, H, 0)
		check(got ~= nil and string.sub(got, 1, 7) == "bypass;", "header: got " .. tostring(got))
		for d in string.gmatch(header, "[^,]+") do
			check(string.find(got, "domain=" .. d .. ";", 1, true) ~= nil,
			      "header does not name " .. d .. ": " .. got)
		end
	end
	mt.disconnect(conn)
end

run_script("store.lua " .. qid, run)
