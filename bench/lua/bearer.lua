-- Appended to random-escn.lua by bench/wrk.ts (option `token`), in the same chunk so that it can change that
-- script's request template: every request then carries `Authorization: Bearer <token>`.
--
--   wrk ... -s <both> <url> -- <escn file> <path prefix> <path suffix> 0 <token>
--
-- The fourth argument, the rate, is 0 (as fast as the server answers); the fifth is the token.

local plain_init = init

function init(args)
  plain_init(args)
  assert(args[5] and #args[5] > 0, "no bearer token given")
  tail = string.gsub(tail, "\r\n\r\n$", "\r\nAuthorization: Bearer " .. args[5] .. "\r\n\r\n", 1)
end
