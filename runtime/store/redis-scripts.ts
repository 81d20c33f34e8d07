/**
 * The Redis engine's operations, one Lua script each, so every operation is atomic on the server and a task's
 * state never depends on two round trips. Keys are built inside the scripts from the prefix (ARGV[1]); the prefix
 * carries a hash tag, so on Redis Cluster every key of one runtime lives in one slot (see README, "Past one Redis").
 *
 * Data model, under PREFIX:
 *   seq                  INCR counter: the queue's order
 *   apis                 SET of API names that ever had a task
 *   task:ID              HASH id api format payload status created_at seq [idem callback batch started_at owner
 *                             finished_at outcome skip_reason]
 *   idem:API             HASH idempotency key -> task id
 *   queue:API            ZSET task id -> seq: the API's queued tasks, oldest first
 *   running:API          HASH task id -> owner: the API's tasks in progress and which process holds each
 *   finished             ZSET task id -> finished_at: what the retention sweep walks
 *   delivery:ID          HASH api url body webhook_id status attempts next_attempt_at [auth headers ignore_timeout
 *                             lease_expires_at lease_owner last_status_code last_error round]
 *                        round counts redeliveries: the BullMQ engine's report job of each schedule is ID.rROUND
 *   due                  ZSET task id -> when the pending report is next due (its lease's end while leased)
 *   leased               HASH task id -> owner of the lease
 *   owner:OWNER          STRING with a TTL: the owner's heartbeat; gone = the process stopped
 *   tasks                ZSET task id -> seq: every kept task, for the console's list (newest first)
 *   attempts:ID          LIST of JSON attempt records, oldest first: the report's delivery timeline
 */

/** Helpers every script starts with. */
const PRELUDE = `
local p = ARGV[1]
local function read_task(id)
  local task = redis.call('HGETALL', p .. 'task:' .. id)
  if #task == 0 then return false end
  local delivery = redis.call('HMGET', p .. 'delivery:' .. id, 'status', 'attempts', 'last_status_code', 'last_error')
  return {task, delivery}
end
local function requeue(api, id)
  local key = p .. 'task:' .. id
  redis.call('HDEL', p .. 'running:' .. api, id)
  if redis.call('HGET', key, 'status') ~= 'in_progress' then return 0 end
  redis.call('HSET', key, 'status', 'in_queue')
  redis.call('HDEL', key, 'started_at', 'owner')
  redis.call('ZADD', p .. 'queue:' .. api, tonumber(redis.call('HGET', key, 'seq')), id)
  return 1
end
local function release_lease(id)
  local key = p .. 'delivery:' .. id
  redis.call('HDEL', p .. 'leased', id)
  if redis.call('HGET', key, 'status') ~= 'pending' then return end
  redis.call('HDEL', key, 'lease_expires_at', 'lease_owner')
  redis.call('ZADD', p .. 'due', tonumber(redis.call('HGET', key, 'next_attempt_at')), id)
end
`;

/** ARGV: prefix id api format idem payload callback createdAt startedAt owner batch. Returns {created, task}. */
const CREATE_TASK = `${PRELUDE}
local id, api, idem = ARGV[2], ARGV[3], ARGV[5]
if idem ~= '' then
  local existing = redis.call('HGET', p .. 'idem:' .. api, idem)
  if existing then return {0, read_task(existing)} end
end
local key = p .. 'task:' .. id
if redis.call('EXISTS', key) == 1 then return redis.error_reply('a task with id ' .. id .. ' exists already') end
local seq = redis.call('INCR', p .. 'seq')
local started = ARGV[9]
redis.call('HSET', key, 'id', id, 'api', api, 'format', ARGV[4], 'payload', ARGV[6], 'created_at', ARGV[8], 'seq', seq,
  'status', started == '' and 'in_queue' or 'in_progress')
if idem ~= '' then
  redis.call('HSET', key, 'idem', idem)
  redis.call('HSET', p .. 'idem:' .. api, idem, id)
end
if ARGV[7] ~= '' then redis.call('HSET', key, 'callback', ARGV[7]) end
if ARGV[11] == '1' then redis.call('HSET', key, 'batch', '1') end
redis.call('SADD', p .. 'apis', api)
redis.call('ZADD', p .. 'tasks', seq, id)
if started == '' then
  redis.call('ZADD', p .. 'queue:' .. api, seq, id)
else
  redis.call('HSET', key, 'started_at', started, 'owner', ARGV[10])
  redis.call('HSET', p .. 'running:' .. api, id, ARGV[10])
end
return {1, read_task(id)}
`;

