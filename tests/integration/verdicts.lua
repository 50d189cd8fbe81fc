-- verdicts.lua - verdicts and actions through the real daemon, one phase
-- per run. Run by verdicts.sh:
--   miltertest -D sock=PATH -D phase=NAME -s verdicts.lua
-- This host is backup.bypass.test (127.0.0.30); see zones/bypass.test.zone.

local H = "X-MX-Bypass"

dofile((debug.getinfo(1, "S").source:match("^@?(.*/)") or "./") .. "mt_lib.lua")

-- a connection from client to this host
local function open(client)
	return connect_from(client, "127.0.0.30", "backup.bypass.test")
end

local mail = mail_from

local rcpt = rcpt_to

-- group - what the header says of one bypassed domain
local function group(domain)
	return "; domain=" .. domain .. ".bypass.test; via=backup.bypass.test (pref 20)"
		.. "; reachable=up.bypass.test (pref 10)"
end

-- finish - headers, end of message, and the header the milter must add
-- (nil: none); forged copies sent along must be deleted
local function finish(conn, want, forged)
	check(mt.header(conn, "Subject", "verdicts") == nil, "mt.header() failed")
	for i = 1, forged or 0 do
		check(mt.header(conn, H, "bypass; forged " .. i) == nil, "mt.header() failed")
	end
	check(mt.eom(conn) == nil, "mt.eom() failed")
	check(mt.getreply(conn) == SMFIR_CONTINUE, "EOM: expected continue")
	if want then
		local got = mt.getheader(conn, H, 0)
		check(got == want, "header: got [" .. tostring(got) .. "], expected [" .. want .. "]")
		check(mt.getheader(conn, H, 1) == nil, "more than one header added")
	else
		check(not mt.eom_check(conn, MT_HDRADD), "no header expected")
	end
	-- how many were deleted, the milter's log says (verdicts.sh)
	check(mt.eom_check(conn, MT_HDRDELETE, H) == ((forged or 0) > 0), "forged header deletion")
end

local phases = {}

-- a tarpitting primary: the RCPT answer still comes within ProbeTimeout
function phases.tarpit()
	local conn = open("192.0.2.7")
	mail(conn, "T1")
	rcpt(conn, "T1", "user@tarpit.bypass.test", SMFIR_CONTINUE)
	finish(conn, nil)
	mt.disconnect(conn)
end

-- one message, every verdict, one header naming each bypassed domain
function phases.verdicts()
	local conn = open("192.0.2.7")
	mail(conn, "V1")
	for _, d in ipairs({ "live", "dead", "tarpit", "busy", "rude", "mixed", "primary",
			     "equal", "other", "quiet", "live2" }) do
		rcpt(conn, "V1", "user@" .. d .. ".bypass.test", SMFIR_CONTINUE)
	end
	rcpt(conn, "V1", "user@www.broken.test", SMFIR_CONTINUE)
	rcpt(conn, "V1", "user@[127.0.0.30]", SMFIR_CONTINUE)
	rcpt(conn, "V1", "postmaster", SMFIR_CONTINUE)
	rcpt(conn, "V1", "second@LIVE.bypass.test", SMFIR_CONTINUE)
	finish(conn, "bypass" .. group("live") .. group("mixed")
		.. "; domain=quiet.bypass.test; via=backup.bypass.test (pref 20)"
		.. "; reachable=greeter.bypass.test (pref 10)" .. group("live2"), 2)
	mt.disconnect(conn)
end

-- ten bypassed domains in one message: the header names the first 8 (its
-- cap), and says how many more there were
function phases.many()
	local conn = open("192.0.2.7")
	local want = "bypass"
	mail(conn, "M1")
	for i = 1, 10 do
		rcpt(conn, "M1", "user@many" .. i .. ".bypass.test", SMFIR_CONTINUE)
		if i <= 8 then want = want .. group("many" .. i) end
	end
	finish(conn, want .. "; more=2")
	mt.disconnect(conn)
