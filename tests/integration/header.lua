-- header.lua - the header the daemon adds to one bypassing recipient,
-- printed as "header: VALUE". Run by rspamd.sh:
--   miltertest -D sock=PATH -s header.lua
-- This host is backup.bypass.test (127.0.0.30); see zones/bypass.test.zone.

local conn = mt.connect("unix:" .. sock, 40, 0.25)
if conn == nil then error("mt.connect() failed") end
mt.macro(conn, SMFIC_CONNECT, "{daemon_addr}", "127.0.0.30", "j", "backup.bypass.test")
if mt.conninfo(conn, "client.example", "192.0.2.7") ~= nil then error("mt.conninfo() failed") end
mt.macro(conn, SMFIC_MAIL, "i", "H1")
if mt.mailfrom(conn, "<sender@example.net>") ~= nil then error("mt.mailfrom() failed") end
mt.macro(conn, SMFIC_RCPT, "i", "H1", "{rcpt_addr}", "user@live.bypass.test")
if mt.rcptto(conn, "<user@live.bypass.test>") ~= nil then error("mt.rcptto() failed") end
if mt.getreply(conn) ~= SMFIR_CONTINUE then error("RCPT: expected continue") end
if mt.header(conn, "Subject", "header") ~= nil then error("mt.header() failed") end
if mt.eom(conn) ~= nil then error("mt.eom() failed") end
local value = mt.getheader(conn, "X-MX-Bypass", 0)
if value == nil then error("no X-MX-Bypass header added") end
mt.echo("header: " .. value)
mt.disconnect(conn)