/** ARGV: prefix id. */
const GET_TASK = `${PRELUDE}
return read_task(ARGV[2])
`;

/** ARGV: prefix id... Each task's status, false for an unknown id. */
const TASK_STATUSES = `${PRELUDE}
local statuses = {}
for index = 2, #ARGV do
  statuses[index - 1] = redis.call('HGET', p .. 'task:' .. ARGV[index], 'status')
end
return statuses
`;

/**
 * ARGV: prefix id now owner. Claims one task for a BullMQ job that holds its lock: a queued task, or a running one
 * whose process stopped (BullMQ found its job stalled). Returns {'run', taskHash}, or for a finished task
 * {'finished', deliveryStatus, round, nextAttemptAt} so the caller can make sure its report job exists, or
 * {'unknown'}.
 */
const CLAIM_TASK = `${PRELUDE}
local id = ARGV[2]
local key = p .. 'task:' .. id
local status = redis.call('HGET', key, 'status')
if not status then return {'unknown'} end
if status ~= 'in_queue' and status ~= 'in_progress' then
  local d = redis.call('HMGET', p .. 'delivery:' .. id, 'status', 'round', 'next_attempt_at')
  return {'finished', d[1] or '', d[2] or '0', d[3] or '0'}
end
local api = redis.call('HGET', key, 'api')
redis.call('ZREM', p .. 'queue:' .. api, id)
redis.call('HSET', key, 'status', 'in_progress', 'started_at', ARGV[3], 'owner', ARGV[4])
redis.call('HSET', p .. 'running:' .. api, id, ARGV[4])
return {'run', redis.call('HGETALL', key)}
`;

/** ARGV: prefix id. A running task goes back to the queue (its process is stopping); returns 1 if it did. */
const RELEASE_TASK = `${PRELUDE}
local api = redis.call('HGET', p .. 'task:' .. ARGV[2], 'api')
if not api then return 0 end
return requeue(api, ARGV[2])
`;

/**
 * ARGV: prefix before limit. Pending reports due before `before`, the longest overdue first: a flat list of
 * task id, api, round and next attempt time, four entries per report.
 */
const OVERDUE_REPORTS = `${PRELUDE}
local ids = redis.call('ZRANGEBYSCORE', p .. 'due', '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  local d = redis.call('HMGET', p .. 'delivery:' .. id, 'api', 'round', 'next_attempt_at', 'status')
  if d[4] == 'pending' then
    table.insert(out, id)
    table.insert(out, d[1] or '')
    table.insert(out, d[2] or '0')
    table.insert(out, d[3] or '0')
  end
end
return out
`;

/** ARGV: prefix id. The delivery's hash, or false. */
const GET_DELIVERY = `${PRELUDE}
local d = redis.call('HGETALL', p .. 'delivery:' .. ARGV[2])
if #d == 0 then return false end
return d
`;

/** ARGV: prefix api idem. */
const GET_TASK_BY_KEY = `${PRELUDE}
local id = redis.call('HGET', p .. 'idem:' .. ARGV[2], ARGV[3])
if not id then return false end
return read_task(id)
`;

/** ARGV: prefix api limit now owner. Returns the claimed tasks' hashes, oldest first. */
const CLAIM_QUEUED = `${PRELUDE}
local api, limit = ARGV[2], tonumber(ARGV[3])
if limit <= 0 then return {} end
local ids = redis.call('ZRANGE', p .. 'queue:' .. api, 0, limit - 1)
local claimed = {}
for _, id in ipairs(ids) do
  redis.call('ZREM', p .. 'queue:' .. api, id)
  redis.call('HSET', p .. 'task:' .. id, 'status', 'in_progress', 'started_at', ARGV[4], 'owner', ARGV[5])
  redis.call('HSET', p .. 'running:' .. api, id, ARGV[5])
  claimed[#claimed + 1] = redis.call('HGETALL', p .. 'task:' .. id)
end
return claimed
`;