end

-- ActionMap: reject, tempfail and log beside the default tag, per recipient
function phases.actions()
	local conn = open("192.0.2.7")
	mail(conn, "A1")
	rcpt(conn, "A1", "user@reject.bypass.test", SMFIR_REPLYCODE)
	rcpt(conn, "A1", "user@temp.bypass.test", SMFIR_REPLYCODE)
	rcpt(conn, "A1", "user@dryrun.bypass.test", SMFIR_CONTINUE)
	rcpt(conn, "A1", "user@live.bypass.test", SMFIR_CONTINUE)
	finish(conn, "bypass" .. group("live"))
	-- a retry before RetryAfter is tempfailed again
	mail(conn, "A2")
	rcpt(conn, "A2", "user@temp.bypass.test", SMFIR_REPLYCODE)
	check(mt.abort(conn) == nil, "mt.abort() failed")
	mt.disconnect(conn)
end

-- after RetryAfter: a retry from the same network is accepted and tagged;
-- another network is on its first try
function phases.retry()
	local conn = open("192.0.2.99")
	mail(conn, "R1")
	rcpt(conn, "R1", "other@temp.bypass.test", SMFIR_CONTINUE)
	finish(conn, "bypass" .. group("temp"))
	mt.disconnect(conn)
	conn = open("198.51.100.7")
	mail(conn, "R2")
	rcpt(conn, "R2", "user@temp.bypass.test", SMFIR_REPLYCODE)
	check(mt.abort(conn) == nil, "mt.abort() failed")
	mt.disconnect(conn)
end

-- exemptions: trusted, authenticated, a sibling MX relaying, outside
-- Domains; and an IPv6 client, which is not exempt
function phases.exempt()
	local conn = open("10.9.9.9")
	mail(conn, "E1")
	rcpt(conn, "E1", "user@live.bypass.test", SMFIR_CONTINUE)
	finish(conn, nil)
	mt.disconnect(conn)

	conn = open("192.0.2.7")
	mail(conn, "E2", "alice")
	rcpt(conn, "E2", "user@live.bypass.test", SMFIR_CONTINUE)
	finish(conn, nil)
	mail(conn, "E3")
	rcpt(conn, "E3", "user@outside.test", SMFIR_CONTINUE)
	rcpt(conn, "E3", "user@quiet.bypass.test", SMFIR_CONTINUE)
	finish(conn, "bypass; domain=quiet.bypass.test; via=backup.bypass.test (pref 20)"
		.. "; reachable=greeter.bypass.test (pref 10)")
	mt.disconnect(conn)

	conn = open("127.0.0.21")
	mail(conn, "E4")
	rcpt(conn, "E4", "user@live.bypass.test", SMFIR_CONTINUE)
	finish(conn, nil)
	mt.disconnect(conn)

	conn = open("2001:db8::7")
	mail(conn, "E5")
	rcpt(conn, "E5", "user@live.bypass.test", SMFIR_CONTINUE)
	finish(conn, "bypass" .. group("live"))
	mt.disconnect(conn)
end

-- after a reload to Action log: nothing tagged, nothing refused
function phases.reloaded()
	local conn = open("192.0.2.7")
	mail(conn, "L1")
	rcpt(conn, "L1", "user@live.bypass.test", SMFIR_CONTINUE)
	rcpt(conn, "L1", "user@reject.bypass.test", SMFIR_CONTINUE)
	finish(conn, nil)
	mt.disconnect(conn)
end

-- one recipient in a domain not asked for yet: -D fresh=DOMAIN
function phases.fresh()
	local conn = open("192.0.2.7")
	mail(conn, "F1")
	rcpt(conn, "F1", "user@" .. fresh, SMFIR_CONTINUE)
	finish(conn, nil)
	mt.disconnect(conn)
end

run_script("verdicts.lua " .. phase, phases[phase])
