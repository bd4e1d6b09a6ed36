import type { Algorithm } from './rate-limit-policy.ts';

// Each script is the Lua twin of its function in rate-limit-algorithms.ts: read the key's state,
// decide, write the state back, all in one atomic step on the Redis server. `now` comes from the
// caller (gateway clocks are NTP-synced; it also lets tests use a fake clock).
const prelude = `
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local raw = redis.call('GET', key)
local s = {}
if raw then s = cjson.decode(raw) end
local function save(state)
  redis.call('SET', key, cjson.encode(state), 'PX', math.ceil(window * 2))
end
`;

// Returns {allowed (0/1), remaining, resetMs, retryAfterMs, delayMs}.
const bodies: Record<Algorithm, string> = {
  token_bucket: `
local perMs = limit / window
local stored = s[1] or limit
local at = s[2] or now
local tokens = math.min(limit, stored + (now - at) * perMs)
if tokens >= 1 then
  local left = tokens - 1
  save({left, now})
  return {1, math.floor(left), math.ceil((limit - left) / perMs), 0, 0}
end
save({tokens, now})
return {0, 0, math.ceil((limit - tokens) / perMs), math.ceil((1 - tokens) / perMs), 0}
`,
  leaky_bucket: `
local interval = window / limit
local nextFree = math.max(now, s[1] or now)
local delay = nextFree - now
local queued = math.ceil(delay / interval)
if queued >= limit then
  save({nextFree})
  return {0, 0, math.ceil(delay), math.ceil(delay - (limit - 1) * interval), 0}
end
save({nextFree + interval})
return {1, limit - queued - 1, math.ceil(delay + interval), 0, math.ceil(delay)}
`,
  fixed_window: `
local start = math.floor(now / window) * window
local count = 0
if s[1] == start then count = s[2] end
local reset = start + window - now
if count >= limit then
  save({start, count})
  return {0, 0, reset, reset, 0}
end
save({start, count + 1})
return {1, limit - count - 1, reset, 0, 0}
`,
  sliding_window: `
local hits = {}
for _, at in ipairs(s) do
  if at > now - window then table.insert(hits, at) end
end
local oldest = hits[1] or now
if #hits >= limit then
  save(hits)
  local retry = oldest + window - now
  return {0, 0, retry, retry, 0}
end
table.insert(hits, now)
save(hits)
return {1, limit - #hits, hits[1] + window - now, 0, 0}
`,
};

export const redisScripts: Record<Algorithm, string> = {
  token_bucket: prelude + bodies.token_bucket,
  leaky_bucket: prelude + bodies.leaky_bucket,
  fixed_window: prelude + bodies.fixed_window,
  sliding_window: prelude + bodies.sliding_window,
};