/**
 * finish_task(id): records the outcome and report given in ARGV (prefix id status finishedAt outcome skipReason
 * hasDelivery url auth body webhookId headers ignoreTimeout nextAttemptAt leaseExpiresAt owner). Returns 1 when
 * recorded, 0 when unknown or already finished.
 */
const FINISH_FUNCTION = `
local function finish_task(id)
  local key = p .. 'task:' .. id
  local status = redis.call('HGET', key, 'status')
  if status ~= 'in_queue' and status ~= 'in_progress' then return 0 end
  local api = redis.call('HGET', key, 'api')
  redis.call('HSET', key, 'status', ARGV[3], 'finished_at', ARGV[4], 'outcome', ARGV[5])
  redis.call('HDEL', key, 'owner')
  -- The request's credentials leave the task once it finishes: its report (if any) keeps its own copy.
  local callback = redis.call('HGET', key, 'callback')
  if callback then
    local target = cjson.decode(callback)
    if target.auth ~= nil then
      target.auth = nil
      if next(target) == nil then redis.call('HDEL', key, 'callback') else redis.call('HSET', key, 'callback', cjson.encode(target)) end
    end
  end
  if ARGV[6] ~= '' then redis.call('HSET', key, 'skip_reason', ARGV[6]) end
  redis.call('ZREM', p .. 'queue:' .. api, id)
  redis.call('HDEL', p .. 'running:' .. api, id)
  redis.call('ZADD', p .. 'finished', tonumber(ARGV[4]), id)
  if ARGV[7] == '1' then
    local d = p .. 'delivery:' .. id
    redis.call('HSET', d, 'api', api, 'url', ARGV[8], 'body', ARGV[10], 'webhook_id', ARGV[11], 'status', 'pending',
      'attempts', 0, 'next_attempt_at', ARGV[14])
    if ARGV[9] ~= '' then redis.call('HSET', d, 'auth', ARGV[9]) end
    if ARGV[12] ~= '' then redis.call('HSET', d, 'headers', ARGV[12]) end
    if ARGV[13] ~= '' then redis.call('HSET', d, 'ignore_timeout', ARGV[13]) end
    local due = tonumber(ARGV[14])
    if ARGV[15] ~= '' then
      redis.call('HSET', d, 'lease_expires_at', ARGV[15], 'lease_owner', ARGV[16])
      redis.call('HSET', p .. 'leased', id, ARGV[16])
      due = tonumber(ARGV[15])
    end
    redis.call('ZADD', p .. 'due', due, id)
  end
  return 1
end
`;

/** ARGV: as finish_task's. Returns 1 when recorded, 0 when unknown or already finished. */
const FINISH_TASK = `${PRELUDE}${FINISH_FUNCTION}
return finish_task(ARGV[2])
`;

/** ARGV: as finish_task's (a cancelled outcome). Returns the task's status before, or false when unknown. */
const CANCEL_TASK = `${PRELUDE}${FINISH_FUNCTION}
local before = redis.call('HGET', p .. 'task:' .. ARGV[2], 'status')
if not before then return false end
finish_task(ARGV[2])
return before
`;

/** fresh_schedule(id, now): a finished report pending again, attempts 0, due now, the last answer forgotten. */
const FRESH_SCHEDULE = `
local function fresh_schedule(id, now)
  local d = p .. 'delivery:' .. id
  redis.call('HSET', d, 'status', 'pending', 'attempts', 0, 'next_attempt_at', now)
  redis.call('HINCRBY', d, 'round', 1)
  redis.call('HDEL', d, 'last_status_code', 'last_error', 'lease_expires_at', 'lease_owner')
  redis.call('HDEL', p .. 'leased', id)
  redis.call('ZADD', p .. 'due', tonumber(now), id)
end
`;

