-- mt_lib.lua - what the miltertest scripts share. Load it first:
--   dofile((debug.getinfo(1, "S").source:match("^@?(.*/)") or "./")
--          .. "RELATIVE/PATH/mt_lib.lua")
--
--   check(cond, what)            error(what) unless cond
--   connect_from(client, daemon, name)  connect to the milter at sock, from client to
--                                daemon ({daemon_addr}, {client_addr}; name: the j
--                                macro), as an MTA that took the milter's macro lists
--   mail_from(conn, qid, auth)   MAIL with its queue id and {auth_authen};
--                                when the milter skipped the MAIL step (it
--                                reads them at RCPT), they go with each RCPT
--   rcpt_to(conn, qid, addr, want)  RCPT, and the reply it must get (a
--                                milter that does not answer RCPT: continue)
--   run_script(name, fn)         fn in protected mode: "NAME: passed", or
--                                "NAME: why" and exit 1

function check(cond, what)
	if not cond then error(what, 2) end
end

function connect_from(client, daemon, name)
	local conn = mt.connect("unix:" .. sock, 40, 0.25)
	check(conn ~= nil, "mt.connect() failed")
	if name ~= nil then
		mt.macro(conn, SMFIC_CONNECT, "{daemon_addr}", daemon, "{client_addr}", client, "j", name)
	else
		mt.macro(conn, SMFIC_CONNECT, "{daemon_addr}", daemon, "{client_addr}", client)
	end
	check(mt.conninfo(conn, "client.example", client) == nil, "mt.conninfo() failed")
	return conn
end

local auth_of = {}	-- conn: {auth_authen} of its message, when sent at RCPT

function mail_from(conn, qid, auth)
	if mt.test_option(conn, SMFIP_NOMAIL) then
		auth_of[conn] = auth or ""
		return
	end
	mt.macro(conn, SMFIC_MAIL, "i", qid, "{auth_authen}", auth or "")
	check(mt.mailfrom(conn, "<sender@example.net>") == nil, "mt.mailfrom() failed")
end

function rcpt_to(conn, qid, addr, want)
	if auth_of[conn] ~= nil then
		mt.macro(conn, SMFIC_RCPT, "i", qid, "{auth_authen}", auth_of[conn])
	else
		mt.macro(conn, SMFIC_RCPT, "i", qid)
	end
	check(mt.rcptto(conn, "<" .. addr .. ">") == nil, "mt.rcptto() failed")
	if mt.test_option(conn, SMFIP_NR_RCPT) then
		check(want == SMFIR_CONTINUE, addr .. ": RCPT is not answered, expected " .. tostring(want))
		return
	end
	local got = mt.getreply(conn)
	check(got == want, addr .. ": reply " .. tostring(got) .. ", expected " .. tostring(want))
end

function run_script(name, fn)
	local ok, err = pcall(fn)
	if not ok then
		mt.echo(name .. ": " .. tostring(err))
		os.exit(1)
	end
	mt.echo(name .. ": passed")
end
