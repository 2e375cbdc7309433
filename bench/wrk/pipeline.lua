-- Pipelining: PIPELINE_DEPTH (default 16) GET requests in every write. wrk counts each
-- response as one request, so requests/s compare directly with the keep-alive scenario.
local depth = tonumber(os.getenv("PIPELINE_DEPTH") or "16")

init = function(args)
   batch = string.rep(wrk.format("GET", "/"), depth)
end

request = function()
   return batch
end