/** ARGV: prefix id now. Returns scheduled | pending | no-report | unfinished | unknown. */
const REDELIVER = `${PRELUDE}${FRESH_SCHEDULE}
local id = ARGV[2]
local status = redis.call('HGET', p .. 'task:' .. id, 'status')
if not status then return 'unknown' end
if status == 'in_queue' or status == 'in_progress' then return 'unfinished' end
local delivery = redis.call('HGET', p .. 'delivery:' .. id, 'status')
if not delivery then return 'no-report' end
if delivery == 'pending' then return 'pending' end
if redis.call('HGET', p .. 'delivery:' .. id, 'auth') == 'erased' then return 'credentials-erased' end
fresh_schedule(id, ARGV[3])
return 'scheduled'
`;

/**
 * ARGV: prefix api finishedSince now limit. Redelivers up to limit failed reports of the API's tasks finished
 * since, oldest first; returns their ids. Walks the finished tasks since the cutoff (bounded by the retention).
 */
const REDELIVER_FAILED = `${PRELUDE}${FRESH_SCHEDULE}
local api, limit = ARGV[2], tonumber(ARGV[5])
local ids = redis.call('ZRANGEBYSCORE', p .. 'finished', ARGV[3], '+inf')
local taken = {}
for _, id in ipairs(ids) do
  if #taken >= limit then break end
  local d = redis.call('HMGET', p .. 'delivery:' .. id, 'api', 'status', 'auth')
  if d[1] == api and d[2] == 'failed' and d[3] ~= 'erased' then
    fresh_schedule(id, ARGV[4])
    taken[#taken + 1] = id
  end
end
return taken
`;

/** ARGV: prefix api. */
const COUNT_UNFINISHED = `${PRELUDE}
return redis.call('ZCARD', p .. 'queue:' .. ARGV[2]) + redis.call('HLEN', p .. 'running:' .. ARGV[2])
`;

/**
 * ARGV: prefix self includeSelf. Requeues the tasks and releases the leases of owners that stopped (their
 * heartbeat key expired) and, with includeSelf = 1 (at start-up), this owner's own. Returns {requeued, queued,
 * pendingDeliveries, releasedLeases}.
 */
const RECOVER = `${PRELUDE}
local self, include_self = ARGV[2], ARGV[3] == '1'
local function abandoned(owner)
  if owner == self then return include_self end
  return redis.call('EXISTS', p .. 'owner:' .. owner) == 0
end
local requeued, queued = 0, 0
for _, api in ipairs(redis.call('SMEMBERS', p .. 'apis')) do
  local running = redis.call('HGETALL', p .. 'running:' .. api)
  for i = 1, #running, 2 do
    if abandoned(running[i + 1]) then requeued = requeued + requeue(api, running[i]) end
  end
  queued = queued + redis.call('ZCARD', p .. 'queue:' .. api)
end
local released = 0
local leased = redis.call('HGETALL', p .. 'leased')
for i = 1, #leased, 2 do
  if abandoned(leased[i + 1]) then
    release_lease(leased[i])
    released = released + 1
  end
end
return {requeued, queued, redis.call('ZCARD', p .. 'due'), released}
`;

/** ARGV: prefix now limit leaseExpiresAt owner. Returns the leased deliveries' hashes with their task ids. */
const LEASE_DUE = `${PRELUDE}
local limit = tonumber(ARGV[3])
if limit <= 0 then return {} end
local ids = redis.call('ZRANGEBYSCORE', p .. 'due', '-inf', ARGV[2], 'LIMIT', 0, limit)
local leased = {}
for _, id in ipairs(ids) do
  local d = p .. 'delivery:' .. id
  redis.call('HSET', d, 'lease_expires_at', ARGV[4], 'lease_owner', ARGV[5])
  redis.call('HSET', p .. 'leased', id, ARGV[5])
  redis.call('ZADD', p .. 'due', tonumber(ARGV[4]), id)
  leased[#leased + 1] = {id, redis.call('HGETALL', d)}
end
return leased
`;

