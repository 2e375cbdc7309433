-- The JSON API scenario: GET requests to the paths in API_PATHS (space-separated; the harness
-- passes apps/shared.cjs's API_PATHS), in turn. The requests are formatted once, in init: only
-- then does wrk.headers hold the Host header.
local paths = {}
local i = 0

init = function(args)
   for p in string.gmatch(os.getenv("API_PATHS") or "/", "%S+") do
      table.insert(paths, wrk.format("GET", p))
   end
end

request = function()
   i = i % #paths + 1
   return paths[i]
end
