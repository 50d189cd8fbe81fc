-- refresh.lua - one connection asking for one domain again and again at a
-- steady pace, as a domain in steady use is. Run by refresh.sh:
--   miltertest -D sock=PATH -D domain=NAME -D count=N -D pause=SECS -s refresh.lua
-- Every recipient must be accepted (whatever its verdict, the reply is
-- continue for Action tag).

dofile((debug.getinfo(1, "S").source:match("^@?(.*/)") or "./") .. "mt_lib.lua")

run_script("refresh " .. domain, function()
	local conn = connect_from("192.0.2.7", "127.0.0.30", "backup.bypass.test")
	mail_from(conn, "H1")
	for i = 1, tonumber(count) do
		rcpt_to(conn, "H1", "user" .. i .. "@" .. domain, SMFIR_CONTINUE)
		mt.sleep(tonumber(pause))
	end
	mt.disconnect(conn)
end)