/** ARGV: prefix taskId status attempts nextAttemptAt lastStatusCode lastError attemptJson ('' = none). */
const RECORD_ATTEMPT = `${PRELUDE}
local id = ARGV[2]
local d = p .. 'delivery:' .. id
if redis.call('EXISTS', d) == 0 then return 0 end
if ARGV[8] ~= nil and ARGV[8] ~= '' then
  local timeline = p .. 'attempts:' .. id
  -- A retry of this very write (Redis applied it and went away before answering) records the attempt once.
  if redis.call('LINDEX', timeline, -1) ~= ARGV[8] then redis.call('RPUSH', timeline, ARGV[8]) end
end
redis.call('HSET', d, 'status', ARGV[3], 'attempts', ARGV[4])
if ARGV[5] ~= '' then redis.call('HSET', d, 'next_attempt_at', ARGV[5]) end
if ARGV[6] ~= '' then redis.call('HSET', d, 'last_status_code', ARGV[6]) else redis.call('HDEL', d, 'last_status_code') end
if ARGV[7] ~= '' then redis.call('HSET', d, 'last_error', ARGV[7]) else redis.call('HDEL', d, 'last_error') end
redis.call('HDEL', d, 'lease_expires_at', 'lease_owner')
redis.call('HDEL', p .. 'leased', id)
if ARGV[3] == 'pending' then
  redis.call('ZADD', p .. 'due', tonumber(redis.call('HGET', d, 'next_attempt_at')), id)
else
  redis.call('ZREM', p .. 'due', id)
  -- Settled: per-request credentials are not kept; the mark makes a redelivery refuse rather than send without them.
  if redis.call('HEXISTS', d, 'auth') == 1 then redis.call('HSET', d, 'auth', 'erased') end
end
return 1
`;

/** ARGV: prefix. The earliest due time, or false. */
const NEXT_DUE = `${PRELUDE}
local first = redis.call('ZRANGE', p .. 'due', 0, 0, 'WITHSCORES')
if #first == 0 then return false end
return first[2]
`;

/**
 * ARGV: prefix cutoff offset limit. Deletes up to `limit` tasks finished before `cutoff` (exclusive), skipping
 * those whose report is still pending; `offset` skips the ones earlier chunks kept. Returns {deleted, kept}.
 */
const SWEEP = `${PRELUDE}
local ids = redis.call('ZRANGEBYSCORE', p .. 'finished', '-inf', '(' .. ARGV[2], 'LIMIT', tonumber(ARGV[3]), tonumber(ARGV[4]))
local deleted, kept = 0, 0
for _, id in ipairs(ids) do
  if redis.call('HGET', p .. 'delivery:' .. id, 'status') == 'pending' then
    kept = kept + 1
  else
    local key = p .. 'task:' .. id
    local api, idem = unpack(redis.call('HMGET', key, 'api', 'idem'))
    if idem then redis.call('HDEL', p .. 'idem:' .. api, idem) end
    redis.call('DEL', key, p .. 'delivery:' .. id, p .. 'attempts:' .. id)
    redis.call('ZREM', p .. 'finished', id)
    redis.call('ZREM', p .. 'tasks', id)
    deleted = deleted + 1
  end
end
return {deleted, kept}
`;

/** ARGV: prefix taskId. The attempt records' JSON, oldest first. */
const LIST_ATTEMPTS = `${PRELUDE}
return redis.call('LRANGE', p .. 'attempts:' .. ARGV[2], 0, -1)
`;

/**
 * ARGV: prefix api status webhookStatus idPrefix beforeId limit maxScan ('' = no filter). Walks the task index
 * newest first, reading at most maxScan tasks, and returns up to limit rows
 * {id, api, status, created_at, finished_at, webhook_status, webhook_attempts} ('' where none).
 */
const LIST_TASKS = `${PRELUDE}
local api, status, wstatus, idp, before = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local limit, maxscan = tonumber(ARGV[7]), tonumber(ARGV[8])
local max = '+inf'
if before ~= '' then
  local score = redis.call('ZSCORE', p .. 'tasks', before)
  if not score then return {} end
  max = '(' .. score
end
local out, offset, scanned = {}, 0, 0
while #out < limit and scanned < maxscan do
  local ids = redis.call('ZREVRANGEBYSCORE', p .. 'tasks', max, '-inf', 'LIMIT', offset, 200)
  if #ids == 0 then break end
  for _, id in ipairs(ids) do
    scanned = scanned + 1
    if idp == '' or string.sub(id, 1, #idp) == idp then
      local t = redis.call('HMGET', p .. 'task:' .. id, 'api', 'status', 'created_at', 'finished_at', 'skip_reason')
      if t[1] and (api == '' or t[1] == api) and (status == '' or t[2] == status) then
        local d = redis.call('HMGET', p .. 'delivery:' .. id, 'status', 'attempts')
        local ws, wa = d[1], d[2]
        if not ws and t[5] then ws, wa = 'skipped', '0' end
        if wstatus == '' or ws == wstatus then
          out[#out + 1] = {id, t[1], t[2], t[3], t[4] or '', ws or '', wa or ''}
          if #out >= limit then break end
        end
      end
    end
  end
  offset = offset + #ids
end
return out
`;

