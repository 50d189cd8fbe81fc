-- mem.lua - many distinct recipient domains, or many distinct client
-- networks, through the real daemon (for its peak RSS). Run by run.sh:
--   miltertest -D sock=PATH -D mode=domains|clients -D first=N -D count=N -s mem.lua
-- domains: one connection, COUNT recipients in distinct domains dN.mem.test.
-- clients: COUNT connections from distinct /24 networks, each one
-- recipient of live.bypass.test (bypass, tempfailed: retry memory).

dofile((debug.getinfo(1, "S").source:match("^@?(.*/)") or "./") .. "../integration/mt_lib.lua")

local function open(client)
	return connect_from(client, "127.0.0.30")
end

local function run()
	local first, n = tonumber(first), tonumber(count)
	if mode == "domains" then
		local conn = open("192.0.2.7")
		mail_from(conn, "Q1")
		for i = first, first + n - 1 do
			check(mt.rcptto(conn, "<u@d" .. i .. ".mem.test>") == nil, "mt.rcptto() failed")
		end
		-- RCPT may be unanswered (Action tag): the end of message waits
		-- until every recipient was decided
		check(mt.eom(conn) == nil, "mt.eom() failed")
		check(mt.getreply(conn) == SMFIR_CONTINUE, "EOM: expected continue")
		mt.disconnect(conn)
	else
		for i = first, first + n - 1 do
			local a, b, c = 10 + (i // 65536) % 200, (i // 256) % 256, i % 256
			local conn = open(a .. "." .. b .. "." .. c .. ".7")
			mail_from(conn, "Q1")
			check(mt.rcptto(conn, "<u@live.bypass.test>") == nil, "mt.rcptto() failed")
			mt.disconnect(conn)
		end
	end
end

run_script("mem.lua", run)