/**
 * ARGV: prefix api maxScan. The API's queued and running tasks, and of the newest maxScan finished tasks (of every
 * API) its completed, failed and cancelled ones and their reports: {in_queue, in_progress, completed, failed,
 * cancelled, pending, delivered, reports_failed, capped}.
 */
const COUNTS = `${PRELUDE}
local api, maxscan = ARGV[2], tonumber(ARGV[3])
local c = {completed = 0, failed = 0, cancelled = 0}
local r = {pending = 0, delivered = 0, failed = 0}
local ids = redis.call('ZREVRANGE', p .. 'finished', 0, maxscan - 1)
for _, id in ipairs(ids) do
  local t = redis.call('HMGET', p .. 'task:' .. id, 'api', 'status')
  if t[1] == api then
    if c[t[2]] then c[t[2]] = c[t[2]] + 1 end
    local ds = redis.call('HGET', p .. 'delivery:' .. id, 'status')
    if ds and r[ds] then r[ds] = r[ds] + 1 end
  end
end
return {redis.call('ZCARD', p .. 'queue:' .. api), redis.call('HLEN', p .. 'running:' .. api), c.completed, c.failed, c.cancelled,
  r.pending, r.delivered, r.failed, #ids == maxscan and 1 or 0}
`;

/**
 * ARGV: prefix api since maxRows. The API's tasks finished at or after since (newest maxRows of every API's), each
 * {finished_at, created_at, delivered_at ('' if not delivered)}.
 */
const ACTIVITY = `${PRELUDE}
local api = ARGV[2]
local ids = redis.call('ZREVRANGEBYSCORE', p .. 'finished', '+inf', ARGV[3], 'LIMIT', 0, tonumber(ARGV[4]))
local out = {}
for _, id in ipairs(ids) do
  local t = redis.call('HMGET', p .. 'task:' .. id, 'api', 'finished_at', 'created_at')
  if t[1] == api then
    local delivered = ''
    if redis.call('HGET', p .. 'delivery:' .. id, 'status') == 'delivered' then
      local last = redis.call('LINDEX', p .. 'attempts:' .. id, -1)
      if last then
        local attempt = cjson.decode(last)
        if attempt.outcome == 'delivered' then delivered = tostring(attempt.startedAt + attempt.durationMs) end
      end
    end
    out[#out + 1] = {t[2], t[3], delivered}
  end
end
return out
`;

/** Every script, by the name ioredis defines it as a command under. */
export const REDIS_SCRIPTS = {
  prCreateTask: CREATE_TASK,
  prGetTask: GET_TASK,
  prGetTaskByKey: GET_TASK_BY_KEY,
  prClaimQueued: CLAIM_QUEUED,
  prClaimTask: CLAIM_TASK,
  prTaskStatuses: TASK_STATUSES,
  prGetDelivery: GET_DELIVERY,
  prOverdueReports: OVERDUE_REPORTS,
  prReleaseTask: RELEASE_TASK,
  prFinishTask: FINISH_TASK,
  prCancelTask: CANCEL_TASK,
  prRedeliver: REDELIVER,
  prRedeliverFailed: REDELIVER_FAILED,
  prCountUnfinished: COUNT_UNFINISHED,
  prRecover: RECOVER,
  prLeaseDue: LEASE_DUE,
  prRecordAttempt: RECORD_ATTEMPT,
  prNextDue: NEXT_DUE,
  prSweep: SWEEP,
  prListAttempts: LIST_ATTEMPTS,
  prListTasks: LIST_TASKS,
  prCounts: COUNTS,
  prActivity: ACTIVITY,
} as const;

export type RedisScriptName = keyof typeof REDIS_SCRIPTS;
